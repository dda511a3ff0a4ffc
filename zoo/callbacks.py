"""Keras callbacks for zoo models: `KLAnnealing` schedules the KL weight; `AggressiveEncoder` updates the
encoder alone before each step until the code carries information (`zoo.aggressive`); `TensorBoard` logs a
run's numbers, its KL weight and images of it for TensorBoard; `Checkpoint` saves a run every epoch,
atomically, so that a crash loses at most the epoch that was running, and stops on a NaN loss.
"""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo import checks, inference, io
from zoo import layers as zl
from zoo._tf import keras, tf
from zoo.aggressive import AggressiveEncoder  # noqa: F401  (zoo.callbacks.AggressiveEncoder)
from zoo.files import TEMP_PREFIX, atomic_write, writable_folder, write_json
from zoo.model import ZooModel, kl_layers, layers_of_type


class KLAnnealing(keras.callbacks.Callback):
    """Schedules the KL weight beta of every `KLDivergence` layer, step by step, to fight posterior collapse.

    - "linear" warm-up (Bowman et al. 2016): beta = beta_max * min(1, step / warmup_steps).
    - "cyclical" (Fu et al. 2019): the step's position in a cycle of `cycle_steps`, tau in [0, 1), gives
      beta = beta_max * min(1, tau / ratio): a linear ramp over the first `ratio` of each cycle, then flat.

    The step is the optimizer's iteration count, so a resumed run continues the schedule where it stopped.
    beta is computed inside the training step, so it is exact at every step whatever the model's
    `steps_per_execution` and under `jit_compile`; installing and removing the schedule retraces the
    training function once per `fit` call. beta_max defaults to the beta the model was built with. The
    current beta is held in `layer.beta` and logged as `beta`.

    >>> model.fit(x, x, epochs=10, callbacks=[zoo.callbacks.KLAnnealing(warmup_steps=2000)])
    """

    SCHEDULES = ("linear", "cyclical")

    def __init__(
        self,
        schedule: str = "linear",
        warmup_steps: int = 1000,
        cycle_steps: int = 1000,
        ratio: float = 0.5,
        beta_max: float | None = None,
    ):
        super().__init__()
        self.schedule = checks.one_of("schedule", schedule, self.SCHEDULES)
        self.warmup_steps = checks.integer("warmup_steps", warmup_steps)
        self.cycle_steps = checks.integer("cycle_steps", cycle_steps)
        self.ratio = checks.number("ratio", ratio, high=1.0, open_low=True, open_high=False)
        self.beta_max = None if beta_max is None else checks.number("beta_max", beta_max)

    def beta_at(self, step: tf.Tensor | int, beta_max: float) -> tf.Tensor:
        """The scheduled beta at optimizer step `step` (0 for the first step): a float32 scalar tensor."""
        step = tf.cast(step, tf.float32)
        if self.schedule == "linear":
            progress = step / self.warmup_steps
        else:
            progress = tf.math.floormod(step, self.cycle_steps) / self.cycle_steps / self.ratio
        return beta_max * tf.minimum(1.0, progress)

    def on_train_begin(self, logs=None):
        self._kl_layers = kl_layers(self.model, "KLAnnealing")
        iterations = self.model.optimizer.iterations
        for layer in self._kl_layers:
            top = layer.initial_beta if self.beta_max is None else self.beta_max
            layer.beta_schedule = lambda top=top: self.beta_at(iterations, top)
        self.model.train_function = self.model.make_train_function(force=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["beta"] = float(self._kl_layers[0].beta.numpy())

    def on_train_end(self, logs=None):
        for layer in self._kl_layers:
            layer.beta_schedule = None
        self.model.train_function = None  # the next fit traces a step without the schedule


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' own TensorBoard callback (every number in the logs each epoch: the loss, the KL, validation
    numbers), plus each epoch the KL weight `beta` (scheduled or not) and two images: held-out images over
    their reconstructions, and samples from the prior (the same codes every epoch, so the pictures show the
    model learning). Images go to `log_dir/images`, Keras' scalars to `log_dir/train` and
    `log_dir/validation`.

    >>> model.fit(x, x, epochs=10, callbacks=[zoo.callbacks.TensorBoard("logs", images=x_valid[:8])])

    then `tensorboard --logdir logs`. `python -m zoo train MODEL --tensorboard` does this in its run folder.

    Args:
        log_dir: the log folder (created if missing).
        images: held-out images [n, H, W, C] to reconstruct each epoch, as the model is fed them; None: no
            reconstructions. Default value: None.
        labels: their labels [n], for a conditional model. Default value: None.
        samples: how many images to sample each epoch (0: none). A conditional model draws labels 0, 1, ...
            in turn. Default value: 8.
        seed: the samples' seed. Default value: 0.
        **kwargs: Keras' own options (`histogram_freq`, `update_freq`, ...).
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        images: Any = None,
        labels: Any = None,
        samples: int = 8,
        seed: int = 0,
        **kwargs: Any,
    ):
        if importlib.util.find_spec("tensorboard") is None:  # tf.summary fails without it, at the first epoch
            raise RuntimeError(
                "TensorBoard logging needs the tensorboard package, which is not installed: "
                "pip install 'tfp-vae-zoo[tensorboard]' (or pip install tensorboard)."
            )
        super().__init__(log_dir=os.fspath(log_dir), **kwargs)
        self.images, self.labels = images, labels
        self.samples, self.seed = checks.integer("samples", samples, minimum=0), seed
        self._image_writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})  # a copy: the other callbacks see the logs as they were
        weighted = layers_of_type(self.model, zl.KLDivergence)
        if weighted:
            logs["beta"] = float(weighted[0].beta.numpy())
        super().on_epoch_end(epoch, logs)
        pictures = self._pictures()
        if pictures:
            if self._image_writer is None:
                self._image_writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
            with self._image_writer.as_default():
                for name, picture in pictures.items():
                    tf.summary.image(name, np.clip(picture, 0.0, 1.0)[None], step=epoch)
            self._image_writer.flush()

    def _pictures(self) -> dict[str, np.ndarray]:
        """{"reconstructions": [2H, nW, C] images over their reconstructions, "samples": [H, nW, C]}, as far as
        the model has them (a code to reconstruct from, a prior to sample from)."""
        model, pictures = self.model, {}
        if self.images is not None and model.has_latent_code:
            again = inference.reconstruct(model, self.images, model.labels_or_none(self.labels))
            pictures["reconstructions"] = np.concatenate([_side_by_side(self.images), _side_by_side(again)])
        if self.samples and model.is_generative:
            labels = np.arange(self.samples) % model.num_classes if model.is_conditional else None
            drawn = inference.sample(model, self.samples, labels=labels, seed=self.seed)
            pictures["samples"] = _side_by_side(drawn)
        return pictures

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self._image_writer is not None:
            self._image_writer.close()
            self._image_writer = None


