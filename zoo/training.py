"""Training runs that survive faults: resume after a crash, stop cleanly on a NaN loss, repeat with a seed.

`train(directory, build, x, y, epochs=...)` fits a model with a `zoo.callbacks.Checkpoint` in `directory`
(every epoch: the whole model with its optimizer state, and the history, each written atomically). If the
folder already holds a checkpoint of the same model, `train` resumes it: weights, optimizer state, epoch
counter and history come back, so rerunning the same call after a crash, a SIGKILL or a reboot loses at
most the epoch that was running. A NaN/inf loss stops training and raises
`TrainingDiverged`; the last good checkpoint stays on disk.

>>> run = train("runs/mine", lambda: zoo.get("dense_vae"), x, x, epochs=10, seed=0)
>>> run.model, run.history["loss"], run.initial_epoch      # initial_epoch > 0 if it resumed

`python -m zoo train` is this function with a run folder named after the command.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo import checks, keras3, registry
from zoo import hparams as hp
from zoo._tf import keras, tf
from zoo.callbacks import CHECKPOINT_FILE, Checkpoint
from zoo.files import writable_folder
from zoo.model import ZooModel

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one process per run folder is then up to the user
    fcntl = None

LOCK_FILE = ".lock"


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf. `epoch` (1-based) is where it happened, `checkpoint_epoch` the last good
    epoch kept in `directory` (0: none completed)."""

    def __init__(self, directory: Path, epoch: int, checkpoint_epoch: int):
        self.directory, self.epoch, self.checkpoint_epoch = directory, epoch, checkpoint_epoch
        kept = (
            f"the checkpoint after epoch {checkpoint_epoch} is kept in {os.fspath(directory)!r}; rerun to "
            "retry from it, or lower the learning rate (a new run)"
            if checkpoint_epoch
            else "no epoch had completed, so nothing was saved; lower the learning rate or check the data "
            "scale (very large values overflow float32)"
        )
        super().__init__(f"The loss became NaN/inf in epoch {epoch}; training stopped and {kept}.")


@dataclass
class Run:
    """What `train` returns.

    model: the trained model. history: {"loss": [...], ...} over all epochs, those before a resume
    included. initial_epoch: epochs already done when this call started (0 for a new run). directory: the
    run folder with the checkpoint.
    """

    model: ZooModel
    history: dict[str, list[float]]
    initial_epoch: int
    directory: Path


def train(
    directory: str | os.PathLike,
    build: Callable[[], ZooModel],
    x: Any,
    y: Any = None,
    *,
    epochs: int,
    batch_size: int = 64,
    validation_split: float = 0.0,
    validation_data: Any = None,
    seed: int | None = None,
    verbose: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    metadata: dict[str, Any] | None = None,
    strategy: tf.distribute.Strategy | None = None,
    restart: bool = False,
) -> Run:
    """Fit a model for `epochs` epochs with a checkpoint in `directory`, resuming the checkpoint there if any.

    Args:
        directory: the run folder (created if missing). Only one process may train in it at a time.
        build: makes a new compiled model (e.g. `lambda: zoo.get("dense_vae")`). On resume it is called
            only to check that the checkpoint holds the same model (name and hyperparameters).
        x, y: as for `model.fit`, e.g. images [N, 28, 28, 1] twice, or [images, labels [N]] and images.
        epochs: the total number of epochs, those done before a resume included; rerun with a larger number
            to train further.
        batch_size, validation_split, validation_data, verbose: as for `model.fit`. Defaults: 64, 0.0,
            None, 0.
        seed: seeds Python, NumPy and TensorFlow before building (and, on resume, before continuing), so the
            same seed gives the same weights on CPU. Default value: None (not seeded).
        callbacks: more Keras callbacks, e.g. `zoo.callbacks.KLAnnealing()`; Keras 3 (`tf.keras`) ones of
            the standard classes are converted to their tf_keras twins, with a warning (`zoo.keras3`).
        metadata: JSON-serializable settings that define the run (data, batch size, ...). Stored with the
            checkpoint; resuming with different metadata raises, so one folder never mixes two runs.
        strategy: a `tf.distribute.Strategy` to train on: the model is built in its scope, and a checkpoint
            is copied into that model (`copy_state`). Default value: None.
        restart: discard the folder's checkpoint and start over. Default value: False.

    Raises:
        TrainingDiverged: the loss became NaN/inf; the last good checkpoint is kept.
        ValueError: bad epochs/batch size, a checkpoint of another model or made with other metadata, or a
            corrupt checkpoint.
        OSError: the folder cannot be written, or another process is training in it.
    """
    epochs, batch_size = checks.integer("epochs", epochs), checks.integer("batch_size", batch_size)
    converted = keras3.Boundary("zoo.training.train")
    callbacks = converted.convert(list(callbacks))
    converted.warn()
    directory = writable_folder(directory)
    metadata = json.loads(json.dumps(metadata or {}))  # as it reads back from the checkpoint
    with _exclusive(directory):
        if restart:
            (directory / CHECKPOINT_FILE).unlink(missing_ok=True)
        saved = Checkpoint.load(directory)
        _seed(seed)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = build()  # on resume, to check that the checkpoint is of the same model
        initial_epoch, history = 0, {}
        if saved is not None:
            _check_same_run(
                directory, {**_identity(saved.model), **saved.metadata}, {**_identity(model), **metadata}
            )
            model = saved.model if strategy is None else copy_state(saved.model, model, strategy)
            initial_epoch, history = saved.epoch, saved.history
            _seed(None if seed is None else seed + initial_epoch)
        if initial_epoch >= epochs:
            return Run(model, history, initial_epoch, directory)
        checkpoint = Checkpoint(directory, metadata)
        model.fit(
            x,
            y,
            epochs=epochs,
            initial_epoch=initial_epoch,
            batch_size=batch_size,
            validation_split=validation_split,
            validation_data=validation_data,
            verbose=verbose,
            callbacks=[*callbacks, checkpoint],
        )
        converted.write_back()
        if checkpoint.diverged is not None:
            raise TrainingDiverged(directory, checkpoint.diverged[0] + 1, checkpoint.saved_epoch)
        return Run(model, checkpoint.history, initial_epoch, directory)


