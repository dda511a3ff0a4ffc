"""The zoo's probabilistic layers: the KL that reaches model.losses, configs, and the stock defects."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zoo import layers as zl
from zoo._tf import keras, tf, tfd, tfpl
from zoo.layers import corruption
from zoo.layers.base import inferring_output_shape

LATENT = 3


def _posterior_model(kl_layer: keras.layers.Layer, features: int = 5) -> keras.Sequential:
    """[N, features] -> q(z|x) (full covariance) -> kl_layer, with fixed random weights."""
    return keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(zl.MultivariateNormalTriL.params_size(LATENT)),
            zl.MultivariateNormalTriL(LATENT),
            kl_layer,
        ]
    )


def _independent_kl(model: keras.Sequential, h: np.ndarray) -> np.ndarray:
    """KL(q(z|x) || N(0, I)) per example, computed with TFP directly from the Dense layer's output."""
    params = model.layers[0](h)
    q = zl.MultivariateNormalTriL.new(params, LATENT)
    return tfd.kl_divergence(q, tfd.MultivariateNormalDiag(tf.zeros(LATENT))).numpy()


@pytest.fixture
def features() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(256, 5)).astype(np.float32)


@pytest.mark.parametrize("beta", [1.0, 0.25, 3.0])
def test_kl_loss_is_beta_times_batch_mean_of_exact_kl(features, beta):
    model = _posterior_model(zl.KLDivergence(beta=beta))
    model(features)
    assert len(model.losses) == 1  # once, not twice
    expected = beta * _independent_kl(model, features).mean()
    np.testing.assert_allclose(model.losses[0].numpy(), expected, rtol=1e-5)


def test_kl_loss_does_not_depend_on_batch_size(features):
    model = _posterior_model(zl.KLDivergence())
    model.compile(loss=lambda y, q: tf.zeros_like(q)[..., 0])  # only the KL term is left
    target = np.zeros((len(features), LATENT), np.float32)
    small = model.evaluate(features, target, batch_size=32, verbose=0)
    large = model.evaluate(features, target, batch_size=256, verbose=0)
    np.testing.assert_allclose(small[0], large[0], rtol=1e-5)
    np.testing.assert_allclose(large[0], _independent_kl(model, features).mean(), rtol=1e-5)


def test_monte_carlo_kl_agrees_with_exact_kl_within_standard_errors(features):
    exact_model = _posterior_model(zl.KLDivergence(estimator="exact"))
    exact_model(features)
    mc_layer = zl.KLDivergence(estimator="mc", test_points=4000)
    mc_layer.build((None, LATENT))
    tf.random.set_seed(1)
    q = exact_model.layers[1](exact_model.layers[0](features))
    z = q.sample(4000)
    log_ratio = (q.log_prob(z) - mc_layer.prior().log_prob(z)).numpy().mean(axis=1)  # [4000] batch means
    exact = exact_model.losses[0].numpy()
    mc = tf.reduce_mean(mc_layer.kl_per_example(q)).numpy()
    standard_error = log_ratio.std() / np.sqrt(len(log_ratio))
    assert abs(mc - exact) < 4 * standard_error, (mc, exact, standard_error)


def test_beta_is_not_trained_and_can_be_assigned(features):
    model = _posterior_model(zl.KLDivergence(beta=0.5))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=lambda y, q: -q.log_prob(y))
    model.fit(features, np.zeros((256, LATENT), np.float32), epochs=2, verbose=0)
    kl_layer = model.layers[-1]
    assert all(w is not kl_layer.beta for w in model.trainable_weights)
    assert any(w is kl_layer.beta for w in model.non_trainable_weights)
    assert kl_layer.beta.numpy() == pytest.approx(0.5)
    kl_layer.beta.assign(2.0)
    model(features)
    np.testing.assert_allclose(
        model.losses[0].numpy(), 2.0 * _independent_kl(model, features).mean(), rtol=1e-5
    )


