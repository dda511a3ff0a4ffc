"""The checks every public function runs on plain arguments: one home, so one mistake reads the same
everywhere (`zoo.get("dense_vae", latent_dim=0)`, `zoo.sample(model, n=0)`, `--epochs 0`).

Each returns the value normalized (a plain `int`/`float`/`tuple`) or raises a `ValueError` that names the
argument, the rule and what was given.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

MAX_SIZE = 2**31 - 1  # a larger size overflows the shape of the weights it makes


def integer(name: str, value: Any, minimum: int = 1) -> int:
    """`value` as an int >= minimum (bools refused: `True` is no count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {rule}; got {value!r}.")
    if value > MAX_SIZE:
        raise ValueError(f"{name}={value} is too large: at most {MAX_SIZE}, and far less fits in memory.")
    return int(value)


def number(
    name: str, value: Any, low: float = 0.0, high: float = math.inf, *, open_low: bool = False, open_high: bool = True
) -> float:
    """`value` as a float in the interval from `low` to `high` (closed at `low` unless `open_low`, open at
    `high` unless not `open_high`); NaN and infinities are refused."""
    valid = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if valid:
        valid = (low < value if open_low else low <= value) and (value < high if open_high else value <= high)
    if not valid:
        if high == math.inf:
            rule = "a positive number" if open_low and low == 0 else f"a number {'>' if open_low else '>='} {low:g}"
        else:
            rule = f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise ValueError(f"{name} must be {rule}; got {value!r}.")
    return float(value)


def integers(name: str, value: Any) -> tuple[int, ...]:
    """A non-empty sequence of positive ints as a tuple."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable) or len(list(value)) == 0:
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers, e.g. (512, 256); got {value!r}."
        )
    return tuple(integer(f"{name}[{i}]", v) for i, v in enumerate(value))


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return value


def one_of(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """`value` if it is one of `choices` (a tuple, or a dict's keys)."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}.")
    return value
