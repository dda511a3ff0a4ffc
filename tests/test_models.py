"""Every registered model held to the same bar: builds, right shapes, learns, saves and loads safely."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import layers as zl
from zoo._tf import keras, tf, tfd
from zoo.model import layers_of_type

MODELS = zoo.list_models()


def test_the_four_core_models_are_registered():
    assert {"autoencoder", "dense_vae", "conv_vae", "cvae"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_builds_with_defaults_compiled(name):
    model = zoo.get(name)
    assert isinstance(model, zoo.ZooModel) and isinstance(model, keras.Model)
    assert model.optimizer is not None and model.zoo_name == name
    for key, default in zoo.defaults(name).items():
        assert model.hparams[key] == (list(default) if isinstance(default, tuple) else default), key
    if model.has_latent_code:
        assert isinstance(model.encoder, keras.Model) and isinstance(model.decoder, keras.Model)
    assert model.count_params() > 0


@pytest.mark.parametrize("name", MODELS)
def test_emits_distributions_of_the_right_shapes(name, digits, trained):
    model = trained(name)
    x, y = digits
    output = model(model.inputs_for(x[:5], y[:5]))
    assert isinstance(output, tfd.Distribution)
    assert output.batch_shape == [5] and output.event_shape == [28, 28, 1]
    if not model.has_latent_code:
        with pytest.raises(ValueError, match="no encoder"):
            zoo.encode(model, x[:5])
        return
    posterior = zoo.encode(model, x[:5], model.labels_or_none(y[:5]))
    assert posterior.batch_shape == [5] and posterior.event_shape == [zoo.inference.latent_dim(model)]
    z = np.zeros((3, zoo.inference.latent_dim(model)), np.float32)
    likelihood = zoo.decode(model, z, model.labels_or_none(np.arange(3)))
    assert likelihood.batch_shape == [3] and likelihood.event_shape == [28, 28, 1]


@pytest.mark.parametrize("name", MODELS)
def test_fits_real_digits_with_decreasing_loss(name, trained):
    losses = trained.history(name).history["loss"]  # 3 epochs of batch 64 on the 512 digits
    assert len(losses) == 3 and all(np.isfinite(losses)) and losses[-1] < losses[0] - 20, losses


def _deterministic_outputs(model: zoo.ZooModel, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Posterior mean and stddev, decoder probabilities at fixed z: all independent of sampling. For a
    model without a latent code: its mean image and log p(x)."""
    if not model.has_latent_code:
        return [model(x).mean().numpy(), model(x).log_prob(x).numpy()]
    labels = model.labels_or_none(y)
    posterior = zoo.encode(model, x, labels)
    size = zoo.inference.latent_dim(model)
    z = np.linspace(-1, 1, size * len(x), dtype=np.float32).reshape(len(x), size)
    return [posterior.mean().numpy(), posterior.stddev().numpy(), zoo.decode(model, z, labels).mean().numpy()]


def _seeded_loss(model: zoo.ZooModel, x: np.ndarray, y: np.ndarray) -> float:
    """The loss `evaluate` reports for x as one batch (its test step, run eagerly: no graph to build), with
    the random draws of global seed 3."""
    tf.random.set_seed(3)
    inputs, x = tf.nest.map_structure(tf.constant, (model.inputs_for(x, y), x))
    return float(model.compute_loss(inputs, x, model(inputs, training=False)))


@pytest.mark.parametrize("name", MODELS)
def test_saves_and_loads_with_safe_mode(name, digits, trained, tmp_path):
    model = trained(name)
    x, y = digits
    model.save(tmp_path / "model.keras")
    again = zoo.load(tmp_path / "model.keras")
    assert type(again) is zoo.ZooModel and again.zoo_name == name and again.hparams == model.hparams
    for before, after in zip(
        _deterministic_outputs(model, x[:8], y[:8]), _deterministic_outputs(again, x[:8], y[:8]), strict=True
    ):
        np.testing.assert_allclose(after, before, atol=1e-6)
    # the optimizer state comes back too, so training resumes where it stopped
    assert again.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() > 0
    loss = _seeded_loss(model, x[:64], y[:64])
    assert np.isfinite(loss) and _seeded_loss(again, x[:64], y[:64]) == pytest.approx(loss, rel=1e-5)


def test_plain_keras_loads_a_model_file_safely_once_zoo_is_imported(digits, trained, tmp_path):
    """zoo.load above is this call behind its file checks (zoo/io.py), so one model stands for all."""
    model = trained("cvae")
    x, y = digits
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert type(again) is zoo.ZooModel and again.zoo_name == "cvae" and again.hparams == model.hparams
    for before, after in zip(
        _deterministic_outputs(model, x[:8], y[:8]), _deterministic_outputs(again, x[:8], y[:8]), strict=True
    ):
        np.testing.assert_allclose(after, before, atol=1e-6)
    assert again.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()


def _exact_kl(posterior: tfd.Distribution) -> tf.Tensor | None:
    """KL(q(z|x) || N(0, I)) per example in closed form, or None where TFP has none for q (a flow)."""
    try:
        return tfd.kl_divergence(posterior, tfd.MultivariateNormalDiag(tf.zeros(posterior.event_shape)))
    except NotImplementedError:
        return None