@pytest.mark.parametrize(
    "layer",
    [
        zl.MultivariateNormalTriL(4, convert_to_tensor_fn="mean"),
        zl.IndependentBernoulli((28, 28, 1)),
        zl.KLDivergence(
            beta=0.5, estimator="mc", test_points=3, prior="mixture", components=3, free_bits=0.5
        ),
        zl.MultivariateNormalDiag(4),
        zl.IndependentNormal((28, 28, 1), scale=0.1),
        zl.IndependentContinuousBernoulli((28, 28, 1), convert_to_tensor_fn="sample"),
        zl.Corruption("mask", 0.25),
        zl.OneHot(10),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_layer_config_is_plain_json_and_round_trips(layer):
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config  # no pickled functions, only plain values
    again = type(layer).from_config(config)
    assert again.get_config() == config


def test_bernoulli_layer_shapes_and_values():
    logits = np.random.default_rng(0).normal(size=(4, 12)).astype(np.float32)
    distribution = zl.IndependentBernoulli((3, 4, 1))(logits)
    assert distribution.batch_shape == [4] and distribution.event_shape == [3, 4, 1]
    expected = 1 / (1 + np.exp(-logits.reshape(4, 3, 4, 1)))
    np.testing.assert_allclose(tf.convert_to_tensor(distribution).numpy(), expected, rtol=1e-5)
    assert set(np.unique(distribution.sample().numpy())) <= {0.0, 1.0}


def test_posterior_scale_is_a_valid_cholesky_factor_for_any_params():
    params = np.random.default_rng(0).normal(scale=20, size=(16, zl.MultivariateNormalTriL.params_size(4)))
    q = zl.MultivariateNormalTriL(4)(params.astype(np.float32))
    assert q.batch_shape == [16] and q.event_shape == [4]
    scale = q.scale.to_dense().numpy()
    np.testing.assert_array_equal(scale, np.tril(scale))
    assert np.all(np.diagonal(scale, axis1=1, axis2=2) >= 1e-5)
    np.testing.assert_allclose(q.loc.numpy(), params[:, :4], rtol=1e-6)


@pytest.mark.parametrize("bad", [dict(beta=-1.0), dict(estimator="analytic"), dict(test_points=0)])
def test_kl_layer_rejects_bad_arguments(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        zl.KLDivergence(**bad)


# The stock tfp.layers defects the zoo's layers exist to avoid. If TFP ever fixes one, its test fails and
# tells us the workaround can go.


def test_stock_kl_regularizer_adds_the_kl_twice(features):
    prior = tfd.MultivariateNormalDiag(tf.zeros(LATENT))
    stock = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(tfpl.MultivariateNormalTriL.params_size(LATENT)),
            tfpl.MultivariateNormalTriL(LATENT, activity_regularizer=tfpl.KLDivergenceRegularizer(prior)),
        ]
    )
    stock(features)
    assert len(stock.losses) == 2


def test_stock_exact_kl_add_loss_adds_the_batch_sum(features):
    prior = tfd.MultivariateNormalDiag(tf.zeros(LATENT))
    ours = _posterior_model(zl.KLDivergence())
    stock = keras.Sequential([*ours.layers[:2], tfpl.KLDivergenceAddLoss(prior, use_exact_kl=True)])
    ours(features), stock(features)
    np.testing.assert_allclose(stock.losses[0].numpy(), len(features) * ours.losses[0].numpy(), rtol=1e-4)


def test_stock_multivariate_normal_tril_model_cannot_be_loaded(tmp_path):
    stock = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(tfpl.MultivariateNormalTriL.params_size(2)),
            tfpl.MultivariateNormalTriL(2),
        ]
    )
    stock.save(tmp_path / "stock.keras")
    with pytest.raises(TypeError):
        keras.models.load_model(tmp_path / "stock.keras")


def test_stock_independent_bernoulli_model_needs_unsafe_loading(tmp_path):
    stock = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), tfpl.IndependentBernoulli((6,))])
    stock.save(tmp_path / "stock.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(tmp_path / "stock.keras", safe_mode=True)


# ---- options of the KL term, posteriors, likelihoods and corruption ---------------------------------------


def test_mixture_prior_kl_is_the_monte_carlo_mean_of_log_q_minus_log_p(features):
    kl_layer = zl.KLDivergence(prior="mixture", components=4, test_points=2000)
    model = _posterior_model(kl_layer)
    tf.random.set_seed(2)
    model(features)
    q = model.layers[1](model.layers[0](features))
    prior = kl_layer.prior()
    assert isinstance(prior, tfd.MixtureSameFamily) and prior.event_shape == [LATENT]
    z = q.sample(5000, seed=5)  # the reference, whose mean errs by 0.63 of the layer's standard error
    batch_means = tf.reduce_mean(q.log_prob(z) - prior.log_prob(z), axis=1).numpy()  # [5000]
    standard_error = batch_means.std() / np.sqrt(2000)  # of the layer's estimate, from 2000 draws
    assert len(model.losses) == 1
    assert abs(model.losses[0].numpy() - batch_means.mean()) < 5 * standard_error


def test_exact_kl_to_a_mixture_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="no closed-form KL to a mixture prior: use estimator='mc'"):
        zl.KLDivergence(prior="mixture", estimator="exact")


