"""The mixture-of-Bernoullis baseline: exact likelihood, trained by fit, sampled, no latent code."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo import layers as zl
from zoo.model import layers_of_type


def test_loss_is_the_exact_negative_log_likelihood(digits, trained):
    model = trained("bernoulli_mixture")
    x, _ = digits
    (layer,) = layers_of_type(model, zl.BernoulliMixture)
    logits = layer.pixel_logits.numpy().reshape(zoo.defaults("bernoulli_mixture")["components"], -1)
    log_pi = layer.mixture_logits.numpy() - np.logaddexp.reduce(layer.mixture_logits.numpy())
    pixels = x[:64].reshape(64, 1, -1)
    log_px_k = np.sum(pixels * -np.logaddexp(0, -logits) + (1 - pixels) * -np.logaddexp(0, logits), axis=-1)
    exact = -np.mean(np.logaddexp.reduce(log_pi + log_px_k, axis=1))
    np.testing.assert_allclose(model.evaluate(x[:64], x[:64], batch_size=64, verbose=0), exact, rtol=1e-5)


def test_has_no_latent_code(digits, trained):
    model = trained("bernoulli_mixture")
    assert not model.has_latent_code
    with pytest.raises(ValueError, match="no encoder"):
        _ = model.encoder
    with pytest.raises(ValueError, match="binarize"):
        model.fit(digits[0] * 0.5, digits[0] * 0.5, verbose=0)