@pytest.mark.parametrize("name", MODELS)
def test_loss_is_reconstruction_plus_mean_kl_added_once(name, digits):
    """The loss Keras reports is -log p(x|z) + beta * mean KL(q(z|x) || p(z)) per example, in nats, the KL
    added exactly once. Checked in closed form where the model's KL layer is the plain one with p(z) = N(0, I)
    and TFP has the KL for q; otherwise the one added loss (the VQ-VAE's: its codebook, commitment and prior
    terms) is what the loss holds beyond the reconstruction (each such layer's estimate is checked on its own
    in test_layers.py, test_vae.py (IWAE) and the model's test file)."""
    x, y = digits
    model = zoo.get(name, **small_hparams(name), **({"beta": 0.5} if "beta" in zoo.defaults(name) else {}))
    model.run_eagerly = True  # the same random draws as the eager computation below
    inputs = model.inputs_for(x[:64], y[:64])
    tf.random.set_seed(7)
    loss = np.atleast_1d(model.evaluate(inputs, x[:64], batch_size=64, verbose=0))[0]
    tf.random.set_seed(7)
    loss_layers = layers_of_type(model, (zl.KLDivergence, zl.VectorQuantizer))
    if not loss_layers:  # the mixture, the plain autoencoder, a model trained on the IWAE bound (no KL layer)
        np.testing.assert_allclose(loss, -tf.reduce_mean(model(inputs).log_prob(x[:64])), rtol=1e-5)
        assert not model.losses
        return
    posterior = model.encoder(inputs)
    likelihood = model.decoder([posterior, inputs[1]] if model.is_conditional else posterior)
    expected = -tf.reduce_mean(likelihood.log_prob(x[:64])).numpy()
    assert len(loss_layers) == 1 and len(model.encoder.losses) == 1, model.encoder.losses
    exact = _exact_kl(posterior)
    if type(loss_layers[0]) is zl.KLDivergence and loss_layers[0].prior_kind == "normal" and exact is not None:
        expected += 0.5 * tf.reduce_mean(exact).numpy()
    else:
        expected += float(model.encoder.losses[0])
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_builds_for_other_image_shapes(name):
    hparams = dict(small_hparams(name), input_shape=(32, 32, 3))
    model = zoo.get(name, **hparams)
    x = (np.random.default_rng(0).random((4, 32, 32, 3)) > 0.5).astype(np.float32)
    output = model(model.inputs_for(x, np.arange(4)))
    assert output.event_shape == [32, 32, 3]


def test_steps_per_execution_runs_several_steps_per_call(digits):
    """K steps per call from Keras' loop: every step still trains, batch callbacks see every K-th."""
    x, _ = digits
    model = zoo.get("dense_vae", **small_hparams("dense_vae"), steps_per_execution=4)
    calls = []
    counter = zoo.keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: calls.append(batch))
    model.fit(x[:100], x[:100], epochs=1, batch_size=10, verbose=0, callbacks=[counter])
    assert int(model.optimizer.iterations.numpy()) == 10
    assert calls == [3, 7, 9]  # the index of the last step of each call: 4 + 4 + 2 steps


@pytest.mark.parametrize("name", MODELS)
def test_the_first_fit_traces_the_train_step_once(name, trained):
    """Keras lets Adam create its moments inside the first trace, and a tf.function that creates variables
    is traced twice; ZooModel.make_train_function creates them first (the shared model's fit: 3 epochs of
    8 full batches, one input signature)."""
    assert trained(name).train_function.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("name", MODELS)
def test_building_leaves_no_loss_behind(name):
    """Building calls every layer on placeholders only to learn its output shape; the KL layers skip the KL
    there (`zoo.layers.base.inferring_output_shape`: the build of most models takes half the time). Each
    `fit` step computes it: the tests of the KL and of the first fit's loss check that."""
    assert zoo.get(name, **small_hparams(name)).losses == []


@pytest.mark.slow
def test_trains_under_xla_with_a_short_final_batch(digits, tmp_path):
    """The jit_compile=True hyperparameter, with a batch size that leaves a short final batch (100 = 64 + 36):
    the stock full-covariance layer's set_diag gradient cannot be compiled then. A saved model keeps XLA.
    cvae holds every layer dense_vae does and the label's; every model: benchmarks/throughput.py --parts xla."""
    x, y = digits
    model = zoo.get("cvae", **small_hparams("cvae"), jit_compile=True)
    assert model.jit_compile
    history = model.fit(model.inputs_for(x[:100], y[:100]), x[:100], epochs=2, batch_size=64, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    model.save(tmp_path / "model.keras")
    assert zoo.load(tmp_path / "model.keras").jit_compile


@pytest.mark.parametrize("name", MODELS)
def test_a_model_knows_its_inputs_and_whether_it_samples(name, digits, trained):
    model = trained(name)
    x, y = digits[0][:3], digits[1][:3]
    if model.is_conditional:
        assert model.inputs_for(x, y) == [x, y] and model.labels_or_none(y) is y
        with pytest.raises(ValueError, match="is conditional: pass labels"):
            model.inputs_for(x)
    else:
        assert model.inputs_for(x, y) is x and model.labels_or_none(y) is None
    if model.is_generative:
        assert zoo.sample(model, 2, labels=model.labels_or_none(1), seed=0).shape == (2, 28, 28, 1)
    else:
        with pytest.raises(ValueError, match="not generative"):
            zoo.sample(model, 2)
    assert model.has_prior == (model.is_generative and model.has_latent_code)


@pytest.mark.parametrize("name, every", [("cvae", False), ("cvae", True), ("conv_cvae", True)])
def test_the_label_joins_the_first_or_every_decoder_layer(name, every):
    model = zoo.get(name, **small_hparams(name), label_every_layer=every)
    layers = zoo.model.layers_of_type(model.decoder, keras.layers.Layer)
    weighted = [layer for layer in layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
    joins = [layer for layer in layers if isinstance(layer, keras.layers.Concatenate)]
    assert len(joins) == (len(weighted) if every else 1)  # one join in front of each, or of the first
    z = np.zeros((2, model.decoder.inputs[0].shape[-1]), np.float32)
    means = model.decoder([z, np.array([[3], [7]])]).mean().numpy()
    assert not np.allclose(means[0], means[1])  # the same code, two labels: two images
