"""Using a trained model: encode, decode, reconstruct, sample, interpolate (linear and slerp), attribute vectors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import inference
from zoo import layers as zl
from zoo._tf import tf, tfd
from zoo.classifier import read_labels, train_classifier
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
def test_interpolate_walks_the_path_between_two_codes(name, digits, trained):
    model = trained(name)
    x, y = digits
    labels = model.labels_or_none(y[:3])
    z_a, z_b = (zoo.encode(model, ends, labels).mean().numpy() for ends in (x[:3], x[3:6]))
    for path, midpoint in [
        ("linear", (z_a + z_b) / 2),
        ("slerp", inference.interpolate_codes(z_a, z_b, 5)[:, 2]),
    ]:
        images = inference.interpolate(model, x[:3], x[3:6], steps=5, labels=labels, path=path)
        assert images.shape == (3, 5, 28, 28, 1)
        np.testing.assert_allclose(images[:, 0], zoo.reconstruct(model, x[:3], labels), atol=1e-6)
        np.testing.assert_allclose(images[:, -1], zoo.reconstruct(model, x[3:6], labels), atol=1e-6)
        np.testing.assert_allclose(images[:, 2], zoo.decode(model, midpoint, labels).mean(), atol=1e-5)
    one = inference.interpolate(model, x[0], x[3], steps=5, labels=None if labels is None else labels[0])
    np.testing.assert_allclose(one, images[0], atol=1e-6)  # the default path is slerp


def test_slerp_keeps_the_norm_where_the_line_cuts_inside():
    rng = np.random.default_rng(0)
    z_a, z_b = rng.normal(size=(2, 6, 8))
    z_b *= np.linalg.norm(z_a, axis=1, keepdims=True) / np.linalg.norm(z_b, axis=1, keepdims=True)
    norm, angle = (
        np.linalg.norm(z_a, axis=1),
        np.arccos(np.sum(z_a * z_b, axis=1) / np.linalg.norm(z_a, axis=1) ** 2),
    )
    slerp = inference.interpolate_codes(z_a, z_b, steps=7, path="slerp")
    linear = inference.interpolate_codes(z_a, z_b, steps=7, path="linear")
    for path in (slerp, linear):  # both ends exact
        assert path.shape == (6, 7, 8) and path.dtype == np.float32
        np.testing.assert_array_equal(path[:, 0], z_a.astype(np.float32))
        np.testing.assert_array_equal(path[:, -1], z_b.astype(np.float32))
    np.testing.assert_allclose(np.linalg.norm(slerp, axis=-1), np.tile(norm[:, None], 7), rtol=1e-5)
    t = np.linspace(0, 1, 7)
    cosines = np.sum(slerp * z_a[:, None], axis=-1) / norm[:, None] ** 2  # the angle from z_a grows as t
    np.testing.assert_allclose(cosines, np.cos(t * angle[:, None]), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(linear[:, 3], axis=-1), norm * np.cos(angle / 2), rtol=1e-5)
    assert (np.linalg.norm(linear[:, 3], axis=-1) < 0.99 * norm).all()  # the line's midpoint is inside
    # no great circle: parallel, opposite or zero codes take the line, without NaN
    z = z_a[:3]
    for other in (2 * z, -z, np.zeros_like(z)):
        np.testing.assert_allclose(
            inference.interpolate_codes(z, other, 5),
            inference.interpolate_codes(z, other, 5, "linear"),
            atol=1e-6,
        )
    with pytest.raises(ValueError, match="path must be one of"):
        inference.interpolate_codes(z_a, z_b, 5, path="spline")
    with pytest.raises(ValueError, match="one shape \\[N, latent_dim\\].*z\\[None\\]"):
        inference.interpolate_codes(z_a[0], z_b[0], 5)


def test_attribute_vector_is_the_difference_of_mean_codes(digits, trained):
    vae, cvae = trained("dense_vae"), trained("cvae")
    x, y = digits
    vector = zoo.attribute_vector(vae, x[y == 7], x[y == 1])
    assert vector.shape == (2,) and vector.dtype == np.float32
    means = [zoo.encode(vae, x[y == digit]).mean().numpy().mean(axis=0) for digit in (7, 1)]
    np.testing.assert_allclose(vector, means[0] - means[1], atol=1e-5)
    conditional = zoo.attribute_vector(cvae, x[:10], x[10:30], labels_with=y[:10], labels_without=y[10:30])
    assert conditional.shape == (2,)
    with pytest.raises(ValueError, match="conditional: pass labels="):
        zoo.attribute_vector(cvae, x[:10], x[10:20])
    with pytest.raises(ValueError, match="x_without as a non-empty batch"):
        zoo.attribute_vector(vae, x[:10], x[:0])
    with pytest.raises(ValueError, match="x_with as a non-empty batch.*x\\[None\\]"):
        zoo.attribute_vector(vae, x[0], x[1:3])


def test_the_attribute_vector_of_two_digits_turns_one_into_the_other(digits, trained):
    vae = trained("dense_vae")
    x, y = digits
    zeros, ones = x[y == 0], x[y == 1]
    # The shared model is small (24 steps): its images are blurry, so the reader learns the two digits from
    # the model's own reconstructions of them.
    images = zoo.reconstruct(vae, np.concatenate([zeros, ones]))
    reader = train_classifier(images, np.repeat([0, 1], [len(zeros), len(ones)]), epochs=2)
    codes = zoo.encode(vae, zeros).mean()

    def read_as_one(vector: np.ndarray) -> list[float]:
        """How many of the zeros read as a one when their codes move by 0, 1/2 and 1 times the vector."""
        moved = [zoo.decode(vae, codes + amount * vector).mean() for amount in (0.0, 0.5, 1.0)]
        return [float(np.mean(read_labels(reader, decoded) == 1)) for decoded in moved]

    toward_ones = read_as_one(zoo.attribute_vector(vae, ones, zeros))
    toward_zeros = read_as_one(zoo.attribute_vector(vae, zeros, ones))
    assert toward_ones[0] < toward_ones[1] < toward_ones[2] and toward_ones[2] > 0.8, toward_ones
    assert toward_zeros[0] > toward_zeros[1] > toward_zeros[2] and toward_zeros[2] < 0.2, toward_zeros


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
        (lambda: inference.interpolate(model, x[:2], x[2:4], path="straight"), "path must be one of"),
    ]:
        with pytest.raises(ValueError, match=message):
            call()


# ---- models of vectors [N, D]: the probabilistic-layers lecture's 12-D VAE --------------------------------


@pytest.fixture(scope="module")
def rows() -> tuple[np.ndarray, ...]:
    """12 real features (wine's first 12), standardized on the training rows: train [142, 12], test [36, 12],
    and their cultivars [142], [36]."""
    x, y = zoo.data.load("wine")
    x_test, y_test = zoo.data.load("wine", split="test")
    scaler = zoo.data.Standardizer().fit(x[:, :12])
    return scaler.transform(x[:, :12]), scaler.transform(x_test[:, :12]), y, y_test


@pytest.fixture(scope="module")
def lecture_vae(rows) -> tuple[zoo.ZooModel, dict]:
    """Dense(64) -> MultivariateNormalTriL(4) with a KL term, Dense(64) -> IndependentNormal(12), trained for
    20 epochs of 5 batches on the 142 training rows (Adam at 1e-2)."""
    zoo.keras.utils.set_random_seed(0)
    model = zoo.get(
        "dense_vae",
        input_shape=(12,),
        likelihood="gaussian",
        latent_dim=4,
        hidden_units=(64,),
        learning_rate=1e-2,
    )
    history = model.fit(rows[0], rows[0], epochs=20, batch_size=32, verbose=0)
    return model, history.history


def test_the_lecture_12d_vae_is_the_lectures_net_and_learns_the_table(rows, lecture_vae):
    model, history = lecture_vae
    dense = [layer.units for layer in layers_of_type(model, zoo.keras.layers.Dense)]
    assert dense == [
        64,
        zl.MultivariateNormalTriL.params_size(4),
        64,
        zl.IndependentNormal.params_size((12,)),
    ]
    assert history["loss"][-1] < history["loss"][0] - 5, history["loss"]
    x_train, x_test, y_train, y_test = rows
    error = np.mean((zoo.reconstruct(model, x_train) - x_train) ** 2)
    assert error < 0.6, error  # the standardized features' mean alone gives 1: the code carries the rows
    codes, test_codes = zoo.encode(model, x_train).mean().numpy(), zoo.encode(model, x_test).mean().numpy()
    centres = np.stack([codes[y_train == c].mean(axis=0) for c in range(3)])
    nearest = np.argmin(((test_codes[:, None] - centres[None]) ** 2).sum(axis=-1), axis=1)
    assert (
        np.mean(nearest == y_test) > 0.75
    )  # held-out wines' codes lie nearest their cultivar's (chance 1/3)
    posterior = zoo.encode(model, x_test)
    assert posterior.batch_shape == [36] and posterior.event_shape == [4]
    likelihood = zoo.decode(model, posterior.mean())
    assert likelihood.batch_shape == [36] and likelihood.event_shape == [12]
    drawn = zoo.sample(model, 5, seed=1)
    assert drawn.shape == (5, 12)
    np.testing.assert_array_equal(drawn, zoo.sample(model, 5, seed=1))
    assert zoo.interpolate(model, x_test[0], x_test[1], steps=4).shape == (4, 12)
    results = zoo.evaluate(model, x_test, k=20, verbose=0)
    assert results["active_units"] >= 2 and results[f"nll_iwae_{20}"] <= results["neg_elbo"] + 0.1
    assert 0 < results["rate"] and np.isfinite(results["distortion"])


@pytest.mark.slow
def test_the_other_dense_builders_take_vectors(rows):
    """The autoencoder, the IWAE, the conditional VAE and the Bernoulli mixture on input_shape (12,), on the
    table binarized at its mean (Bernoulli features): they encode, score and sample vectors; the two
    Bernoulli-only models train on them."""
    x_train, _, y, _ = rows
    binary = (x_train > 0).astype(np.float32)
    for name in ("autoencoder", "iwae", "cvae", "bernoulli_mixture"):
        model = zoo.get(name, **small_hparams(name), input_shape=(12,))
        labels = y[:8] if model.is_conditional else None
        if name in ("autoencoder", "bernoulli_mixture"):
            history = model.fit(binary, binary, epochs=2, batch_size=32, verbose=0).history
            assert history["loss"][1] < history["loss"][0], name
        results = zoo.evaluate(model, binary[:8], labels=labels, k=2, verbose=0)
        assert np.isfinite(results["distortion" if model.has_latent_code else "nll"]), name
        if model.has_latent_code:
            assert zoo.reconstruct(model, binary[:3], None if labels is None else labels[:3]).shape == (3, 12)
        if model.is_generative:
            assert zoo.sample(model, 3, labels=0 if model.is_conditional else None, seed=0).shape == (3, 12)


def test_sample_shows_its_progress_over_many_images_unless_told_not_to(trained, capsys):
    model = trained("dense_vae")
    assert zoo.sample(model, 40, seed=0, batch_size=16).shape == (40, 28, 28, 1)  # "auto": 3 batches
    assert "40/40" in capsys.readouterr().out
    zoo.sample(model, 40, seed=0, batch_size=16, verbose=0)
    zoo.sample(model, 10, seed=0, batch_size=16)  # "auto": one batch, no bar
    assert capsys.readouterr().out == ""
    zoo.sample(model, 10, seed=0, batch_size=16, verbose=1)
    assert "10/10" in capsys.readouterr().out
    with pytest.raises(ValueError, match="verbose must be one of"):
        zoo.sample(model, 10, verbose=2)
