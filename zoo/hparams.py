"""Checks for hyperparameter values, keyed by name, so every model validates the same name the same way.

`zoo.register` refuses a builder with a hyperparameter that has no check here, and `zoo.get` runs the
check of every hyperparameter it passes on, so `latent_dim=0` or `beta=-1` fail before any layer is built.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

MAX_SIZE = 2**31 - 1  # a larger size overflows the shape of the weights it makes


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if value > MAX_SIZE:
        raise ValueError(f"{name}={value} is too large: at most {MAX_SIZE}, and far less fits in memory.")
    return int(value)


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number; got {value!r}.")
    return float(value)


def _non_negative_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a number >= 0; got {value!r}.")
    return float(value)


def _positive_ints(name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or len(list(value)) == 0:
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers, e.g. (512, 256); got {value!r}."
        )
    return tuple(_positive_int(f"{name}[{i}]", v) for i, v in enumerate(value))


def _image_shape(name: str, value: Any) -> tuple[int, int, int]:
    shape = _positive_ints(name, value)
    if len(shape) != 3:
        raise ValueError(f"{name} must be (height, width, channels), e.g. (28, 28, 1); got {value!r}.")
    return shape


def _num_classes(name: str, value: Any) -> int:
    if _positive_int(name, value) < 2:
        raise ValueError(f"{name} must be at least 2; got {value!r}.")
    return int(value)


def _fraction(name: str, value: Any) -> float:
    if _non_negative_float(name, value) >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}.")
    return float(value)


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return value


def _optional_positive_float(name: str, value: Any) -> float | None:
    return None if value is None else _positive_float(name, value)


def _one_of(*choices: str) -> Callable[[str, Any], str]:
    def check_choice(name: str, value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}; got {value!r}.")
        return value

    return check_choice


CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "input_shape": _image_shape,
    "network": _one_of("dense", "conv"),
    "conditional": _boolean,
    "num_classes": _num_classes,
    "latent_dim": _positive_int,
    "hidden_units": _positive_ints,
    "filters": _positive_ints,
    "dropout": _fraction,
    "corruption": _one_of("none", "salt_and_pepper", "mask", "gaussian"),
    "corruption_rate": _non_negative_float,
    "posterior": _one_of("full", "diag"),
    "prior": _one_of("normal", "mixture"),
    "prior_components": _positive_int,
    "components": _positive_int,
    "beta": _non_negative_float,
    "kl_estimator": _one_of("auto", "exact", "mc"),
    "kl_test_points": _positive_int,
    "free_bits": _non_negative_float,
    "likelihood": _one_of("bernoulli", "gaussian"),
    "objective": _one_of("elbo", "iwae"),
    "importance_samples": _positive_int,
    "likelihood_scale": _optional_positive_float,
    "learning_rate": _positive_float,
    "jit_compile": _boolean,
    "steps_per_execution": _positive_int,
}


def check(hparams: dict[str, Any]) -> dict[str, Any]:
    """Validated, normalized copy of `hparams` (tuples for sequences, plain ints/floats)."""
    return {name: CHECKS[name](name, value) for name, value in hparams.items()}


def check_conv_shape(input_shape: tuple[int, int, int], filters: tuple[int, ...]) -> None:
    """A conv encoder/decoder halves height and width once per filter: both must divide by 2^len(filters)."""
    scale = 2 ** len(filters)
    if input_shape[0] % scale or input_shape[1] % scale:
        raise ValueError(
            f"input_shape {input_shape} does not fit filters={filters}: height and width must be divisible by "
            f"2**len(filters) = {scale}. Pad the images or use fewer filters."
        )
