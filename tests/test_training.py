"""Training that survives faults: resume from the checkpoint (optimizer state and history included), a
process killed with SIGKILL mid-epoch, a NaN loss, and the same seed giving the same weights."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import cli, training
from zoo._tf import keras
from zoo.callbacks import CHECKPOINT_FILE, Checkpoint

EXAMPLES, BATCH = 256, 64  # 4 steps per epoch


def build(name: str = "dense_vae"):
    """A builder for `training.train`: a small model."""
    return lambda: zoo.get(name, **small_hparams(name))


def fit(directory, x, epochs: int, **kwargs) -> training.Run:
    kwargs.setdefault("seed", 0)
    return training.train(
        directory, kwargs.pop("build", build()), x, x, epochs=epochs, batch_size=BATCH, **kwargs
    )


METADATA = {"data": "mnist-5k", "batch_size": BATCH}


@pytest.fixture(scope="module")
def _one_epoch_run(digits, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("one_epoch")
    fit(folder, digits[0][:EXAMPLES], epochs=1, metadata=METADATA)
    return folder


@pytest.fixture
def one_epoch_run(_one_epoch_run, tmp_path) -> Path:
    """This test's copy of a run folder with the checkpoint after epoch 1 of `fit` (metadata=METADATA) on the
    first EXAMPLES digits: the tests that start from one epoch share its training."""
    return shutil.copytree(_one_epoch_run, tmp_path / "run")


def optimizer_state(model) -> list[np.ndarray]:
    return [variable.numpy() for variable in model.optimizer.variables]


class PoisonWeights(keras.callbacks.Callback):
    """Sets every weight to NaN before batch `batch` of epoch `epoch` (0-based): a diverging update."""

    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, np.float32))


@pytest.mark.slow
def test_checkpoint_holds_everything_and_a_rerun_resumes_where_it_stopped(digits, tmp_path):
    x = digits[0][:EXAMPLES]
    first = fit(tmp_path, x, epochs=2)
    saved = Checkpoint.load(tmp_path)
    assert saved.epoch == 2 and saved.history == first.history and len(first.history["loss"]) == 2
    for before, after in zip(first.model.get_weights(), saved.model.get_weights(), strict=True):
        np.testing.assert_array_equal(after, before)
    for before, after in zip(optimizer_state(first.model), optimizer_state(saved.model), strict=True):
        np.testing.assert_array_equal(after, before)  # iterations and both Adam moments
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", CHECKPOINT_FILE, "epoch-0002.keras"]
    again = fit(tmp_path, x, epochs=2)  # already done: nothing to train
    assert again.initial_epoch == 2 and again.history == first.history
    further = fit(tmp_path, x, epochs=3)
    assert further.initial_epoch == 2 and len(further.history["loss"]) == 3
    assert further.history["loss"][:2] == first.history["loss"]
    assert int(further.model.optimizer.iterations.numpy()) == 3 * EXAMPLES // BATCH


@pytest.mark.slow
def test_a_checkpoint_of_another_run_is_refused_until_restart(digits, one_epoch_run):
    x, folder, other_batch = digits[0][:EXAMPLES], one_epoch_run, {**METADATA, "batch_size": 32}
    with pytest.raises(ValueError, match=r"different run.*model='dense_vae' \(now 'beta_vae'\)"):
        fit(folder, x, epochs=2, build=build("beta_vae"), metadata=METADATA)
    with pytest.raises(ValueError, match=r"different run.*batch_size=64 \(now 32\).*restart"):
        fit(folder, x, epochs=2, metadata=other_batch)
    run = fit(folder, x, epochs=1, metadata=other_batch, restart=True)
    assert run.initial_epoch == 0 and len(run.history["loss"]) == 1


def test_leftovers_of_a_kill_during_a_save_are_ignored_and_cleaned(digits, one_epoch_run):
    """Killed after writing the next model file (whole or in part) but before committing checkpoint.json."""
    x, folder = digits[0][:EXAMPLES], one_epoch_run
    whole = (folder / "epoch-0001.keras").read_bytes()
    (folder / "epoch-0002.keras").write_bytes(whole)  # renamed into place, never committed
    (folder / ".tmp-999-epoch-0003.keras").write_bytes(whole[: len(whole) // 2])  # cut mid-write
    run = fit(folder, x, epochs=2, metadata=METADATA)
    assert run.initial_epoch == 1 and len(run.history["loss"]) == 2
    assert sorted(p.name for p in folder.iterdir()) == [".lock", CHECKPOINT_FILE, "epoch-0002.keras"]


def test_one_process_at_a_time_per_run_folder(digits, tmp_path):
    with training._exclusive(tmp_path), pytest.raises(OSError, match="Another process is training"):
        fit(tmp_path, digits[0][:EXAMPLES], epochs=1)


@pytest.mark.slow
def test_nan_loss_stops_keeps_the_last_good_checkpoint_and_says_so(digits, tmp_path):
    x = digits[0][:EXAMPLES]
    with (
        pytest.warns(RuntimeWarning, match=r"NaN/inf in epoch 2, batch 2.*checkpoint after epoch 1 .* kept"),
        pytest.raises(training.TrainingDiverged, match="epoch 2.*checkpoint after epoch 1 is kept") as error,
    ):
        fit(tmp_path, x, epochs=3, callbacks=[PoisonWeights(epoch=1, batch=1)])
    assert (error.value.epoch, error.value.checkpoint_epoch) == (2, 1)
    saved = Checkpoint.load(tmp_path)
    assert saved.epoch == 1 and len(saved.history["loss"]) == 1
    assert all(np.isfinite(w).all() for w in [*saved.model.get_weights(), *optimizer_state(saved.model)])
    resumed = fit(tmp_path, x, epochs=2)  # rerunning retries from the good epoch
    assert resumed.initial_epoch == 1 and np.isfinite(resumed.history["loss"]).all()


def test_nan_in_the_first_epoch_saves_nothing(digits, tmp_path):
    with pytest.warns(RuntimeWarning), pytest.raises(training.TrainingDiverged, match="nothing was saved"):
        fit(tmp_path, digits[0][:EXAMPLES], epochs=2, callbacks=[PoisonWeights(epoch=0, batch=0)])
    assert Checkpoint.load(tmp_path) is None


@pytest.mark.slow
def test_same_seed_gives_identical_weights(digits, tmp_path):
    x, y = digits[0][:EXAMPLES], digits[1][:EXAMPLES]
    first, second = (
        training.train(tmp_path / name, build("cvae"), [x, y], x, epochs=2, batch_size=BATCH, seed=7)
        for name in "ab"
    )
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.history == second.history


def _checkpoint_epoch(folder: Path) -> int:
    records = list(folder.glob(f"*/{CHECKPOINT_FILE}"))
    try:
        return json.loads(records[0].read_text())["epoch"] if records else 0
    except (ValueError, OSError):  # replaced while being read: try again
        return 0


@pytest.mark.slow
def test_sigkill_mid_epoch_then_the_same_command_resumes(digits_npz, tmp_path, capsys):
    out = tmp_path / "runs"
    argv = [sys.executable, "-m", "zoo", "train", "dense_vae", "--data", str(digits_npz), "--epochs", "4"]
    argv += ["--batch-size", "16", "--set", "latent_dim=2", "--set", "hidden_units=(64,)"]
    argv += ["--out", str(out), "--verbose", "0"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(tmp_path / "stderr.txt", "w") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        deadline = time.monotonic() + 300
        while _checkpoint_epoch(out) < 1 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # in epoch 2, or while it is being saved
        process.wait()
    assert process.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()[-2000:]
    (run_dir,) = out.iterdir()
    before = json.loads((run_dir / CHECKPOINT_FILE).read_text())
    assert 1 <= before["epoch"] < 4 and not (run_dir / "model.keras").exists()

    assert cli.main(argv[3:]) == 0  # the same command, in this process (`python -m zoo` runs cli.main)
    assert f"resuming after epoch {before['epoch']}" in capsys.readouterr().out
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == 4 and history["loss"][: before["epoch"]] == before["history"]["loss"]
    model = zoo.load(run_dir / "model.keras")
    steps_per_epoch = -(-230 // 16)  # 256 training digits in the .npz, 10% held out for validation
    assert int(model.optimizer.iterations.numpy()) == 4 * steps_per_epoch  # the optimizer state came back
    assert not list(run_dir.glob(".tmp-*"))


def test_a_run_started_before_auto_steps_per_execution_resumes(digits, tmp_path):
    """Runs made before "auto" became the default recorded steps_per_execution=1; today's default build
    resumes them (they differ in speed, not in what is trained)."""
    x = digits[0][:EXAMPLES]
    before = lambda: zoo.get("dense_vae", **small_hparams("dense_vae"), steps_per_execution=1)  # noqa: E731
    fit(tmp_path, x, epochs=1, build=before, metadata=METADATA)
    run = fit(tmp_path, x, epochs=2, metadata=METADATA)
    assert run.initial_epoch == 1 and len(run.history["loss"]) == 2
