"""Feeding in-memory arrays to `fit`, `evaluate` and `predict` without tf.data's end-of-call stall.

Keras turns NumPy inputs into a `tf.data` pipeline with autotuning on. When a call ends, the pipeline's
iterator is destroyed, and its destructor waits for the autotuning thread to wake up: in about half the
`fit`, `evaluate` and `predict` calls, 0.5-0.75 s after a 1.4 s `dense_vae` epoch and 2.3-3.7 s after a 7 s
`conv_vae` epoch (benchmarks/README.md). Arrays already in memory leave autotuning nothing to tune, so
`ZooModel` feeds them through the pipeline Keras would build (batches gathered by index, reshuffled every
epoch, floats cast to `floatx`) with autotuning off. Keras traces a fresh model's first call ~0.5 s faster
from arrays than from any dataset, and a short call's stall is short, so calls shorter
than `MIN_BATCHES` batches keep Keras' own path. Inputs Keras treats specially (sample or class weights,
`steps_per_epoch`, `shuffle="batch"`, or anything that is not an array) are passed to Keras unchanged.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from zoo._tf import keras, tf

KERAS_DEFAULT_BATCH_SIZE = 32
"""The batch size Keras' `fit`, `evaluate` and `predict` use when given arrays and no `batch_size`."""
MIN_BATCHES = 100
"""Calls with fewer batches (over all their epochs) than this go through Keras' own array path."""


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.autotune.enabled = False  # the cause of the stall; nothing to tune for arrays in memory
    # As Keras does for arrays: skip the static rewrites, which serialize the pipeline graph holding the array.
    options.experimental_optimization.apply_default_optimizations = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA  # as Keras
    return options


def _size(x: Any) -> int:
    """Examples in an array, or in the first of a list/tuple of arrays."""
    return len(x[0]) if isinstance(x, (list, tuple)) else len(x)


def _batches(x: Any, batch_size: int | None, epochs: int = 1) -> int:
    return epochs * math.ceil(_size(x) / (batch_size or KERAS_DEFAULT_BATCH_SIZE))


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, tf.Tensor))


def is_arrays(value: Any) -> bool:
    """True for an array [N, ...] or a list/tuple of them (a conditional model's [images, labels])."""
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_is_array(part) for part in value)
    return _is_array(value)