def test_exact_kl_without_a_registered_pair_names_the_fix(features):
    layer = zl.KLDivergence(estimator="exact")
    layer.build((None, LATENT))
    layer.prior = lambda: tfd.Independent(tfd.Normal(tf.zeros(LATENT), 1.0), 1)  # a pair TFP has no KL for
    q = tfd.MultivariateNormalTriL(tf.zeros((4, LATENT)), tf.eye(LATENT))
    with pytest.raises(ValueError, match="estimator='mc'"):
        layer.kl_per_example(q)
    layer.estimator = "auto"  # falls back to the Monte-Carlo estimate
    assert layer.kl_per_example(q).shape == [4]


@pytest.mark.parametrize("free_bits", [0.0, 1e4])
def test_free_bits_floor_the_penalty_not_the_reported_kl(features, free_bits):
    model = _posterior_model(zl.KLDivergence(beta=0.5, free_bits=free_bits))
    model(features)
    kl = _independent_kl(model, features).mean()
    np.testing.assert_allclose(model.losses[0].numpy(), 0.5 * max(free_bits, kl), rtol=1e-5)


def test_diagonal_posterior_has_the_exact_kl(features):
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(zl.MultivariateNormalDiag.params_size(LATENT)),
            zl.MultivariateNormalDiag(LATENT),
            zl.KLDivergence(estimator="exact"),
        ]
    )
    model(features)
    params = model.layers[0](features).numpy()
    scale = np.log1p(np.exp(params[:, LATENT:])) + 1e-5
    mean = params[:, :LATENT]
    by_hand = 0.5 * np.sum(scale**2 + mean**2 - 1 - 2 * np.log(scale), axis=1)
    np.testing.assert_allclose(model.losses[0].numpy(), by_hand.mean(), rtol=1e-4)


@pytest.mark.parametrize("scale", [None, 0.3])
def test_gaussian_likelihood_shapes_and_log_prob(scale):
    rng = np.random.default_rng(0)
    size = zl.IndependentNormal.params_size((4, 4, 2), scale)
    assert size == 32 * (2 if scale is None else 1)
    params = rng.normal(size=(3, size)).astype(np.float32)
    distribution = zl.IndependentNormal((4, 4, 2), scale=scale)(params)
    assert distribution.batch_shape == [3] and distribution.event_shape == [4, 4, 2]
    x = rng.random((3, 4, 4, 2)).astype(np.float32)
    spatial = params.reshape(3, 4, 4, -1)
    loc = spatial[..., :2]
    sd = np.log1p(np.exp(spatial[..., 2:])) + 1e-3 if scale is None else scale
    by_hand = np.sum(-0.5 * ((x - loc) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi), axis=(1, 2, 3))
    np.testing.assert_allclose(distribution.log_prob(x).numpy(), by_hand, rtol=1e-4)


# Logits from saturated towards 0 through λ = 1/2 (0 and ±1e-4: the normalizer's removable singularity) to
# saturated towards 1; λ = sigmoid(logit) = 2e-9, 0.01, 0.2, 0.49998, 0.5, 0.50002, 0.9, 0.99, 1 - 2e-9.
CB_LOGITS = np.array([-20.0, -4.595, -1.386, -1e-4, 0.0, 1e-4, 2.197, 4.595, 20.0], np.float32)


def _continuous_bernoulli_pixels(logits: np.ndarray) -> tfd.Distribution:
    """The layer's p(x|z) for one pixel per logit: batch [len(logits)], event [1, 1, 1]."""
    return zl.IndependentContinuousBernoulli((1, 1, 1))(logits[:, None])


def test_continuous_bernoulli_density_integrates_to_one_on_the_unit_interval():
    x = np.linspace(0.0, 1.0, 20_001, dtype=np.float32)
    pixels = _continuous_bernoulli_pixels(CB_LOGITS)
    log_p = pixels.log_prob(np.broadcast_to(x[:, None, None, None, None], (len(x), len(CB_LOGITS), 1, 1, 1)))
    density = np.exp(log_p.numpy().astype(np.float64))  # [20001, 9]
    assert np.all(np.isfinite(density))
    np.testing.assert_allclose(np.trapezoid(density, x.astype(np.float64), axis=0), 1.0, atol=1e-3)
    np.testing.assert_allclose(density[:, 4], 1.0, atol=1e-6)  # λ = 1/2: the uniform density
    assert np.all(pixels.log_prob(np.full((len(CB_LOGITS), 1, 1, 1), 1.5, np.float32)).numpy() == -np.inf)


