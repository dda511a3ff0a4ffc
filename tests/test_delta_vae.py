"""delta_vae: the posterior's standard deviations stop at the bound solved from delta, so the KL of every
example is at least delta, on real digits, on noise and for any encoder output. (Building, fitting, sampling,
evaluating and saving as every model does: the registry-parametrized tests.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

import zoo
from zoo import layers as zl
from zoo._tf import tfd
from zoo.layers.posteriors import committed_rate_scale
from zoo.model import layers_of_type

DELTA = 1.0
HPARAMS = {"latent_dim": 2, "hidden_units": (64,), "delta": DELTA, "beta": 20.0}


def _kl_to_standard_normal(posterior) -> np.ndarray:
    """KL(N(m, diag s^2) || N(0, I)) [N] from the posterior's moments, by the textbook formula in float64."""
    m, s = posterior.mean().numpy().astype(np.float64), posterior.stddev().numpy().astype(np.float64)
    return 0.5 * np.sum(m**2 + s**2 - np.log(s**2) - 1.0, axis=-1)


@pytest.mark.parametrize("rate", [1e-4, 0.05, 0.5, 2.0])
def test_the_scale_bound_is_the_lambert_w_root(rate):
    # 0.5 (v - ln v - 1) = r with v < 1  <=>  v = -W0(-exp(-1 - 2r)), the principal branch of Lambert's W
    variance = -special.lambertw(-math.exp(-1.0 - 2.0 * rate), k=0).real
    assert committed_rate_scale(rate) ** 2 == pytest.approx(variance, rel=1e-9)
    layer = zl.CommittedRateNormal(4, rate=4 * rate)  # delta is per example: rate per dimension times 4
    assert layer.max_scale == pytest.approx(math.sqrt(variance), rel=1e-9) and layer.max_scale < 1.0


def test_a_delta_beyond_the_smallest_scale_is_refused():
    with pytest.raises(ValueError, match="lower delta, or raise latent_dim"):
        zl.CommittedRateNormal(2, rate=20.0)  # 10 nats per dimension needs s < 1e-3
    with pytest.raises(ValueError, match="delta"):
        zoo.get("delta_vae", delta=-1.0)


def test_any_encoder_output_is_at_least_delta_from_the_prior():
    layer = zl.CommittedRateNormal(3, rate=DELTA)
    rng = np.random.default_rng(0)
    params = rng.normal(scale=10.0, size=(5000, 6)).astype(np.float32)
    params[0] = [0, 0, 0, 50, 50, 50]  # mean 0, scales at the upper bound: the closest q can come to p
    params[1] = [0, 0, 0, -50, -50, -50]  # scales at min_scale: far
    posterior = layer(params)
    kl = _kl_to_standard_normal(posterior)
    exact = tfd.kl_divergence(posterior, zl.standard_normal(3)).numpy()  # TFP's closed form, float32
    np.testing.assert_allclose(kl, exact, rtol=1e-4, atol=1e-4)
    assert kl.min() >= DELTA * (1 - 1e-6) and kl[0] == pytest.approx(DELTA, rel=1e-5)
    stddev = posterior.stddev().numpy()
    assert stddev.min() >= zl.posteriors.COMMITTED_MIN_SCALE * (1 - 1e-6)
    assert stddev.max() <= layer.max_scale * (1 + 1e-6)


@pytest.mark.slow
def test_a_strong_kl_weight_pushes_the_rate_to_delta_and_no_further(digits, tmp_path):
    # beta = 20 drives a plain VAE to collapse (KL -> 0); here every example keeps KL >= delta.
    zoo.keras.utils.set_random_seed(0)
    model = zoo.get("delta_vae", **HPARAMS)
    x = digits[0]
    losses = model.fit(x, x, epochs=4, batch_size=64, verbose=0).history["loss"]
    assert losses[-1] < losses[0] - 20, losses
    noise = np.random.default_rng(0).integers(0, 2, size=(256, 28, 28, 1)).astype(np.float32)
    kl_layer = layers_of_type(model, zl.KLDivergence)[0]
    for images in (x, noise):
        posterior = zoo.encode(model, images)
        kl = _kl_to_standard_normal(posterior)
        assert kl.min() >= DELTA * (1 - 1e-6), kl.min()
        np.testing.assert_allclose(kl_layer.kl_per_example(posterior).numpy(), kl, rtol=1e-4, atol=1e-4)
    assert np.mean(_kl_to_standard_normal(zoo.encode(model, x))) < 8 * DELTA  # pushed down towards the floor
    path = tmp_path / "delta.keras"
    model.save(path)
    loaded = zoo.load(path)
    np.testing.assert_allclose(zoo.encode(loaded, x[:16]).stddev(), zoo.encode(model, x[:16]).stddev())
    assert layers_of_type(loaded, zl.CommittedRateNormal)[0].get_config()["rate"] == DELTA
