"""What is special about `hvae`, the two-stochastic-layer VAE: its densities over the code [z1, z2], checked
against numpy computations from the layers' weights; the KL it adds and the IWAE bound over both layers;
each level's KL reported; the two-layer IWAE. (Build, fit, save/load, sample, evaluate: the registry tests.)"""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo import inference
from zoo import layers as zl
from zoo._tf import tf

D1, D2 = 3, 2  # the levels of the model built here: latent_dim = 5, top_latent_dim = 2


@pytest.fixture(scope="module")
def model() -> zoo.ZooModel:
    """An untrained hvae with z1 of 3 and z2 of 2 entries (random weights: the densities hold for any)."""
    zoo.keras.utils.set_random_seed(1)
    return zoo.get(
        "hvae", latent_dim=D1 + D2, top_latent_dim=D2, hidden_units=(32,), top_hidden_units=(16,), beta=0.5
    )


def _mlp(layers, inputs: np.ndarray) -> np.ndarray:
    """Dense layers (ReLU or linear) applied in numpy from their weights."""
    out = np.asarray(inputs, np.float64)
    for layer in layers:
        kernel, bias = layer.get_weights()
        out = out @ kernel + bias
        if layer.get_config()["activation"] == "relu":
            out = np.maximum(out, 0.0)
    return out