def test_continuous_bernoulli_layer_is_tfp_s_density_with_its_normalizer():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3, size=(4, 12)).astype(np.float32)
    distribution = zl.IndependentContinuousBernoulli((3, 4, 1))(logits)
    assert distribution.batch_shape == [4] and distribution.event_shape == [3, 4, 1]
    x = rng.random((4, 3, 4, 1)).astype(np.float32)
    stock = tfd.ContinuousBernoulli(logits=logits.reshape(4, 3, 4, 1)).log_prob(x).numpy().sum(axis=(1, 2, 3))
    np.testing.assert_allclose(distribution.log_prob(x).numpy(), stock, rtol=1e-6, atol=1e-5)
    lam = 1 / (1 + np.exp(-logits.astype(np.float64).reshape(4, 3, 4, 1)))
    normalizer = 2 * np.arctanh(1 - 2 * lam) / (1 - 2 * lam)  # C(λ), Loaiza-Ganem & Cunningham 2019
    by_hand = np.log(normalizer) + x * np.log(lam) + (1 - x) * np.log1p(-lam)
    np.testing.assert_allclose(distribution.log_prob(x).numpy(), by_hand.sum(axis=(1, 2, 3)), rtol=1e-5)
    samples = distribution.sample(seed=1).numpy()
    assert samples.shape == (4, 3, 4, 1) and samples.min() >= 0 and samples.max() <= 1


def test_continuous_bernoulli_tensor_is_its_mean_not_lambda():
    logits = tf.constant(CB_LOGITS)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        pixels = _continuous_bernoulli_pixels(logits)
        mean = tf.convert_to_tensor(pixels)[:, 0, 0, 0]  # what predict, reconstruct and sample show
        log_p = pixels.log_prob(tf.fill([len(CB_LOGITS), 1, 1, 1], 0.3))
    np.testing.assert_allclose(
        mean.numpy(), tfd.ContinuousBernoulli(logits=CB_LOGITS).mean().numpy(), atol=1e-7
    )
    np.testing.assert_allclose(mean.numpy()[[0, 4, 8]], [0.05, 0.5, 0.95], atol=1e-6)  # mean -> -1/logit
    lam = 1 / (1 + np.exp(-CB_LOGITS.astype(np.float64)))
    assert abs(mean.numpy()[2] - 0.388) < 1e-3 and abs(lam[2] - 0.2) < 1e-3  # the trap: the mean is not λ
    far = [1, 2, 6, 7]
    by_hand = lam[far] / (2 * lam[far] - 1) + 1 / (2 * np.arctanh(1 - 2 * lam[far]))
    np.testing.assert_allclose(mean.numpy()[far], by_hand, rtol=1e-5)
    gradient = tape.gradient(log_p, logits).numpy()
    assert np.all(np.isfinite(log_p.numpy())) and np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient[3:6], -0.2, atol=1e-4)  # d/dlogit at λ = 1/2: x - mean = 0.3 - 0.5


@pytest.mark.parametrize("kind", corruption.KINDS)
def test_corruption_acts_in_training_only(kind):
    x = (np.random.default_rng(0).random((64, 8, 8, 1)) > 0.5).astype(np.float32)
    layer = zl.Corruption(kind, 0.3)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    corrupted = layer(x, training=True).numpy()
    changed = np.mean(corrupted != x)
    assert 0.05 < changed and corrupted.min() >= 0 and corrupted.max() <= 1
    if kind != "gaussian":
        assert changed < 0.4  # about rate (salt-and-pepper leaves half of the hits unchanged)


def test_corruption_rejects_bad_rates():
    with pytest.raises(ValueError, match="corruption_rate"):
        zl.Corruption("mask", 1.5)
    with pytest.raises(ValueError, match="corruption must be"):
        zl.Corruption("blur", 0.1)


@pytest.mark.parametrize("free_bits, penalty", [(0.0, -0.3), (0.5, 0.5)])
def test_a_negative_monte_carlo_kl_is_clipped_only_by_free_bits(free_bits, penalty):
    """A one-draw estimate can fall below 0; without free bits it counts as it is (so it keeps its gradient,
    and the replicas' half-batch losses sum to the one-device loss)."""
    layer = zl.KLDivergence(beta=2.0, estimator="mc", free_bits=free_bits)
    layer.build((None, 3))
    layer.kl_per_example = lambda posterior: tf.constant([-0.2, -0.4])  # an estimate below 0
    layer(tfd.MultivariateNormalDiag(tf.zeros([2, 3])))
    np.testing.assert_allclose(layer.losses[0].numpy(), 2.0 * penalty, rtol=1e-6)


def test_layers_know_when_keras_only_infers_their_output_shape():
    """tf_keras builds a model by calling each layer on placeholders in a throw-away graph; the KL and
    distribution layers skip their KL and draws there. Called on data, eagerly or traced, they do not."""
    seen = []

    class Recording(keras.layers.Layer):
        def call(self, inputs):
            seen.append(inferring_output_shape())
            return inputs

    layer = Recording()
    layer(keras.Input((3,)))
    layer(tf.zeros([2, 3]))
    tf.function(layer)(tf.zeros([2, 3]))
    keras.Sequential([keras.Input((3,)), Recording()])
    assert seen == [True, False, False, True]
