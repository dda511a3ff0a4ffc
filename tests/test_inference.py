"""Using a trained model: encode, decode, reconstruct, sample, interpolate."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import inference
from zoo import layers as zl
from zoo._tf import tf, tfd
from zoo.model import layers_of_type

MODELS = zoo.list_models()


@pytest.mark.parametrize("name", MODELS)
def test_reconstruct_every_model(name, digits, trained):
    model = trained(name)
    x, y = digits
    labels = model.labels_or_none(y[:6])
    if not model.has_latent_code:
        with pytest.raises(ValueError, match="no encoder"):
            zoo.reconstruct(model, x[:6], labels)
        return
    recon = zoo.reconstruct(model, x[:6], labels)
    assert recon.shape == (6, 28, 28, 1) and np.isfinite(recon).all()
    if model.has_bernoulli_likelihood:
        assert 0 <= recon.min() and recon.max() <= 1  # pixel probabilities
        assert set(np.unique(zoo.reconstruct(model, x[:6], labels, mode="mode"))) <= {0.0, 1.0}
    drawn = zoo.reconstruct(model, x[:6], labels, mode="sample", seed=2)
    np.testing.assert_array_equal(drawn, zoo.reconstruct(model, x[:6], labels, mode="sample", seed=2))


@pytest.mark.parametrize("name", MODELS)
def test_sample_is_seeded(name, trained):
    model = trained(name)
    labels = model.labels_or_none(np.arange(5))
    if not model.is_generative:
        with pytest.raises(ValueError, match="not generative"):
            zoo.sample(model, 4, labels=labels)
        return
    first = zoo.sample(model, 5, labels=labels, seed=3)
    assert first.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(first, zoo.sample(model, 5, labels=labels, seed=3))
    assert not np.array_equal(first, zoo.sample(model, 5, labels=labels, seed=4))
    drawn = zoo.sample(model, 5, labels=labels, mode="sample", seed=3)
    assert drawn.shape == (5, 28, 28, 1) and np.isfinite(drawn).all()


def test_a_mixture_without_latent_code_samples_its_components(trained):
    model = trained("bernoulli_mixture")
    p_x = model(np.zeros((1, 28, 28, 1), np.float32))  # its output is p(x), whatever the input
    prototypes = p_x.components_distribution.mean().numpy()[0]  # [20, 28, 28, 1]
    images = zoo.sample(model, 12, seed=0)
    assert all(any(np.array_equal(image, prototype) for prototype in prototypes) for image in images)
    assert set(np.unique(zoo.sample(model, 4, mode="sample", seed=0))) <= {0.0, 1.0}


def test_sample_draws_from_the_models_own_prior():
    model = zoo.get("dense_vae", **small_hparams("dense_vae"))
    kl_layer = layers_of_type(model, zl.KLDivergence)[0]
    # a learned prior overrides prior(); here one concentrated on a single point
    kl_layer.prior = lambda: tfd.MultivariateNormalDiag(loc=[3.0, -3.0], scale_diag=[1e-6, 1e-6])
    expected = zoo.decode(model, np.tile([[3.0, -3.0]], (4, 1))).mean().numpy()
    np.testing.assert_allclose(zoo.sample(model, 4, seed=0), expected, atol=1e-5)


def test_conditional_model_needs_labels_and_accepts_one_hot(digits, trained):
    model, dense_vae = trained("cvae"), trained("dense_vae")
    x, y = digits
    with pytest.raises(ValueError, match="labels="):
        zoo.encode(model, x[:4])
    by_int = zoo.encode(model, x[:4], y[:4]).mean().numpy()
    by_one_hot = zoo.encode(model, x[:4], np.eye(10)[y[:4]]).mean().numpy()
    np.testing.assert_array_equal(by_int, by_one_hot)
    sevens = zoo.encode(model, x[:4], 7).mean().numpy()  # one label for every image
    np.testing.assert_array_equal(sevens, zoo.encode(model, x[:4], [7] * 4).mean().numpy())
    with pytest.raises(ValueError, match="labels in \\[0, 10\\)"):
        zoo.encode(model, x[:4], [0, 1, 2, 10])
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        zoo.encode(model, x[:4], y[:3])
    with pytest.raises(ValueError, match="not conditional"):
        zoo.encode(dense_vae, x[:4], y[:4])
    assert model.inputs_for(x, y)[1] is y


def test_large_inputs_are_batched_with_the_same_results(digits, trained):
    model = trained("dense_vae")
    x, _ = digits
    whole = zoo.encode(model, x[:20])
    batched = zoo.encode(model, tf.constant(x[:20]), batch_size=7)  # tensors work as well as arrays
    assert batched.batch_shape == [20] and batched.event_shape == [2]
    np.testing.assert_allclose(batched.mean(), whole.mean(), atol=1e-6)
    np.testing.assert_allclose(batched.log_prob(whole.mean()), whole.log_prob(whole.mean()), atol=1e-5)
    likelihood = zoo.decode(model, whole.mean(), batch_size=6)
    assert likelihood.batch_shape == [20] and likelihood.event_shape == [28, 28, 1]
    np.testing.assert_allclose(
        zoo.reconstruct(model, x[:20], batch_size=3), zoo.reconstruct(model, x[:20]), atol=1e-6
    )
    assert zoo.sample(model, 11, seed=0, batch_size=4).shape == (11, 28, 28, 1)


@pytest.mark.parametrize("name", ["dense_vae", "cvae"])
def test_interpolate_walks_the_line_between_two_codes(name, digits, trained):
    model = trained(name)
    x, y = digits
    labels = model.labels_or_none(y[:3])
    path = inference.interpolate(model, x[:3], x[3:6], steps=5, labels=labels)
    assert path.shape == (3, 5, 28, 28, 1)
    np.testing.assert_allclose(path[:, 0], zoo.reconstruct(model, x[:3], labels), atol=1e-6)
    np.testing.assert_allclose(path[:, -1], zoo.reconstruct(model, x[3:6], labels), atol=1e-6)
    midpoint = (zoo.encode(model, x[:3], labels).mean() + zoo.encode(model, x[3:6], labels).mean()) / 2
    np.testing.assert_allclose(path[:, 2], zoo.decode(model, midpoint, labels).mean(), atol=1e-5)
    one = inference.interpolate(model, x[0], x[3], steps=5, labels=None if labels is None else labels[0])
    np.testing.assert_allclose(one, path[0], atol=1e-6)


def test_bad_arguments_raise_clear_errors(digits, trained):
    model = trained("dense_vae")
    x, _ = digits
    for call, message in [
        (lambda: zoo.sample(model, 0), "n must be a positive integer"),
        (lambda: zoo.sample(model, 2, mode="median"), "mode must be one of"),
        (lambda: zoo.reconstruct(model, x[:2], batch_size=0), "batch_size must be"),
        (lambda: zoo.decode(model, np.zeros((3, 5))), "decodes z of shape \\[N, 2\\]"),
        (lambda: zoo.decode(model, np.zeros((0, 2))), "with N >= 1"),
        (lambda: zoo.encode(model, x[:3, :14]), "expects images of shape"),
        (lambda: inference.interpolate(model, x[:2], x[2:4], steps=1), "steps must be"),
        (lambda: inference.interpolate(model, x[:2], x[2:5]), "same shape"),
    ]:
        with pytest.raises(ValueError, match=message):
            call()
