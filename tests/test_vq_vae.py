"""vq_vae: the PixelCNN prior over index grids sums to one and draws what it scores, the straight-through
estimator carries the decoder's gradient to the encoder, and the bound `zoo.evaluate` reports is the decoded
likelihood of the nearest codes plus their log-prior, computed here from the parts. (Building, fitting,
sampling, evaluating and saving as every model does: the registry-parametrized tests.)"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import layers as zl
from zoo._tf import keras, tf
from zoo.model import layers_of_type

GRID, CODES = (2, 2), 3  # 3^4 = 81 index grids: few enough to enumerate


@pytest.fixture
def small_prior() -> zl.CodeGridPrior:
    """A randomly initialized prior over 2x2 grids of 3 codes, its logits scaled up so that it is far from
    uniform and every position depends on those before it."""
    quantizer = zl.VectorQuantizer(CODES, prior_filters=8, prior_layers=2)
    quantizer.build((None, *GRID, 2))
    for weight in quantizer.prior_network.weights:
        weight.assign(3.0 * weight)
    return quantizer.prior()


def _every_grid() -> np.ndarray:
    return np.array(list(itertools.product(range(CODES), repeat=GRID[0] * GRID[1])), np.int32).reshape(
        -1, *GRID
    )


def test_the_prior_over_index_grids_sums_to_one(small_prior):
    log_probs = small_prior.index_log_prob(_every_grid()).numpy().astype(np.float64)
    assert np.exp(log_probs).sum() == pytest.approx(1.0, abs=1e-5)
    assert log_probs.max() - log_probs.min() > 3  # far from uniform: the check above means something


def test_the_prior_draws_grids_as_often_as_it_scores_them(small_prior):
    grids = _every_grid()
    expected = np.exp(small_prior.index_log_prob(grids).numpy().astype(np.float64))
    drawn = small_prior.indices(small_prior.sample(60000, seed=0)).numpy()
    number = (drawn.reshape(len(drawn), -1) * CODES ** np.arange(3, -1, -1)).sum(axis=1)  # row of `grids`
    observed = np.bincount(number, minlength=len(grids)) / len(drawn)
    # total variation: 0.012 here (sampling noise); drawing the positions column by column instead gives 0.068
    assert 0.5 * np.abs(observed - expected).sum() < 0.03


def test_log_prob_of_codes_is_the_log_prob_of_their_indices(small_prior):
    grids = _every_grid()[:10]
    codes = small_prior.codes(grids)
    assert codes.shape == (10, 4 * 2)
    np.testing.assert_array_equal(small_prior.indices(codes).numpy(), grids)
    np.testing.assert_allclose(small_prior.log_prob(codes).numpy(), small_prior.index_log_prob(grids).numpy())


def test_the_masked_convolutions_see_only_the_positions_before():
    layer = zl.MaskedConv2D(1, 3, mask="A")
    image = tf.Variable(tf.random.normal([1, 4, 4, 1]))
    with tf.GradientTape() as tape:
        output = layer(image)[0, 2, 1, 0]  # the position (2, 1)
    seen = tape.gradient(output, image).numpy()[0, :, :, 0] != 0
    expected = np.zeros((4, 4), bool)
    expected[1, :3] = True  # the row above, within the kernel
    expected[2, 0] = True  # left of the centre; the centre itself hidden by mask "A"
    np.testing.assert_array_equal(seen, expected)


def test_the_encoder_learns_through_the_straight_through_estimator(digits):
    """Without the commitment loss the encoder's only gradient is the decoder's, passed straight through the
    quantization: every weight of the model gets a gradient."""
    x = digits[0][:16]
    model = zoo.get("vq_vae", filters=(8, 16), code_dim=4, codebook_size=8, commitment=0.0, prior_filters=8)
    with tf.GradientTape() as tape:
        likelihood = model(x, training=True)
        loss = tf.reduce_mean(-likelihood.log_prob(x)) + tf.add_n(model.losses)
    gradients = tape.gradient(loss, model.trainable_variables)
    missing = [v.name for v, g in zip(model.trainable_variables, gradients, strict=True) if g is None]
    assert not missing
    encoder = {id(v) for v in model.encoder.trainable_variables}
    assert all(
        float(tf.reduce_max(tf.abs(g))) > 0
        for v, g in zip(model.trainable_variables, gradients, strict=True)
        if id(v) in encoder
    )


def test_the_bound_is_the_decoded_likelihood_plus_the_log_prior_of_the_nearest_codes(trained, digits):
    model = trained("vq_vae")
    x = digits[0][:20]
    results = zoo.evaluate(model, x, k=3, verbose=0)
    quantizer = layers_of_type(model, zl.VectorQuantizer)[0]
    encoded = keras.Sequential(model.encoder.layers[:-1])(x).numpy()  # z_e [20, H, W, D], before quantizing
    encoded /= np.linalg.norm(encoded, axis=-1, keepdims=True)  # the lookup compares directions
    codebook = quantizer.codebook.numpy()
    codebook /= np.linalg.norm(codebook, axis=-1, keepdims=True)
    distances = ((encoded[..., None, :] - codebook) ** 2).sum(axis=-1)  # [20, H, W, K], brute force
    indices = distances.argmin(axis=-1)
    codes = codebook[indices].reshape(len(x), -1)
    distortion = -model.decoder(codes).log_prob(x).numpy()
    rate = -quantizer.prior().index_log_prob(indices).numpy()
    assert results["distortion"] == pytest.approx(distortion.mean(), rel=1e-5)
    assert results["rate"] == pytest.approx(rate.mean(), rel=1e-5)
    assert results["nll_iwae_3"] == pytest.approx(distortion.mean() + rate.mean(), rel=1e-5)  # a point mass
    assert results["neg_elbo"] == pytest.approx(results["nll_iwae_3"], rel=1e-6)


def test_fit_reports_the_rate_and_the_codebook_use(trained):
    history = trained.history("vq_vae").history
    assert {"loss", "kl", "perplexity"} <= set(history)
    assert 1.0 <= history["perplexity"][-1] <= small_hparams("vq_vae")["codebook_size"]
    assert history["kl"][-1] < history["kl"][0]  # the prior learns the codes


def test_code_usage_counts_over_batches_until_reset():
    usage = zl.quantizer.CodeUsage(8)
    usage.update_state(tf.constant([[0, 1], [2, 3]]))  # four codes, once each
    assert float(usage.result()) == pytest.approx(4.0)
    usage.update_state(tf.constant([0, 1, 2, 3]))  # the same shares over two batches: the same number
    assert float(usage.result()) == pytest.approx(4.0)
    usage.update_state(tf.constant([5] * 8))  # half of all picks on one more code: shares 1/8 (x 4) and 1/2
    assert float(usage.result()) == pytest.approx(np.exp(-(4 * (1 / 8) * np.log(1 / 8) + 0.5 * np.log(0.5))))
    usage.reset_state()
    usage.update_state(tf.constant([7, 7]))
    assert float(usage.result()) == pytest.approx(1.0)
