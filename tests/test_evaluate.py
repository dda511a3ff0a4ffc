"""Evaluation: the IWAE bound against an exact likelihood, then `evaluate` on every registered model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import zoo
from zoo import inference
from zoo import layers as zl
from zoo._tf import keras, tf, tfd, tfp
from zoo.evaluation import active_units, bound, evaluate, mutual_information
from zoo.model import ZooModel, layers_of_type

# ---- a linear-Gaussian model, whose marginal likelihood and posterior are known exactly ------------------
# p(z) = N(0, I_2), p(x|z) = N(W z + b, sigma^2 I_5)  =>  p(x) = N(b, W W^T + sigma^2 I), and
# p(z|x) = N(S W^T (x - b) / sigma^2, S) with S = (I + W^T W / sigma^2)^-1.
LATENT, OBSERVED, SIGMA, EXAMPLES = 2, 5, 0.5, 1000


class LinearGaussian:
    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(size=(OBSERVED, LATENT)).astype(np.float32)
        self.b = rng.normal(size=OBSERVED).astype(np.float32)
        self.prior = zl.standard_normal(LATENT)
        covariance = self.w @ self.w.T + SIGMA**2 * np.eye(OBSERVED, dtype=np.float32)
        marginal = tfd.MultivariateNormalTriL(self.b, np.linalg.cholesky(covariance))
        self.x = marginal.sample(EXAMPLES, seed=tf.constant([1, 2]))  # [EXAMPLES, OBSERVED]
        self.log_px = marginal.log_prob(self.x).numpy().astype(np.float64)  # exact, [EXAMPLES]
        s = np.linalg.inv(np.eye(LATENT) + self.w.T @ self.w / SIGMA**2).astype(np.float32)
        self.posterior_loc = ((self.x - self.b) @ self.w / SIGMA**2) @ s
        self.posterior_cov = s

    def true_posterior(self) -> tfd.Distribution:
        return tfd.MultivariateNormalTriL(self.posterior_loc, np.linalg.cholesky(self.posterior_cov))

    def poor_posterior(self) -> tfd.Distribution:
        """Shifted by half a standard deviation, 1.5x too wide, and blind to the posterior correlation."""
        sd = np.sqrt(np.diag(self.posterior_cov))
        return tfd.MultivariateNormalDiag(self.posterior_loc + 0.5 * sd, 1.5 * sd)

    def log_likelihood(self, z: tf.Tensor) -> tf.Tensor:
        """z [S, B, LATENT] -> log p(x|z) [S, B]."""
        loc = tf.linalg.matvec(self.w, z) + self.b
        return tfd.MultivariateNormalDiag(loc, SIGMA * tf.ones(OBSERVED)).log_prob(self.x)


@pytest.fixture(scope="module")
def linear_gaussian() -> LinearGaussian:
    return LinearGaussian()


def test_bound_is_exact_with_the_true_posterior(linear_gaussian):
    # With q = p(z|x) every importance weight equals p(x): the bound is exact for any k, even k = 1.
    lg = linear_gaussian
    terms = bound(lg.true_posterior(), lg.log_likelihood, lg.prior, k=1, seed=0)
    np.testing.assert_allclose(terms["log_px"], lg.log_px, atol=1e-4)


def test_iwae_bound_converges_to_the_exact_likelihood_from_below(linear_gaussian):
    lg = linear_gaussian
    gaps = {}
    for k in (1, 10, 100, 1000):
        terms = bound(lg.poor_posterior(), lg.log_likelihood, lg.prior, k=k, sample_batch_size=128, seed=0)
        gaps[k] = float(np.mean(terms["log_px"] - lg.log_px))
    # measured (seed 0): {1: -2.54, 10: -0.054, 100: -0.0078, 1000: -0.0015}; KL(q || p(z|x)) = 2.57
    assert all(gap <= 0.01 for gap in gaps.values()), gaps  # never above log p(x), up to Monte-Carlo noise
    assert gaps[1] < -1.0, gaps  # the poor q leaves a real gap at k = 1 ...
    assert abs(gaps[1000]) < 0.01, gaps  # ... that k = 1000 closes
    values = list(gaps.values())
    assert all(later > earlier - 0.005 for earlier, later in zip(values, values[1:], strict=False)), gaps


def test_distortion_plus_rate_is_the_elbo(linear_gaussian):
    # E_q[log p(x|z)] - KL(q || p(z)) = log p(x) - KL(q || p(z|x)), both sides known in closed form but one.
    lg = linear_gaussian
    q = lg.poor_posterior()
    terms = bound(q, lg.log_likelihood, lg.prior, k=1000, sample_batch_size=250, seed=0)
    elbo = -(terms["distortion"] + terms["rate"])
    expected = lg.log_px - tfd.kl_divergence(q, lg.true_posterior()).numpy()
    assert abs(np.mean(elbo - expected)) < 0.01
    np.testing.assert_allclose(terms["rate"], tfd.kl_divergence(q, lg.prior).numpy(), rtol=1e-6)


def test_bound_agrees_with_tfp_importance_weighted_loss(linear_gaussian):
    lg = linear_gaussian
    q = lg.poor_posterior()
    ours = bound(q, lg.log_likelihood, lg.prior, k=10, seed=0)["log_px"]
    loss = tfp.vi.monte_carlo_variational_loss(
        lambda z: lg.log_likelihood(z) + lg.prior.log_prob(z), q, importance_sample_size=10, seed=(3, 4)
    )
    assert abs(np.mean(ours) - np.mean(-loss.numpy())) < 0.03  # two estimates of the same expectation


def test_rate_falls_back_to_monte_carlo_without_a_closed_form(linear_gaussian):
    lg = linear_gaussian
    q = lg.true_posterior()  # MultivariateNormalTriL -> Independent(Normal): no KL registered in TFP
    prior = tfd.Independent(tfd.Normal(tf.zeros(LATENT), 1.0), reinterpreted_batch_ndims=1)
    with pytest.raises(NotImplementedError):
        tfd.kl_divergence(q, prior)
    rate = bound(q, lg.log_likelihood, prior, k=500, sample_batch_size=500, seed=0)["rate"]
    assert abs(np.mean(rate) - np.mean(tfd.kl_divergence(q, lg.prior).numpy())) < 0.01


def test_bound_is_stable_for_large_negative_log_weights(linear_gaussian):
    # Digit likelihoods are around -100 nats: exp() of them underflows, a log-sum-exp does not.
    lg = linear_gaussian
    q = lg.poor_posterior()
    plain = bound(q, lg.log_likelihood, lg.prior, k=50, sample_batch_size=7, seed=0)["log_px"]
    shifted = bound(q, lambda z: lg.log_likelihood(z) - 1e4, lg.prior, k=50, sample_batch_size=7, seed=0)
    assert np.isfinite(shifted["log_px"]).all()
    np.testing.assert_allclose(shifted["log_px"] + 1e4, plain, atol=1e-2)


def test_bound_is_seeded_and_checks_its_arguments(linear_gaussian):
    lg = linear_gaussian
    q = lg.poor_posterior()
    first = bound(q, lg.log_likelihood, lg.prior, k=20, sample_batch_size=8, seed=5)
    np.testing.assert_array_equal(first["log_px"], bound(q, lg.log_likelihood, lg.prior, 20, 8, 5)["log_px"])
    assert not np.array_equal(first["log_px"], bound(q, lg.log_likelihood, lg.prior, 20, 8, 6)["log_px"])
    for bad in ({"k": 0}, {"k": 2.5}, {"k": 2, "sample_batch_size": 0}):
        name = "sample_batch_size" if "sample_batch_size" in bad else "k"
        with pytest.raises(ValueError, match=name):
            bound(q, lg.log_likelihood, lg.prior, **bad)


# ---- evaluate() on the registered models -------------------------------------------------------------


@pytest.mark.parametrize("name", zoo.list_models())
def test_evaluate_every_model(name, digits, trained):
    model = trained(name)
    x, y = digits
    x, y = x[:24], y[:24]
    labels = model.labels_or_none(y)
    results = evaluate(model, x, labels, k=8, batch_size=16, sample_batch_size=4, seed=1)
    assert all(np.isfinite(value) for value in results.values()), results
    if not model.has_latent_code:  # p(x) is exact: nothing to bound, no code to count
        assert set(results) == {"nll", "neg_elbo"} and results["neg_elbo"] == results["nll"]
        exact = -np.mean(model(model.inputs_for(x, y)).log_prob(x).numpy())
        assert results["nll"] == pytest.approx(exact, rel=1e-6)
        return
    means = zoo.encode(model, x, labels).mean().numpy()
    assert results["active_units"] == active_units(means) and isinstance(results["active_units"], int)
    if not model.has_prior:
        assert set(results) == {"distortion", "active_units"}
        return
    assert set(results) == {
        "neg_elbo",
        "distortion",
        "rate",
        "nll_iwae_8",
        "active_units",
        "mutual_information",
    }
    assert results["neg_elbo"] == pytest.approx(results["distortion"] + results["rate"])
    assert results["nll_iwae_8"] <= results["neg_elbo"] + 1.0, results
    assert -0.5 < results["mutual_information"] < math.log(16) + 0.5, (
        results
    )  # batches of 16: about log 16 at most


def test_active_units_counts_dimensions_whose_mean_varies():
    rng = np.random.default_rng(0)
    stddevs = np.array([0.0, 0.05, 0.2, 1.0])  # variances 0, 0.0025, 0.04, 1: the last two are active
    means = rng.normal(size=(5000, 4)) * stddevs + np.array([3.0, -1.0, 0.0, 0.0])
    assert active_units(means) == 2
    assert active_units(means, threshold=0.001) == 3


def test_evaluate_matches_training_kl_and_the_keras_loss(digits, trained):
    model = trained("dense_vae")
    x, _ = digits
    x = x[:100]
    results = evaluate(model, x, k=50, seed=0)
    kl_layer = layers_of_type(model, zl.KLDivergence)[0]
    assert results["rate"] == pytest.approx(np.mean(kl_layer.kl_per_example(zoo.encode(model, x))), rel=1e-5)
    keras_loss = model.evaluate(x, x, batch_size=len(x), verbose=0)[0]  # a one-sample estimate of -ELBO
    assert results["neg_elbo"] == pytest.approx(keras_loss, rel=0.02)
    assert results["nll_iwae_50"] < results["neg_elbo"]


def test_autoencoder_gets_distortion_only(digits, trained):
    model = trained("autoencoder")
    x, _ = digits
    results = evaluate(model, x[:40], k=50, batch_size=16)
    likelihood = zoo.decode(model, zoo.encode(model, x[:40]).mean())
    assert results["distortion"] == pytest.approx(-np.mean(likelihood.log_prob(x[:40]).numpy()), rel=1e-6)
    assert set(results) == {"distortion", "active_units"}


def test_evaluate_is_seeded_and_a_conditional_model_needs_labels(digits, trained):
    model = trained("cvae")
    x, y = digits
    with pytest.raises(ValueError, match="labels="):
        evaluate(model, x[:8], k=2)
    by_int = evaluate(model, x[:8], y[:8], k=4, seed=0)
    # the same seed gives the same numbers, from a tensor and one-hot labels too
    assert by_int == evaluate(model, tf.constant(x[:8]), np.eye(10)[y[:8]], k=4, seed=0)
    assert by_int["nll_iwae_4"] != evaluate(model, x[:8], y[:8], k=4, seed=1)["nll_iwae_4"]


def test_evaluate_rejects_bad_arguments(digits, trained):
    model = trained("dense_vae")
    x, _ = digits
    for kwargs, message in [
        ({"k": 0}, "k must be a positive integer; got 0"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"sample_batch_size": -1}, "sample_batch_size must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            evaluate(model, x[:4], **kwargs)
    with pytest.raises(ValueError, match="binary"):
        evaluate(model, x[:4] * 0.5)
    with pytest.raises(ValueError, match="shape"):
        evaluate(model, x[:4, :14])
    with pytest.raises(ValueError, match="not conditional"):
        evaluate(model, x[:4], labels=[1, 2, 3, 4])
    grey = zoo.get("dense_vae", likelihood="continuous_bernoulli", latent_dim=2, hidden_units=(16,))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):  # a density on [0, 1]: 255 is out of its support
        evaluate(grey, x[:4] * 255)


def test_exact_likelihood_of_a_model_without_latent_code(digits):
    # A test double whose output p(x) makes every pixel a fair coin: log p(x) = -784 log 2 for any image.
    image = keras.Input((28, 28, 1))
    coins = ZooModel(image, zl.IndependentBernoulli((28, 28, 1))(keras.layers.Lambda(tf.zeros_like)(image)))
    assert not coins.has_latent_code
    x, _ = digits
    expected = 784 * math.log(2)
    assert evaluate(coins, x[:10], batch_size=4) == pytest.approx({"nll": expected, "neg_elbo": expected})


def test_evaluate_shows_its_progress_unless_told_not_to(digits, trained, capsys):
    model = trained("dense_vae")
    evaluate(model, digits[0][:8], k=2, batch_size=4)
    assert "8/8" in capsys.readouterr().out
    evaluate(model, digits[0][:8], k=2, verbose=0)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="verbose must be one of"):
        evaluate(model, digits[0][:8], verbose=2)


# ---- the mutual information I_q(x; z) (He et al. 2019) ----------------------------------------------------


def _linear_gaussian_posteriors(n: int, d: int, gain: float) -> np.ndarray:
    """Means gain * x [n, d] of q(z|x) = N(gain * x, I) for x ~ N(0, I): then q(z) = N(0, (1 + gain^2) I)
    and I(x; z) = d/2 log(1 + gain^2) exactly."""
    return gain * np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)


def test_mutual_information_estimates_a_known_information():
    n, d, gain = 2000, 2, 1.0
    loc = _linear_gaussian_posteriors(n, d, gain)
    exact = d / 2 * math.log(1 + gain**2)  # 0.693 nats
    ones = np.ones((n, d), np.float32)
    diag = tfd.MultivariateNormalDiag(loc, ones)
    full = tfd.MultivariateNormalTriL(loc, np.tile(np.eye(d, dtype=np.float32), (n, 1, 1)))
    in_parts = tfd.BatchConcat([diag[:700], diag[700:]], axis=0)  # what zoo.encode returns for large inputs
    # the generic path (N^2 TFP log-densities: fewer examples)
    no_closed_form = tfd.Independent(tfd.Normal(loc[:500], ones[:500]), reinterpreted_batch_ndims=1)
    estimates = [mutual_information(q, seed=0) for q in (diag, full, in_parts, no_closed_form)]
    # measured (seed 0): 0.685 for the three Gaussians, 0.698 by the generic path (500 examples)
    assert all(abs(estimate - exact) < 0.05 for estimate in estimates), estimates
    assert estimates[0] == pytest.approx(estimates[1], abs=1e-6)  # the same samples, the same numbers


def test_mutual_information_is_zero_when_q_ignores_x():
    same = tfd.MultivariateNormalDiag(tf.fill([1000, 3], 0.3), tf.fill([1000, 3], 0.5))
    assert abs(mutual_information(same, seed=0)) < 0.02
    assert mutual_information(same, seed=0) == mutual_information(same, seed=0)  # seeded


def test_mutual_information_saturates_at_log_n():
    # Posteriors that do not overlap: q(z_i) = q(z_i|x_i) / N, so the estimate is log N whatever the truth.
    n = 200
    apart = tfd.MultivariateNormalDiag(
        100.0 * np.arange(n, dtype=np.float32)[:, None] * [1.0, 0.0], [1.0, 1.0]
    )
    assert mutual_information(apart, seed=0) == pytest.approx(math.log(n), abs=0.15)


def test_mutual_information_matches_a_hand_computation():
    # Four fixed Gaussian posteriors, two with correlated coordinates: every density by scipy.
    loc = np.array([[0.0, 0.0], [1.0, -0.5], [-1.0, 2.0], [0.5, 0.5]], np.float32)
    tril = np.array(
        [[[1.0, 0], [0, 0.5]], [[0.8, 0], [0.3, 0.6]], [[0.4, 0], [-0.2, 1.2]], [[1.5, 0], [0, 1.5]]]
    )
    posterior = tfd.MultivariateNormalTriL(loc, tril.astype(np.float32))
    z = posterior.sample(seed=inference.stateless_seeds(7, 1)[0]).numpy()  # the samples the estimator draws
    gaussians = [stats.multivariate_normal(m, s @ s.T) for m, s in zip(loc, tril, strict=True)]
    log_q = np.array([[q_j.logpdf(z_i) for q_j in gaussians] for z_i in z])  # [i, j]: log q(z_i | x_j)
    neg_entropy = -np.mean([q_j.entropy() for q_j in gaussians])
    expected = neg_entropy - np.mean(special.logsumexp(log_q, axis=1) - math.log(4))
    assert mutual_information(posterior, seed=7) == pytest.approx(expected, abs=1e-5)


def test_evaluate_reports_the_mutual_information_of_each_batch(digits, trained):
    model = trained("dense_vae")
    x = digits[0][:60]
    results = evaluate(model, x, k=2, batch_size=50, verbose=0, seed=3)  # batches of 50 and 10
    first, second = inference.stateless_seeds(tf.constant([3, 1]), 2)  # the estimator's own seed stream
    parts = (
        mutual_information(zoo.encode(model, x[:50]), first),
        mutual_information(zoo.encode(model, x[50:]), second),
    )
    assert results["mutual_information"] == pytest.approx((50 * parts[0] + 10 * parts[1]) / 60, rel=1e-6)
    assert "mutual_information" not in evaluate(trained("autoencoder"), x, verbose=0)  # no density q(z|x)