def copy_state(source: keras.Model, target: keras.Model, strategy: tf.distribute.Strategy) -> keras.Model:
    """Copy the weights and the optimizer state (iterations, Adam moments) of `source` into `target`, a
    compiled model of the same architecture built in `strategy.scope()`, and return `target`.

    This is how a saved model moves onto a strategy's devices: tf_keras cannot load a `.keras` file inside
    a MirroredStrategy scope (`Layer.load_own_variables` hands an h5py dataset to the sync-on-read
    variables of the `kl` metric, which fails with "unsupported operand type(s) for /: 'Dataset' and 'int'").
    Load it outside, build the model in the scope, then copy.
    """
    target.set_weights(source.get_weights())
    with strategy.scope():
        target.optimizer.build(target.trainable_variables)
    sources, targets = source.optimizer.variables, target.optimizer.variables
    if [tuple(v.shape) for v in sources] != [tuple(v.shape) for v in targets]:
        raise ValueError("The checkpoint's optimizer state does not fit the model built for it.")
    for variable, value in zip(targets, sources, strict=True):
        variable.assign(value)
    return target


def distribute(model: ZooModel, strategy: tf.distribute.Strategy) -> ZooModel:
    """A registered zoo model (e.g. from `zoo.load`) rebuilt in `strategy.scope()`, with the same
    hyperparameters, weights and optimizer state, ready to `fit` on the strategy's replicas.

    >>> model = distribute(zoo.load("runs/dense_vae-3f2a9c1e/model.keras"), tf.distribute.MirroredStrategy())
    """
    settable = registry.defaults(model.zoo_name)  # a file of zoo 0.1 may hold hyperparameters since removed
    hparams = {key: value for key, value in model.hparams.items() if key in settable}
    return copy_state(model, registry.get(model.zoo_name, strategy=strategy, **hparams), strategy)


def _seed(seed: int | None) -> None:
    if seed is not None:
        keras.utils.set_random_seed(seed)


def _identity(model: ZooModel) -> dict[str, Any]:
    return {"model": model.zoo_name, "hparams": hp.run_identity(model.hparams)}


def _check_same_run(directory: Path, saved: dict[str, Any], requested: dict[str, Any]) -> None:
    """Raise a ValueError naming the differences if a checkpoint was made with other settings."""
    differences = [
        f"{key}={saved.get(key)!r} (now {requested.get(key)!r})"
        for key in sorted(set(saved) | set(requested))
        if saved.get(key) != requested.get(key)
    ]
    if differences:
        raise ValueError(
            f"{os.fspath(directory)!r} holds a checkpoint of a different run: it was started with "
            f"{', '.join(differences)}. Use another folder, or restart=True (--restart) to discard it."
        )


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Hold an advisory lock on the run folder, so two processes never write one checkpoint. The kernel
    releases it when the process dies, even by SIGKILL."""
    if fcntl is None:
        yield
        return
    with open(directory / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError(
                f"Another process is training in {os.fspath(directory)!r}; wait for it to finish (or stop it), "
                "then rerun to resume."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
