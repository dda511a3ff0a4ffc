"""Using a trained model: encode, decode, reconstruct, sample."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import model_inputs, small_hparams

import zoo

GENERATIVE = [name for name in zoo.list_models() if name != "autoencoder"]


@pytest.mark.parametrize("name", zoo.list_models())
def test_reconstruct_returns_pixel_probabilities(name, digits):
    x, y = digits
    model = zoo.get(name, **small_hparams(name))
    labels = y[:6] if model.is_conditional else None
    recon = zoo.reconstruct(model, x[:6], labels)
    assert recon.shape == (6, 28, 28, 1) and 0 <= recon.min() and recon.max() <= 1
    binary = zoo.reconstruct(model, x[:6], labels, mode="mode")
    assert set(np.unique(binary)) <= {0.0, 1.0}


@pytest.mark.parametrize("name", GENERATIVE)
def test_sample_is_seeded(name, digits):
    model = zoo.get(name, **small_hparams(name))
    labels = np.arange(5) if model.is_conditional else None
    first = zoo.sample(model, 5, labels=labels, seed=3)
    assert first.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(first, zoo.sample(model, 5, labels=labels, seed=3))


def test_autoencoder_is_not_generative():
    with pytest.raises(ValueError, match="not generative"):
        zoo.sample(zoo.get("autoencoder"), 4)


def test_conditional_model_needs_labels_and_accepts_one_hot(digits):
    x, y = digits
    model = zoo.get("cvae", **small_hparams("cvae"))
    with pytest.raises(ValueError, match="labels="):
        zoo.encode(model, x[:4])
    by_int = zoo.encode(model, x[:4], y[:4]).mean().numpy()
    by_one_hot = zoo.encode(model, x[:4], np.eye(10)[y[:4]]).mean().numpy()
    np.testing.assert_array_equal(by_int, by_one_hot)
    assert model_inputs(model, x, y)[1] is y
