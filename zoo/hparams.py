"""Checks for hyperparameter values, keyed by name, so every model validates the same name the same way.

`zoo.register` refuses a builder with a hyperparameter that has no check here, and `zoo.get` runs the
check of every hyperparameter it passes on, so `latent_dim=0` or `beta=-1` fail before any layer is built.
Choice lists are read from the layers that implement them, so a new choice is added in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from zoo import checks, execution
from zoo.layers import LIKELIHOODS, POSTERIORS, corruption, kl, priors


def _choice(*choices: str) -> Callable[[str, Any], str]:
    return lambda name, value: checks.one_of(name, value, choices)


def _positive_float(name: str, value: Any) -> float:
    return checks.number(name, value, open_low=True)


def _input_shape(name: str, value: Any) -> tuple[int, ...]:
    """(D,) for vectors [N, D] (a table's rows), or (height, width, channels) for images [N, H, W, C]. Only
    the dense models take vectors: the conv ones refuse them when they build (`blocks.conv_encoder`)."""
    shape = checks.integers(name, value)
    if len(shape) == 2:
        raise ValueError(
            f"{name} {shape} has no channel axis: use (height, width, channels), e.g. {(*shape, 1)} for grey "
            f"images, or ({shape[0] * shape[1]},) for flat vectors."
        )
    if len(shape) not in (1, 3):
        raise ValueError(
            f"{name} must be (features,) for vectors, e.g. (12,), or (height, width, channels) for images, "
            f"e.g. (28, 28, 1); got {value!r}."
        )
    return shape


def _optional_positive_float(name: str, value: Any) -> float | None:
    return None if value is None else _positive_float(name, value)


def _steps_per_execution(name: str, value: Any) -> int | str:
    """ "auto" (the zoo's per-call choice, `zoo.execution`) or a positive int K (K steps in every call)."""
    if value == execution.AUTO:
        return value
    try:
        return checks.integer(name, value)
    except ValueError:
        raise ValueError(
            f'{name} must be "{execution.AUTO}" ({execution.AUTO_STEPS} steps per execution in long fit calls, 1 '
            f"in short ones) or a positive integer; got {value!r}."
        ) from None


def _optional_integer(name: str, value: Any) -> int | None:
    return None if value is None else checks.integer(name, value)


ADDED = {"residual_blocks": 0}
"""Hyperparameters added after model files were first saved, each with the value that builds the network an
older file holds (its recorded hparams lack the name): `conv_vae` files saved before 2026-12-04 have none."""


def run_identity(hparams: dict[str, Any]) -> dict[str, Any]:
    """`hparams` as they identify a training run (a CLI run folder's name, a checkpoint's resume check):
    the default steps_per_execution "auto" as the 1 that runs recorded before it became the default
    (2026-12-04), so those runs are found and resumed. It changes how fast a model trains, not what."""
    if hparams.get("steps_per_execution") == execution.AUTO:
        return {**hparams, "steps_per_execution": 1}
    return hparams


CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "input_shape": _input_shape,
    "num_classes": functools.partial(checks.integer, minimum=2),
    "latent_dim": checks.integer,
    "hidden_units": checks.integers,
    "top_latent_dim": _optional_integer,
    "top_hidden_units": checks.integers,
    "filters": checks.integers,
    "dropout": functools.partial(checks.number, high=1.0),
    "corruption": _choice("none", *corruption.KINDS),
    "corruption_rate": checks.number,
    "posterior": _choice(*POSTERIORS),
    "prior": _choice(*priors.PRIORS),
    "prior_components": checks.integer,
    "components": checks.integer,
    "beta": checks.number,
    "kl_estimator": _choice(*kl.ESTIMATORS),
    "kl_test_points": checks.integer,
    "free_bits": checks.number,
    "delta": checks.number,
    "likelihood": _choice(*LIKELIHOODS),
    "likelihood_scale": _optional_positive_float,
    "importance_samples": checks.integer,
    "flow_steps": checks.integer,
    "flow_hidden_units": checks.integers,
    "flow_context_size": functools.partial(checks.integer, minimum=0),
    "pseudo_inputs": checks.integer,
    "code_dim": checks.integer,
    "codebook_size": functools.partial(checks.integer, minimum=2),
    "commitment": checks.number,
    "prior_filters": checks.integer,
    "prior_layers": checks.integer,
    "label_every_layer": checks.boolean,
    "residual_blocks": functools.partial(checks.integer, minimum=0),
    "learning_rate": _positive_float,
    "jit_compile": checks.boolean,
    "steps_per_execution": _steps_per_execution,
}


def check(hparams: dict[str, Any]) -> dict[str, Any]:
    """Validated, normalized copy of `hparams` (tuples for sequences, plain ints/floats)."""
    return {name: CHECKS[name](name, value) for name, value in hparams.items()}
