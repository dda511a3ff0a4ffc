"""Callbacks: the KL annealing schedule reaches the loss step by step; TensorBoard logs numbers, beta and
images; checkpoints are atomic and resume."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import layers as zl
from zoo._tf import tf
from zoo.callbacks import Checkpoint, KLAnnealing, TensorBoard
from zoo.model import layers_of_type


class RecordAddedLoss(zoo.keras.callbacks.Callback):
    """After each step, the beta in force and the KL penalty the model adds on a fixed batch."""

    def __init__(self, x):
        super().__init__()
        self.x, self.betas, self.penalties, self.kls = x, [], [], []

    def on_train_batch_end(self, batch, logs=None):
        (kl_layer,) = layers_of_type(self.model, zl.KLDivergence)
        posterior = self.model.encoder(self.x)  # this call's KL penalty is now in model.losses
        self.betas.append(float(kl_layer.beta.numpy()))
        self.penalties.append(float(sum(self.model.losses)))
        self.kls.append(float(np.mean(kl_layer.kl_per_example(posterior).numpy())))


@pytest.mark.parametrize(
    "callback, expected",
    [
        (KLAnnealing("linear", warmup_steps=4), [0, 0.25, 0.5, 0.75, 1, 1, 1, 1]),
        (KLAnnealing("cyclical", cycle_steps=4, ratio=0.5), [0, 0.5, 1, 1, 0, 0.5, 1, 1]),
        (KLAnnealing("linear", warmup_steps=2, beta_max=3.0), [0, 1.5, 3, 3, 3, 3, 3, 3]),
    ],
)
def test_added_kl_loss_follows_the_schedule_step_by_step(callback, expected, digits):
    x, _ = digits
    model = zoo.get("dense_vae", **small_hparams("dense_vae"), kl_estimator="exact")
    recorder = RecordAddedLoss(x[:32])
    model.fit(x[:256], x[:256], epochs=2, batch_size=64, verbose=0, callbacks=[callback, recorder])
    np.testing.assert_allclose(recorder.betas, expected, atol=1e-6)
    np.testing.assert_allclose(recorder.penalties, np.multiply(expected, recorder.kls), rtol=1e-4, atol=1e-6)


class RecordBetaAtBatchEnd(zoo.keras.callbacks.Callback):
    """At each batch callback: the optimizer steps taken so far and the beta the last step used."""

    def __init__(self):
        super().__init__()
        self.steps, self.betas = [], []

    def on_train_batch_end(self, batch, logs=None):
        (kl_layer,) = layers_of_type(self.model, zl.KLDivergence)
        self.steps.append(int(self.model.optimizer.iterations.numpy()))
        self.betas.append(float(kl_layer.beta.numpy()))


@pytest.mark.parametrize("options", [{"steps_per_execution": 4}, {"jit_compile": True}])
def test_the_schedule_is_exact_at_every_step_inside_compiled_steps(options, digits):
    x, _ = digits
    model = zoo.get("dense_vae", **small_hparams("dense_vae"), **options)
    recorder = RecordBetaAtBatchEnd()
    annealing = KLAnnealing("linear", warmup_steps=8)
    model.fit(x[:256], x[:256], epochs=2, batch_size=64, verbose=0, callbacks=[annealing, recorder])
    assert recorder.steps[-1] == 8
    expected = [min(1.0, (step - 1) / 8) for step in recorder.steps]  # the last step run was step - 1
    np.testing.assert_allclose(recorder.betas, expected, atol=1e-6)
    model.fit(x[:256], x[:256], epochs=1, batch_size=64, verbose=0, callbacks=[recorder])
    assert recorder.betas[-1] == pytest.approx(7 / 8)  # without the callback, beta stays where it was


def test_beta_is_logged_and_the_schedule_resumes_from_the_optimizer_step(digits):
    x, _ = digits
    model = zoo.get("dense_vae", **small_hparams("dense_vae"))
    annealing = KLAnnealing("linear", warmup_steps=8)
    history = model.fit(x[:256], x[:256], epochs=1, batch_size=64, verbose=0, callbacks=[annealing])
    assert history.history["beta"] == [pytest.approx(3 / 8)]
    history = model.fit(x[:256], x[:256], epochs=1, batch_size=64, verbose=0, callbacks=[annealing])
    assert history.history["beta"] == [pytest.approx(7 / 8)]


def summaries(folder: Path) -> dict[str, list[tuple[int, tf.Tensor]]]:
    """Every summary in the event files under `folder`: {tag: [(step, value tensor), ...]}."""
    found = defaultdict(list)
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found[value.tag].append((event.step, tf.make_ndarray(value.tensor)))
    return found


def test_tensorboard_logs_the_numbers_beta_and_images_of_each_epoch(digits, tmp_path):
    x, y = digits[0][:128], digits[1][:128]
    model = zoo.get("cvae", **small_hparams("cvae"))
    board = TensorBoard(tmp_path, images=x[:8], labels=y[:8], samples=5)
    annealing = KLAnnealing("linear", warmup_steps=4, beta_max=1.0)  # beta of the last of 2 steps per epoch
    callbacks = [board, annealing]
    model.fit([x, y], x, epochs=2, batch_size=64, validation_data=([x, y], x), verbose=0, callbacks=callbacks)
    train = summaries(tmp_path / "train")
    assert {"epoch_loss", "epoch_kl", "epoch_beta"} <= set(train)
    assert [float(value) for _, value in train["epoch_beta"]] == [pytest.approx(0.25), pytest.approx(0.75)]
    assert "epoch_loss" in summaries(tmp_path / "validation")
    images = summaries(tmp_path / "images")
    for tag, (height, width) in {"reconstructions": (2 * 28, 8 * 28), "samples": (28, 5 * 28)}.items():
        assert [step for step, _ in images[tag]] == [0, 1], tag
        png = images[tag][-1][1][2]  # an image summary holds [width, height, PNG bytes]
        assert tf.io.decode_png(png).shape == (height, width, 1), tag


def test_tensorboard_without_its_package_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # what find_spec sees when it is not installed
    with pytest.raises(RuntimeError, match=r"pip install 'tfp-vae-zoo\[tensorboard\]'"):
        TensorBoard(tmp_path)


def test_annealing_needs_a_kl_term_and_valid_arguments(digits, trained):
    autoencoder = trained("autoencoder")
    x, _ = digits
    with pytest.raises(ValueError, match="needs a model with a KL term"):
        autoencoder.fit(x[:64], x[:64], epochs=1, verbose=0, callbacks=[KLAnnealing()])
    for bad in ({"schedule": "cosine"}, {"warmup_steps": 0}, {"ratio": 0}, {"beta_max": -1}):
        with pytest.raises(ValueError):
            KLAnnealing(**bad)


def test_checkpoint_with_plain_fit_resumes_the_model_and_the_annealing_schedule(digits, tmp_path):
    x, _ = digits
    model = zoo.get("dense_vae", **small_hparams("dense_vae"))
    callbacks = [KLAnnealing("linear", warmup_steps=8), Checkpoint(tmp_path, metadata={"data": "digits"})]
    model.fit(x[:256], x[:256], epochs=1, batch_size=64, verbose=0, callbacks=callbacks)
    saved = Checkpoint.load(tmp_path)
    assert saved.epoch == 1 and saved.metadata == {"data": "digits"}
    callbacks = [KLAnnealing("linear", warmup_steps=8), Checkpoint(tmp_path, metadata={"data": "digits"})]
    saved.model.fit(
        x[:256], x[:256], epochs=2, initial_epoch=1, batch_size=64, verbose=0, callbacks=callbacks
    )
    resumed = Checkpoint.load(tmp_path)
    assert resumed.epoch == 2 and resumed.history["beta"] == pytest.approx([3 / 8, 7 / 8])
