"""The one home of argument checks: each rule, and the message that names it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoo import checks


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: checks.integer("n", 0), "n must be a positive integer; got 0"),
        (lambda: checks.integer("n", True), "n must be a positive integer; got True"),
        (lambda: checks.integer("steps", 1, 2), "steps must be an integer >= 2; got 1"),
        (lambda: checks.integer("n", 2**31), "too large"),
        (lambda: checks.number("beta", -1), "beta must be a number >= 0; got -1"),
        (lambda: checks.number("beta", math.nan), "beta must be a number >= 0; got nan"),
        (lambda: checks.number("lr", 0, open_low=True), "lr must be a positive number; got 0"),
        (lambda: checks.number("dropout", 1.0, high=1.0), r"dropout must be in \[0, 1\); got 1.0"),
        (lambda: checks.number("rate", 2, high=1.0, open_high=False), r"rate must be in \[0, 1\]; got 2"),
        (lambda: checks.integers("units", ()), "non-empty sequence"),
        (lambda: checks.integers("units", (8, -1)), r"units\[1\] must be a positive integer"),
        (lambda: checks.boolean("jit", 1), "jit must be True or False"),
        (lambda: checks.one_of("mode", "avg", ("mean", "mode")), r"mode must be one of \('mean', 'mode'\)"),
    ],
)
def test_a_bad_value_is_named_with_its_rule(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_good_values_come_back_plain():
    assert checks.integer("n", np.int64(3)) == 3 and type(checks.integer("n", np.int64(3))) is int
    assert checks.number("beta", 1) == 1.0 and checks.integers("units", [4, 2]) == (4, 2)
    assert checks.one_of("prior", "normal", {"normal": 1}) == "normal"
