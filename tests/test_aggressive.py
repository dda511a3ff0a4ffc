"""Aggressive encoder training (He et al. 2019): the inner steps move the encoder and nothing else, stop when
their loss stops falling, and the phase ends after the first epoch whose mutual information did not rise."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo._tf import tf
from zoo.aggressive import AggressiveEncoder


def _ready(model: zoo.ZooModel, x: np.ndarray, **options) -> AggressiveEncoder:
    """The callback as `fit` starts it."""
    callback = AggressiveEncoder(x, **options)
    callback.set_model(model)
    callback.on_train_begin()
    return callback


@pytest.mark.parametrize(
    "name, options, prior_weights",
    [("vamp_vae", {}, 1), ("dense_vae", {"prior": "mixture"}, 3)],  # pseudo-inputs; locations, scales, logits
)
def test_inner_steps_move_the_encoder_and_nothing_else(name, options, prior_weights, digits):
    x = digits[0]
    model = zoo.get(name, **small_hparams(name), **options)
    callback = _ready(model, x, max_inner_steps=30, check_every=10)
    encoder = {id(v) for v in callback.encoder_variables}
    assert len(model.encoder.trainable_variables) - len(encoder) == prior_weights  # the prior is not the encoder
    before = {id(v): v.numpy().copy() for v in model.trainable_variables}
    losses = callback.encoder_steps()
    assert np.mean(losses[-10:]) < np.mean(losses[:10]), losses
    for variable in model.trainable_variables:
        moved = np.abs(variable.numpy() - before[id(variable)]).max() > 0
        assert moved == (id(variable) in encoder), variable.name


def test_the_inner_loop_stops_when_a_window_of_losses_does_not_fall(digits):
    callback = _ready(zoo.get("dense_vae", **small_hparams("dense_vae")), digits[0], check_every=3)
    callback._step = lambda inputs, target: tf.constant(1.0)  # a loss that never falls
    assert len(callback.encoder_steps()) == 6  # the first window sets the mark, the second fails to beat it


def test_the_phase_ends_after_the_first_epoch_without_more_information(digits, monkeypatch):
    x, y = digits[0][:256], digits[1][:256]
    model = zoo.get("cvae", **small_hparams("cvae"))
    callback = AggressiveEncoder(x, y, batch_size=32, max_inner_steps=2, check_every=1)
    estimates = iter([1.0, 2.0, 1.5, 3.0])
    monkeypatch.setattr(callback, "mutual_information", lambda: next(estimates))
    warnings = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())
    tf.get_logger().addHandler(handler)
    filters = list(tf.get_logger().filters)
    try:
        history = model.fit(model.inputs_for(x, y), x, epochs=4, batch_size=32, verbose=0, callbacks=[callback])
    finally:
        tf.get_logger().removeHandler(handler)
    assert history.history["aggressive"] == [1.0, 1.0, 1.0, 0.0]  # 1.5 did not beat 2.0: no inner steps after
    assert history.history["mutual_information"] == [1.0, 2.0, 1.5, 3.0]
    steps = history.history["encoder_steps"]
    assert all(8 <= s <= 16 for s in steps[:3]) and steps[3] == 0  # 8 batches, 1 or 2 inner steps before each
    assert not [w for w in warnings if "is slow" in w], warnings  # Keras' timing warning: expected, dropped
    assert tf.get_logger().filters == filters  # and only during fit


def test_the_estimate_is_the_mutual_information_of_the_first_examples(digits, trained):
    model = trained("dense_vae")
    x = digits[0]
    callback = _ready(model, x, mi_examples=100, seed=3)
    expected = zoo.evaluation.mutual_information(zoo.encode(model, x[:100]), seed=3)
    assert callback.mutual_information() == pytest.approx(expected)


def test_refuses_what_it_cannot_train(digits):
    x = digits[0]
    for name in ("iwae", "autoencoder"):
        with pytest.raises(ValueError, match=f"{name} has none"):
            _ready(zoo.get(name, **small_hparams(name)), x)
    with pytest.raises(ValueError, match="smaller batch_size"):
        AggressiveEncoder(x[:10], batch_size=64)
    with pytest.raises(ValueError, match="labels"):
        _ready(zoo.get("cvae", **small_hparams("cvae")), x)
