"""How many training steps one call of Keras' train function runs: `steps_per_execution="auto"`.

Keras' `fit` loop does some Python work around every call of its train function (callbacks, logs, the
iterator): 3-6 % of a step for the zoo's default networks, which left the default `fit` at 0.94-0.98 of a
hand-written `tf.function` loop (benchmarks/README.md). Running K steps per call removes it, but tracing the
K-step loop costs a fresh model's first call time, and batch-level callbacks then run once per K steps.

So the zoo's default, "auto", chooses per `fit` call: `AUTO_STEPS` steps per execution when the call trains
at least `AUTO_MIN_BATCHES` batches (and `AUTO_STEPS` per epoch) and no callback of the caller's acts on
single batches; one step otherwise (short calls, as in notebooks and tests, never pay for the K-step trace). An integer K compiled
into the model is used as Keras uses it, for every call.
"""

from __future__ import annotations

import math
from typing import Any

from zoo import feeding
from zoo._tf import keras, tf

AUTO = "auto"
AUTO_STEPS = 8
"""Steps per execution in a long call: the per-step loop cost is gone by 8 (benchmarks/README.md)."""
AUTO_MIN_BATCHES = 100
"""Calls training fewer batches (over all their epochs) run one step per execution."""


def epoch_batches(arguments: dict[str, Any]) -> int | None:
    """The batches of one epoch of a `fit` call (`arguments`: its arguments by name, as `feeding.bind` gives
    them), None when unknown (a generator, a dataset of unknown or infinite length without
    `steps_per_epoch`)."""
    if arguments["steps_per_epoch"] is not None:
        return int(arguments["steps_per_epoch"])
    x = arguments["x"]
    if isinstance(x, tf.data.Dataset):
        length = int(x.cardinality())
        return length if length >= 0 else None
    first = x[0] if isinstance(x, (list, tuple)) and x else x
    if not hasattr(first, "shape") or not first.shape or first.shape[0] is None:
        return None
    return math.ceil(
        feeding.training_examples(arguments) / (arguments["batch_size"] or feeding.KERAS_DEFAULT_BATCH_SIZE)
    )


def acts_on_batches(callbacks: Any) -> bool:
    """True if any of the caller's `callbacks` has a training batch hook (`on_train_batch_begin/end`) that
    must see every batch: a callback whose hooks are as right once per execution says so with a true class
    attribute `batch_hooks_per_execution` (`zoo.callbacks.Checkpoint`)."""
    if isinstance(callbacks, keras.callbacks.CallbackList):
        callbacks = callbacks.callbacks
    return any(
        callback._implements_train_batch_hooks() and not getattr(callback, "batch_hooks_per_execution", False)
        for callback in callbacks or ()
    )


def steps_for_call(arguments: dict[str, Any]) -> int:
    """`AUTO_STEPS` for a `fit` call of at least `AUTO_MIN_BATCHES` batches over its epochs, and at least
    `AUTO_STEPS` per epoch (Keras cuts an execution at the epoch's end), whose callbacks all act per epoch;
    else 1."""
    per_epoch = epoch_batches(arguments)
    if per_epoch is None or per_epoch < AUTO_STEPS:
        return 1
    long_call = per_epoch * (arguments["epochs"] - arguments["initial_epoch"]) >= AUTO_MIN_BATCHES
    return AUTO_STEPS if long_call and not acts_on_batches(arguments["callbacks"]) else 1