def _side_by_side(images: Any) -> np.ndarray:
    """Images [n, H, W, C] as one row [H, n * W, C]."""
    return np.concatenate(list(np.asarray(images, dtype=np.float32)), axis=1)


# ---- checkpoints -------------------------------------------------------------------------------------------

CHECKPOINT_FILE = "checkpoint.json"
_MODEL_PATTERN = "epoch-*.keras"
_FORMAT = 1


@dataclass
class Saved:
    """A checkpoint read back from disk by `Checkpoint.load`.

    model: the compiled model with its weights and optimizer state (iterations, Adam moments).
    epoch: epochs completed; resume with `model.fit(..., initial_epoch=epoch)`.
    history: the logs of those epochs, {"loss": [epoch 1, epoch 2, ...], ...}.
    metadata: what the run was started with (`Checkpoint(metadata=...)`), {} if nothing.
    """

    model: ZooModel
    epoch: int
    history: dict[str, list[float]]
    metadata: dict[str, Any]


class Checkpoint(keras.callbacks.Callback):
    """Saves the whole model (weights, optimizer state, hyperparameters) and the history after every epoch,
    atomically, and stops training at the first NaN/inf loss without overwriting the last good checkpoint.

    In `directory`: `epoch-0003.keras` (the model after epoch 3, written to a temporary file and renamed),
    then `checkpoint.json` (epochs done, the name of that model file, the history, `metadata`), replaced
    the same way, so it always names a complete model and the history that goes with it; then the
    previous model file is removed. Killing the process at any moment leaves the last complete epoch.

    A NaN/inf loss (checked after every batch) or NaN/inf weights at an epoch's end stop training; the
    checkpoint keeps the last good epoch, `diverged` holds (epoch, batch) (0-based; batch None if found at
    the epoch's end), and a RuntimeWarning says so. With K steps per execution the check runs after every K
    steps, and is as sure: the logged loss is the epoch's running mean, NaN from the first bad step on; the
    batch in `diverged` is then the last of the K (up to K - 1 after the first bad one).

    Args:
        directory: the run folder; created if missing (an OSError at once if it cannot be written). A fit
            that does not start where the folder's checkpoint ended is refused before its first step, so
            a forgotten `initial_epoch` never overwrites a run.
        metadata: JSON-serializable settings stored with every checkpoint (e.g. the data and batch size),
            for checking that a resumed run is the same run. Default value: None.

    >>> model.fit(x, x, epochs=10, callbacks=[Checkpoint("runs/mine")])
    >>> saved = Checkpoint.load("runs/mine")      # after a crash: model, epoch, history
    >>> saved.model.fit(x, x, epochs=10, initial_epoch=saved.epoch, callbacks=[Checkpoint("runs/mine")])

    `zoo.training.train` does the resuming for you.
    """

    batch_hooks_per_execution = True  # the NaN check need not see every batch (`zoo.execution`); a subclass
    # whose batch hooks must see every batch sets it to False

    def __init__(self, directory: str | os.PathLike, metadata: dict[str, Any] | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.metadata = dict(metadata or {})
        self.history: dict[str, list[float]] = {}
        self.saved_epoch = 0
        self.diverged: tuple[int, int | None] | None = None
        self._epoch: int | None = None

    @staticmethod
    def load(directory: str | os.PathLike) -> Saved | None:
        """The checkpoint in `directory`, or None if there is none. Call it outside any distribution
        strategy's scope (tf_keras cannot load a model file inside a MirroredStrategy scope);
        `zoo.training.train(..., strategy=...)` copies it into a model built in the scope.

        Raises:
            ValueError: `checkpoint.json` is not a checkpoint record, or names a model file that is missing
                or corrupt.
        """
        record = _read_record(Path(directory))
        if not record:
            return None
        try:
            model = io.load(Path(directory) / record["model"])
        except (OSError, ValueError) as error:
            raise ValueError(
                f"The checkpoint in {os.fspath(directory)!r} names {record['model']!r}, which cannot be "
                f"loaded: {error} Delete the folder to start over."
            ) from error
        return Saved(model, int(record["epoch"]), record["history"], record["metadata"])

    def on_train_begin(self, logs=None):
        writable_folder(self.directory)
        for leftover in self.directory.glob(f"{TEMP_PREFIX}*"):  # from a process killed mid-write
            leftover.unlink(missing_ok=True)
        record = _read_record(self.directory)
        self._remove_models(keep=record.get("model"))  # one written just before a kill, never committed
        self.saved_epoch = int(record.get("epoch", 0))
        self.history = {key: list(values) for key, values in record.get("history", {}).items()}
        self.diverged, self._epoch = None, None

    def on_epoch_begin(self, epoch, logs=None):
        if self._epoch is None and self.saved_epoch and epoch != self.saved_epoch:
            raise ValueError(
                f"{os.fspath(self.directory)!r} holds a checkpoint after epoch {self.saved_epoch}, but fit "
                f"starts at epoch {epoch}. Resume it (saved = zoo.callbacks.Checkpoint.load(folder), then "
                "saved.model.fit(..., initial_epoch=saved.epoch)), or use another folder."
            )
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss) and self.diverged is None:
            self._stop(self._epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.diverged is not None:
            return
        if not np.isfinite(logs.get("loss", 0.0)) or not _all_finite(self.model):
            self._stop(epoch, None)
            return
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        model_file = f"epoch-{epoch + 1:04d}.keras"
        atomic_write(self.directory / model_file, self.model.save)
        record = {"format": _FORMAT, "epoch": epoch + 1, "model": model_file, "history": self.history}
        atomic_write(self.directory / CHECKPOINT_FILE, write_json({**record, "metadata": self.metadata}))
        self.saved_epoch = epoch + 1
        self._remove_models(keep=model_file)

    def _remove_models(self, keep: str | None) -> None:
        for path in self.directory.glob(_MODEL_PATTERN):
            if path.name != keep:
                path.unlink(missing_ok=True)

    def _stop(self, epoch: int, batch: int | None) -> None:
        self.diverged = (epoch, batch)
        self.model.stop_training = True
        where = f"epoch {epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        kept = (
            f"the checkpoint after epoch {self.saved_epoch} in {os.fspath(self.directory)!r} is kept"
            if self.saved_epoch
            else "no epoch had completed, so nothing was saved"
        )
        warnings.warn(f"The loss became NaN/inf in {where}; training stopped and {kept}.", RuntimeWarning, 2)


def checkpoint_epoch(directory: str | os.PathLike) -> int:
    """The number of epochs the checkpoint in `directory` holds (0 if there is none), without loading it."""
    return int(_read_record(Path(directory)).get("epoch", 0))


def _read_record(directory: Path) -> dict[str, Any]:
    """The checkpoint record in `directory` ({} if there is none), checked."""
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text())
        record["epoch"], record["model"] = int(record["epoch"]), str(record["model"])
        record.setdefault("history", {})
        record.setdefault("metadata", {})
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{os.fspath(path)!r} is not a zoo checkpoint record ({error}). It is only ever replaced whole, so "
            "something else wrote it: delete the folder to start over."
        ) from error
    return record


def _all_finite(model: keras.Model) -> bool:
    """True if every weight of the model and of its optimizer is finite."""
    variables = [*model.weights, *(model.optimizer.variables if model.optimizer is not None else [])]
    return all(np.isfinite(variable.numpy()).all() for variable in variables)
