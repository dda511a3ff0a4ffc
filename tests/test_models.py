"""Every registered model held to the same bar: builds, right shapes, learns, saves and loads safely."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import model_inputs, small_hparams

import zoo
from zoo import registry
from zoo._tf import keras, tf, tfd

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
def test_emits_distributions_of_the_right_shapes(name, digits):
    x, y = digits
    model = zoo.get(name, **small_hparams(name))
    output = model(model_inputs(model, x[:5], y[:5]))
    assert isinstance(output, tfd.Distribution)
    assert output.batch_shape == [5] and output.event_shape == [28, 28, 1]
    if not model.has_latent_code:
        with pytest.raises(ValueError, match="no encoder"):
            zoo.encode(model, x[:5])
        return
    posterior = zoo.encode(model, x[:5], y[:5] if model.is_conditional else None)
    assert posterior.batch_shape == [5] and posterior.event_shape == [2]
    likelihood = zoo.decode(
        model, np.zeros((3, 2), np.float32), np.arange(3) if model.is_conditional else None
    )
    assert likelihood.batch_shape == [3] and likelihood.event_shape == [28, 28, 1]


@pytest.mark.parametrize("name", MODELS)
def test_fits_real_digits_with_decreasing_loss(name, digits):
    x, y = digits
    model = zoo.get(name, **small_hparams(name))
    history = model.fit(model_inputs(model, x, y), x, epochs=3, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] - 20, losses


def _deterministic_outputs(model: zoo.ZooModel, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Posterior mean and stddev, decoder probabilities at fixed z: all independent of sampling. For a
    model without a latent code: its mean image and log p(x)."""
    if not model.has_latent_code:
        return [model(x).mean().numpy(), model(x).log_prob(x).numpy()]
    labels = y if model.is_conditional else None
    posterior = zoo.encode(model, x, labels)
    z = np.linspace(-1, 1, 2 * len(x), dtype=np.float32).reshape(len(x), 2)
    return [posterior.mean().numpy(), posterior.stddev().numpy(), zoo.decode(model, z, labels).mean().numpy()]


@pytest.mark.parametrize("name", MODELS)
def test_saves_and_loads_with_safe_mode(name, digits, tmp_path):
    x, y = digits
    model = zoo.get(name, **small_hparams(name))
    model.fit(model_inputs(model, x, y), x, epochs=1, batch_size=128, verbose=0)
    model.save(tmp_path / "model.keras")
    tf.random.set_seed(3)
    loss_before = model.evaluate(model_inputs(model, x, y), x, verbose=0)
    for again in (
        zoo.load(tmp_path / "model.keras"),
        keras.models.load_model(tmp_path / "model.keras", safe_mode=True),
    ):
        assert type(again) is zoo.ZooModel and again.zoo_name == name and again.hparams == model.hparams
        for before, after in zip(
            _deterministic_outputs(model, x[:8], y[:8]),
            _deterministic_outputs(again, x[:8], y[:8]),
            strict=True,
        ):
            np.testing.assert_allclose(after, before, atol=1e-6)
        # the optimizer state comes back too, so training resumes where it stopped
        assert again.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()
        tf.random.set_seed(3)
        loss_after = again.evaluate(model_inputs(again, x, y), x, verbose=0)
        np.testing.assert_allclose(loss_after, loss_before, rtol=1e-5)


EXACT_KL = [
    name
    for name in MODELS
    if registry.settings(name).get("prior", "normal") == "normal"
    and registry.settings(name).get("objective", "elbo") == "elbo"
]


@pytest.mark.parametrize("name", EXACT_KL)
def test_loss_is_reconstruction_plus_mean_kl(name, digits):
    """The loss Keras reports is -log p(x|z) + beta * mean KL(q(z|x) || N(0, I)) per example, in nats.
    (The Monte-Carlo KL of the mixture prior is checked in test_layers.py, the IWAE loss in test_vae.py.)"""
    x, y = digits
    model = zoo.get(name, **small_hparams(name), **({"beta": 0.5} if "beta" in zoo.defaults(name) else {}))
    model.run_eagerly = True  # the same random draws as the eager computation below
    inputs = model_inputs(model, x[:64], y[:64])
    tf.random.set_seed(7)
    loss = model.evaluate(inputs, x[:64], batch_size=64, verbose=0)
    if not model.has_latent_code:
        expected = -tf.reduce_mean(model(inputs).log_prob(x[:64]))
        np.testing.assert_allclose(np.atleast_1d(loss)[0], expected, rtol=1e-5)
        return
    tf.random.set_seed(7)
    posterior = model.encoder(inputs)
    likelihood = model.decoder([posterior, inputs[1]] if model.is_conditional else posterior)
    expected = -tf.reduce_mean(likelihood.log_prob(x[:64])).numpy()
    if "beta" in zoo.defaults(name):
        expected += 0.5 * tf.reduce_mean(
            tfd.kl_divergence(posterior, tfd.MultivariateNormalDiag(tf.zeros(2)))
        )
    np.testing.assert_allclose(np.atleast_1d(loss)[0], expected, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_builds_for_other_image_shapes(name):
    hparams = dict(small_hparams(name), input_shape=(32, 32, 3))
    model = zoo.get(name, **hparams)
    x = (np.random.default_rng(0).random((4, 32, 32, 3)) > 0.5).astype(np.float32)
    output = model(model_inputs(model, x, np.arange(4)))
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


@pytest.mark.parametrize("name", ["dense_vae", "cvae"])  # every model: benchmarks/throughput.py --parts xla
def test_trains_under_xla_with_a_short_final_batch(name, digits, tmp_path):
    """The jit_compile=True hyperparameter, with a batch size that leaves a short final batch (100 = 64 + 36):
    the stock full-covariance layer's set_diag gradient cannot be compiled then. A saved model keeps XLA."""
    x, y = digits
    model = zoo.get(name, **small_hparams(name), jit_compile=True)
    assert model.jit_compile
    history = model.fit(model_inputs(model, x[:100], y[:100]), x[:100], epochs=2, batch_size=64, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    model.save(tmp_path / "model.keras")
    assert zoo.load(tmp_path / "model.keras").jit_compile
