"""vamp_vae: the VampPrior is the mixture of the encoder's posteriors at the pseudo-inputs, its KL is the
Monte-Carlo estimate, the pseudo-inputs train, and the prior survives saving. (Building, fitting, sampling,
evaluating and saving as every model does: the registry-parametrized tests.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import special, stats

import zoo
from zoo import layers as zl
from zoo._tf import tf
from zoo.model import layers_of_type

HPARAMS = {"latent_dim": 2, "hidden_units": (64,), "pseudo_inputs": 6, "beta": 0.5, "kl_test_points": 200}


@pytest.fixture(scope="module")
def fitted(digits):
    """A small vamp_vae, its pseudo-input weights before training, and the History of 3 epochs on 512 digits.
    The pseudo-inputs start at six other digits, so that the prior has distinct components; the many KL test
    points make the KL layer's estimate precise enough to check."""
    zoo.keras.utils.set_random_seed(0)
    model = zoo.get("vamp_vae", **HPARAMS)
    layer = _vamp_layer(model)
    layer.pseudo_input_weights.assign(special.logit(np.clip(digits[0][-6:], 0.1, 0.9)))
    before = layer.pseudo_input_weights.numpy().copy()
    history = model.fit(digits[0], digits[0], epochs=3, batch_size=64, verbose=0)
    return model, before, history


def _vamp_layer(model: zoo.ZooModel) -> zl.VampKLDivergence:
    (layer,) = layers_of_type(model, zl.VampKLDivergence)
    return layer


def _independent_log_prior(model: zoo.ZooModel, z: np.ndarray) -> np.ndarray:
    """log p(z) [M] for z [M, D]: the pseudo-inputs u_k = sigmoid(weights) encoded through the public
    `zoo.encode`, each posterior's Gaussian density by scipy, log (1/K) sum_k q(z|u_k)."""
    u = special.expit(_vamp_layer(model).pseudo_input_weights.numpy())
    posteriors = zoo.encode(model, u)
    means, covariances = posteriors.mean().numpy(), posteriors.covariance().numpy()
    log_q = [stats.multivariate_normal(m, c).logpdf(z) for m, c in zip(means, covariances, strict=True)]
    return special.logsumexp(np.stack(log_q), axis=0) - np.log(len(u))


@pytest.mark.slow  # it pays for the `fitted` fixture (about 6 s of CPU)
def test_training_lowers_the_loss_and_moves_the_pseudo_inputs(fitted):
    model, before, history = fitted
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 20, losses
    moved = np.abs(_vamp_layer(model).pseudo_input_weights.numpy() - before)
    assert moved.max() > 1e-2 and np.mean(moved > 1e-3) > 0.5  # most pixels of the pseudo-inputs are trained


def test_the_prior_is_the_mixture_of_the_pseudo_inputs_posteriors(fitted):
    model, _, _ = fitted
    z = np.random.default_rng(0).normal(scale=2.0, size=(50, 2)).astype(np.float32)
    log_prior = zoo.inference.prior(model).log_prob(z).numpy()
    np.testing.assert_allclose(log_prior, _independent_log_prior(model, z), rtol=1e-4, atol=1e-4)
    # a mixture of distinct posteriors, not one Gaussian: the components' means differ
    u = _vamp_layer(model).pseudo_input_values()
    assert np.ptp(zoo.encode(model, u.numpy()).mean().numpy(), axis=0).max() > 0.5


def test_the_kl_loss_is_beta_times_the_monte_carlo_kl(fitted, digits):
    """The layer's loss (200 draws per example) against an independent estimate: 4,000 draws per example,
    log q(z|x) - log p(z) with the prior by `_independent_log_prior`; within four standard errors."""
    model, _, _ = fitted
    x = digits[0][:16]
    model.encoder(x)
    (loss,) = model.encoder.losses
    posterior = zoo.encode(model, x)
    z = posterior.sample(4000, seed=tf.constant([1, 2])).numpy()  # [4000, 16, 2]
    log_ratio = posterior.log_prob(z).numpy() - _independent_log_prior(model, z.reshape(-1, 2)).reshape(
        4000, 16
    )
    batch_means = log_ratio.mean(axis=1)  # [4000]: the KL averaged over the batch, per draw
    kl = batch_means.mean()
    standard_error = batch_means.std() * np.sqrt(1 / 4000 + 1 / 200)
    assert kl > 0.5  # a real KL to check, not one near zero
    assert abs(loss.numpy() / 0.5 - kl) < 4 * standard_error, (loss.numpy() / 0.5, kl, standard_error)


def test_the_prior_saves_and_loads(fitted, tmp_path):
    model, _, _ = fitted
    model.save(tmp_path / "vamp.keras")
    again = zoo.load(tmp_path / "vamp.keras")
    z = np.random.default_rng(1).normal(size=(20, 2)).astype(np.float32)
    np.testing.assert_allclose(
        zoo.inference.prior(again).log_prob(z).numpy(),
        zoo.inference.prior(model).log_prob(z).numpy(),
        atol=1e-6,
    )
    plain = json.loads(json.dumps(_vamp_layer(model).get_config()))  # plain values only: JSON
    assert plain == json.loads(json.dumps(_vamp_layer(again).get_config()))
    np.testing.assert_array_equal(zoo.sample(again, 4, seed=3), zoo.sample(model, 4, seed=3))