def _as_tensors(value: Any) -> Any:
    """Arrays to tensors, floats cast to Keras' floatx as Keras does; lists become tuples (tf.data would
    stack a list into one tensor)."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_tensors(part) for part in value)
    tensor = tf.convert_to_tensor(value)
    return tf.cast(tensor, keras.backend.floatx()) if tensor.dtype.is_floating else tensor


def array_dataset(
    x: Any, y: Any = None, batch_size: int | None = None, shuffle: bool = False, seed: int | None = None
) -> tf.data.Dataset:
    """Batches of `(x, y)` (or `(x,)` when y is None, for `predict`) from in-memory arrays, autotuning off.

    x: an array [N, ...] or a list/tuple of arrays with the same N; y: an array [N, ...] or None.
    batch_size: examples per batch, the last one short (Keras' default: 32). shuffle: a new order every
    epoch, the sequence of orders fixed by `seed` (None: by `keras.utils.set_random_seed`).
    """
    data = (_as_tensors(x),) if y is None else (_as_tensors(x), _as_tensors(y))
    sizes = [int(array.shape[0]) for array in tf.nest.flatten(data)]
    if len(set(sizes)) > 1:
        raise ValueError(
            f"The inputs and targets must have the same number of samples (first dimension); got {sizes}."
        )
    size = sizes[0]
    indices = tf.data.Dataset.range(size)
    if shuffle:
        indices = indices.shuffle(size, seed=seed, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size or KERAS_DEFAULT_BATCH_SIZE)
    whole = tf.data.Dataset.from_tensors(data).repeat()  # not a graph constant: no 2 GB limit

    def gather(batch_indices, arrays):
        return tf.nest.map_structure(lambda array: tf.gather(array, batch_indices), arrays)

    batches = tf.data.Dataset.zip((indices, whole)).map(gather)
    return batches.prefetch(2).with_options(_options())


def bind(method, args: tuple, kwargs: dict) -> dict[str, Any]:
    """A Keras method's arguments by name, defaults filled in (so positional calls work too)."""
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.update(arguments.pop("kwargs", {}))
    return arguments


def training_examples(arguments: dict[str, Any]) -> int:
    """The examples a `fit` of arrays trains on (`arguments` by name, as `bind` gives them): all of x, or the
    first floor(N * (1 - validation_split)) where Keras' `validation_split` applies (no `validation_data`)."""
    size, fraction = _size(arguments["x"]), arguments["validation_split"]
    if not fraction or arguments["validation_data"] is not None:
        return size
    return int(math.floor(size * (1.0 - fraction)))


def _validation_split(arguments: dict[str, Any]) -> None:
    """Keras' `validation_split`: the last fraction of the arrays, taken before any shuffling."""
    fraction = arguments["validation_split"]
    if not fraction or arguments["validation_data"] is not None:
        return
    x, y = arguments["x"], arguments["y"]
    size, split_at = _size(x), training_examples(arguments)
    if split_at == 0:
        raise ValueError(
            f"validation_split={fraction} leaves no training data out of {size} examples; pass more examples "
            "or a smaller fraction."
        )

    def part(value, sl):
        return type(value)(item[sl] for item in value) if isinstance(value, (list, tuple)) else value[sl]

    arguments["x"], arguments["y"] = part(x, slice(None, split_at)), part(y, slice(None, split_at))
    arguments["validation_data"] = (part(x, slice(split_at, None)), part(y, slice(split_at, None)))
    arguments["validation_split"] = 0.0


def fit_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """`fit`'s arguments with array training and validation data replaced by `array_dataset`s."""
    plain = (
        is_arrays(arguments["x"])
        and is_arrays(arguments["y"])
        and arguments["sample_weight"] is None
        and arguments["class_weight"] is None
        and arguments["steps_per_epoch"] is None
        and isinstance(arguments["shuffle"], bool)
    )
    epochs = arguments["epochs"] - arguments["initial_epoch"]
    if not plain or _batches(arguments["x"], arguments["batch_size"], epochs) < MIN_BATCHES:
        return arguments
    arguments = dict(arguments)
    _validation_split(arguments)
    batch_size = arguments["batch_size"]
    arguments["x"] = array_dataset(arguments["x"], arguments["y"], batch_size, arguments["shuffle"])
    validation = arguments["validation_data"]
    if isinstance(validation, (list, tuple)) and len(validation) == 2 and all(map(is_arrays, validation)):
        arguments["validation_data"] = array_dataset(
            *validation, arguments["validation_batch_size"] or batch_size
        )
        arguments["validation_batch_size"] = None
    arguments.update(y=None, batch_size=None)
    return arguments


def evaluate_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """`evaluate`'s arguments with array data replaced by an `array_dataset`."""
    plain = is_arrays(arguments["x"]) and is_arrays(arguments["y"]) and arguments["sample_weight"] is None
    if (
        not plain
        or arguments["steps"] is not None
        or _batches(arguments["x"], arguments["batch_size"]) < MIN_BATCHES
    ):
        return arguments
    x = array_dataset(arguments["x"], arguments["y"], arguments["batch_size"])
    return {**arguments, "x": x, "y": None, "batch_size": None}


def predict_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """`predict`'s arguments with array inputs replaced by an `array_dataset`."""
    plain = is_arrays(arguments["x"]) and arguments["steps"] is None
    if not plain or _batches(arguments["x"], arguments["batch_size"]) < MIN_BATCHES:
        return arguments
    return {
        **arguments,
        "x": array_dataset(arguments["x"], None, arguments["batch_size"]),
        "batch_size": None,
    }