def _log_normal(z: np.ndarray, params: np.ndarray) -> np.ndarray:
    """log N(z; loc, diag(scale^2)) summed over the last axis; params = [loc, pre-softplus scale]."""
    size = z.shape[-1]
    loc, scale = params[..., :size], np.logaddexp(0.0, params[..., size:]) + 1e-5
    return np.sum(-0.5 * ((z - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi), axis=-1)


def _log_q_levels(model: zoo.ZooModel, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log q(z1|x), log q(z2|z1)) [..., N] in numpy: the encoder's MLP, then the posterior's network."""
    dense = [layer for layer in model.encoder.layers if isinstance(layer, zoo.keras.layers.Dense)]
    params = _mlp(dense, x.reshape(len(x), -1))  # [N, 2 * D1]
    top_params = _mlp(model.encoder.get_layer("posterior").top_network, z[..., :D1])
    return _log_normal(z[..., :D1], params), _log_normal(z[..., D1:], top_params)


def _log_p_levels(model: zoo.ZooModel, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log p(z1|z2), log p(z2)) [...] in numpy: the KL layer's network, and the standard normal."""
    bottom_params = _mlp(model.encoder.get_layer("kl_divergence").bottom_network, z[..., D1:])
    top = np.sum(-0.5 * z[..., D1:] ** 2 - 0.5 * np.log(2 * np.pi), axis=-1)
    return _log_normal(z[..., :D1], bottom_params), top


def test_the_posterior_and_the_prior_are_the_two_chains(model, digits):
    x = digits[0][:8]
    posterior, prior = zoo.encode(model, x), inference.prior(model)
    assert posterior.batch_shape == [8] and posterior.event_shape == [D1 + D2] and prior.event_shape == [5]
    z = posterior.sample(4, seed=0).numpy()  # [4, 8, 5]
    q_levels, p_levels = _log_q_levels(model, x, z), _log_p_levels(model, z)
    np.testing.assert_allclose(posterior.log_prob(z), sum(q_levels), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(prior.log_prob(z), sum(p_levels), rtol=1e-5, atol=1e-4)
    for computed, expected in zip(
        posterior.log_prob_levels(z) + prior.log_prob_levels(z), q_levels + p_levels, strict=True
    ):
        np.testing.assert_allclose(computed, expected, rtol=1e-5, atol=1e-4)


def test_draws_are_ancestral_z1_then_z2_given_z1(model, digits):
    """q: z1 ~ q(z1|x), then z2 ~ q(z2|z1) at that z1; p: z2 ~ N(0, I), then z1 ~ p(z1|z2) at that z2. Each
    level, standardized by its conditional's loc and scale at the draw it depends on, is N(0, 1)."""
    n = 4000
    z_q = zoo.encode(model, digits[0][:1]).sample(n, seed=1).numpy()[:, 0]  # [n, 5]
    z_p = inference.prior(model).sample(n, seed=2).numpy()
    top_params = _mlp(model.encoder.get_layer("posterior").top_network, z_q[:, :D1])
    bottom_params = _mlp(model.encoder.get_layer("kl_divergence").bottom_network, z_p[:, D1:])
    for z, params in [(z_q[:, D1:], top_params), (z_p[:, :D1], bottom_params)]:
        standard = (z - params[:, : z.shape[1]]) / (np.logaddexp(0.0, params[:, z.shape[1] :]) + 1e-5)
        np.testing.assert_allclose(standard.mean(axis=0), 0.0, atol=0.07)  # 4.4 standard errors
        np.testing.assert_allclose(standard.std(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose(z_p[:, D1:].mean(axis=0), 0.0, atol=0.07)
    np.testing.assert_allclose(z_p[:, D1:].std(axis=0), 1.0, atol=0.05)


def test_the_kl_term_is_the_monte_carlo_estimate_and_its_levels(model, digits):
    """The KL layer adds beta * mean over the batch of log q(z) - log p(z) at its draw z ~ q, and reports
    each level's part; its draw is the first after the seed, so the same seed gives the same z here."""
    x = digits[0][:16]
    layer = model.encoder.get_layer("kl_divergence")
    posterior = zoo.encode(model, x)
    for metric in layer.metrics:
        metric.reset_state()
    tf.random.set_seed(5)
    layer(posterior)
    tf.random.set_seed(5)
    z = posterior.sample(1).numpy()
    q_levels, p_levels = _log_q_levels(model, x, z), _log_p_levels(model, z)
    kl_z1, kl_z2 = (np.mean(q - p) for q, p in zip(q_levels, p_levels, strict=True))
    np.testing.assert_allclose(float(layer.losses[-1]), 0.5 * (kl_z1 + kl_z2), rtol=1e-4)
    reported = {metric.name: float(metric.result()) for metric in layer.metrics}
    np.testing.assert_allclose([reported["kl_z1"], reported["kl_z2"]], [kl_z1, kl_z2], rtol=1e-4, atol=1e-4)


def test_the_loss_is_reconstruction_plus_beta_times_the_kl_layers_estimate(model, digits):
    x = digits[0][:64]
    model.run_eagerly = True  # the same random draws as the eager computation below
    tf.random.set_seed(7)
    loss = model.evaluate(x, x, batch_size=64, verbose=0, return_dict=True)
    model.run_eagerly = False
    tf.random.set_seed(7)
    posterior = model.encoder(x)  # draws z for the decoder, then the KL layer's z
    expected = -tf.reduce_mean(model.decoder(posterior).log_prob(x)) + model.encoder.losses[-1]
    np.testing.assert_allclose(loss["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(loss["kl"], loss["kl_z1"] + loss["kl_z2"], rtol=1e-5)


def test_the_iwae_bound_weighs_both_layers(model, digits):
    """zoo.evaluate's bound is log mean_i p(x|z1_i) p(z1_i|z2_i) p(z2_i) / (q(z1_i|x) q(z2_i|z1_i)), the
    densities computed in numpy here; with k = 1 the bound and the ELBO coincide."""
    x, k = digits[0][:6], 20
    posterior = zoo.encode(model, x)
    log_likelihood = zoo.evaluation._log_likelihood_fn(model, tf.constant(x), None)
    terms = zoo.evaluation.bound(posterior, log_likelihood, inference.prior(model), k, 32, seed=3)
    z = posterior.sample(k, seed=inference.stateless_seeds(3, 1)[0]).numpy()  # the bound's own draws
    log_weights = (
        log_likelihood(tf.constant(z)).numpy()
        + sum(_log_p_levels(model, z))
        - sum(_log_q_levels(model, x, z))
    )
    expected = np.logaddexp.reduce(log_weights, axis=0) - np.log(k)
    np.testing.assert_allclose(terms["log_px"], expected, rtol=1e-5)
    one = zoo.evaluate(model, x, k=1, verbose=0)
    np.testing.assert_allclose(one["nll_iwae_1"], one["neg_elbo"], rtol=1e-6)


def test_both_levels_carry_information_after_training(trained):
    history = trained.history("hvae").history  # 3 epochs of the shared small hvae: z1 and z2 of 1 entry
    np.testing.assert_allclose(np.add(history["kl_z1"], history["kl_z2"]), history["kl"], rtol=1e-4)
    assert history["kl_z1"][-1] > 1.0 and history["kl_z2"][-1] > 1.0, history


@pytest.mark.slow
def test_the_two_layer_iwae_trains_on_the_bound_and_reports_the_levels(digits, tmp_path):
    x = digits[0]
    model = zoo.get("hvae", latent_dim=3, hidden_units=(64,), top_hidden_units=(16,), importance_samples=4)
    assert zoo.model.layers_of_type(model, zl.HierarchicalImportanceWeighted)
    history = model.fit(x, x, epochs=3, batch_size=64, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 20 and {"kl_z1", "kl_z2"} <= set(history), history
    model.save(tmp_path / "hvae.keras")
    again = zoo.load(tmp_path / "hvae.keras")
    before, after = (zoo.evaluate(m, x[:50], k=8, verbose=0)["nll_iwae_8"] for m in (model, again))
    assert before == pytest.approx(after, rel=1e-5)


def test_bad_level_sizes_and_beta_for_the_bound_are_named():
    with pytest.raises(ValueError, match="top_latent_dim .* must be at least 1 and below it"):
        zoo.get("hvae", latent_dim=4, top_latent_dim=4)
    with pytest.raises(ValueError, match="no KL term to weigh: leave beta at 1.0"):
        zoo.get("hvae", latent_dim=4, importance_samples=5, beta=2.0)
    assert zl.level_sizes(150) == (100, 50) and zl.level_sizes(2) == (1, 1)
