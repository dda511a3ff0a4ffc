"""Feeding arrays: the zoo's pipeline has autotuning off, batches like Keras, and trains exactly as Keras would."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import feeding
from zoo._tf import keras


def test_array_dataset_batches_every_example_once_per_epoch_and_reshuffles():
    x = np.arange(10, dtype=np.float64).reshape(10, 1)
    dataset = feeding.array_dataset(x, x * 2, batch_size=4, shuffle=True)
    assert dataset.options().autotune.enabled is False
    epochs = [[(bx.numpy(), by.numpy()) for bx, by in dataset] for _ in range(2)]
    for batches in epochs:
        assert [len(bx) for bx, _ in batches] == [4, 4, 2]
        assert all(bx.dtype == np.float32 and np.array_equal(by, 2 * bx) for bx, by in batches)
        assert sorted(np.concatenate([bx for bx, _ in batches]).ravel()) == list(range(10))
    orders = [np.concatenate([bx for bx, _ in batches]).ravel().tolist() for batches in epochs]
    assert orders[0] != orders[1] and list(range(10)) not in orders, orders  # shuffled, anew each epoch


def test_array_dataset_keeps_an_input_list_as_one_input_and_predict_gets_x_alone():
    images, labels = np.zeros((5, 3), np.float32), np.arange(5)
    (inputs, targets), *_ = feeding.array_dataset([images, labels], images, batch_size=5)
    assert isinstance(inputs, tuple) and inputs[1].numpy().tolist() == [0, 1, 2, 3, 4]
    assert targets.shape == (5, 3)
    ((inputs,),) = feeding.array_dataset([images, labels], None, batch_size=5)
    assert len(inputs) == 2 and inputs[1].dtype.is_integer


@pytest.fixture
def every_call(monkeypatch):
    """Feed every call through the zoo pipeline, however short (the tests' calls are)."""
    monkeypatch.setattr(feeding, "MIN_BATCHES", 0)


@pytest.fixture(scope="module")
def scratch() -> dict[str, zoo.ZooModel]:
    """Small models that the tests below fit freely: they check which path the data takes, not what the
    model learns, so one model per name serves them all (and its traced steps with it)."""
    return {name: zoo.get(name, **small_hparams(name)) for name in ("dense_vae", "cvae")}


def _twin(name: str) -> tuple[zoo.ZooModel, zoo.ZooModel]:
    model = zoo.get(name, **small_hparams(name))
    twin = zoo.get(name, **small_hparams(name))
    twin.set_weights(model.get_weights())
    return model, twin


def test_fit_on_arrays_trains_exactly_as_keras_would(digits, every_call):
    """The autoencoder is deterministic: the same weights after the same batches in the same order."""
    x, _ = digits
    model, twin = _twin("autoencoder")
    history = model.fit(
        x[:200], x[:200], batch_size=64, epochs=2, shuffle=False, validation_split=0.25, verbose=0
    )
    reference = keras.Model.fit(
        twin, x[:200], x[:200], batch_size=64, epochs=2, shuffle=False, validation_split=0.25, verbose=0
    )
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(history.history[key], reference.history[key], rtol=1e-5)
    for mine, theirs in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.evaluate(x[:100], x[:100], batch_size=30, verbose=0),
        keras.Model.evaluate(twin, x[:100], x[:100], batch_size=30, verbose=0),
        rtol=1e-5,
    )


@pytest.mark.parametrize("name", ["dense_vae", "cvae"])  # images, and [images, labels]: all the pipeline sees
def test_fit_evaluate_and_predict_feed_arrays_through_the_zoo_pipeline(
    name, digits, scratch, monkeypatch, every_call
):
    x, y = digits
    model = scratch[name]
    inputs = model.inputs_for(x[:96], y[:96])
    calls = []
    original = feeding.array_dataset
    monkeypatch.setattr(
        feeding, "array_dataset", lambda *args, **kwargs: calls.append(args[2:]) or original(*args, **kwargs)
    )
    history = model.fit(
        inputs, x[:96], 32, 1, 0, validation_split=0.25
    )  # positional arguments as Keras takes them
    assert calls == [(32, True), (32,)]  # training batches shuffled, validation not
    assert len(history.history["val_loss"]) == 1
    model.evaluate(inputs, x[:96], batch_size=48, verbose=0)
    model.predict(inputs, batch_size=48, verbose=0)
    assert calls[2:] == [(48,), (48,)]


def test_keras_gets_what_the_zoo_pipeline_does_not_cover(digits, scratch, monkeypatch, every_call):
    x, _ = digits
    model = scratch["dense_vae"]
    monkeypatch.setattr(
        feeding, "array_dataset", lambda *args, **kwargs: pytest.fail("arrays were converted")
    )
    model.fit(x[:64], x[:64], sample_weight=np.ones(64), verbose=0)
    model.fit(x[:64], x[:64], steps_per_epoch=1, verbose=0)
    model.fit(x[:64], x[:64], shuffle="batch", verbose=0)
    model.evaluate(x[:64], x[:64], steps=1, verbose=0)
    model.predict(x[:64], steps=1, verbose=0)


def test_a_validation_split_that_leaves_no_training_data_says_so(digits, trained, every_call):
    model = trained("dense_vae")
    x, _ = digits
    with pytest.raises(ValueError, match="leaves no training data out of 3 examples"):
        model.fit(x[:3], x[:3], validation_split=0.9, verbose=0)


def test_short_calls_keep_keras_own_path_and_long_ones_take_the_zoo_pipeline(digits, scratch, monkeypatch):
    x, _ = digits
    model = scratch["dense_vae"]
    calls = []
    original = feeding.array_dataset
    monkeypatch.setattr(feeding, "array_dataset", lambda *a, **k: calls.append(a[2:]) or original(*a, **k))
    model.fit(x[:64], x[:64], batch_size=8, epochs=feeding.MIN_BATCHES // 8 - 1, verbose=0)  # 8 short of it
    model.predict(x[:64], batch_size=1, verbose=0)  # 64 batches
    assert calls == []
    model.fit(x[:64], x[:64], batch_size=8, epochs=feeding.MIN_BATCHES // 8 + 1, verbose=0)
    model.predict(x[: feeding.MIN_BATCHES], batch_size=1, verbose=0)
    assert calls == [(8, True), (1,)]
