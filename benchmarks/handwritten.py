"""The hand-written twin of a zoo VAE: the baseline that `throughput.py` measures the zoo against.

`HandWritten(model, ...)` is the *same network* as the zoo model `model` — fresh copies of its own
Dense/Conv layers up to the distribution layers, with the same weights — trained by a `tf.function` +
`GradientTape` step with the loss written by hand: the Bernoulli log-likelihood from logits
(`sigmoid_cross_entropy_with_logits` summed over pixels) plus the closed-form KL of the Gaussian posterior
(full covariance or diagonal) to N(0, I), with a reparameterized sample and Adam, fed by `tf.data`.
`tests/test_benchmarks.py` checks that it computes the zoo's loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import zoo
from zoo import layers as zl
from zoo._tf import keras, tf, tfp, tfpl


def _deterministic_prefix(network: keras.Model) -> list[keras.layers.Layer]:
    """The layers of an encoder or decoder Sequential before its first distribution layer."""
    prefix = []
    for layer in network.layers:
        if isinstance(layer, tfpl.DistributionLambda):
            return prefix
        prefix.append(layer)
    raise ValueError(f"{network.name} has no distribution layer: it is not a VAE part.")


def _clone(network: keras.Model, input_shape: Sequence[int]) -> keras.Sequential:
    """Fresh copies of `network`'s deterministic layers, with the same weights."""
    layers = _deterministic_prefix(network)
    clone = keras.Sequential(
        [keras.Input(tuple(input_shape))] + [type(layer).from_config(layer.get_config()) for layer in layers]
    )
    for source, target in zip(layers, clone.layers, strict=True):
        target.set_weights(source.get_weights())
    return clone


class HandWritten:
    """The same VAE as a zoo model, trained by a hand-written `tf.function` step with the loss by hand.

    `fit_epochs(x, epochs)` trains on the binary images x [N, H, W, 1] with a `tf.data` pipeline (shuffle
    every epoch, batches of `batch_size`, prefetch), like `fit` with `shuffle=True`. `jit_compile=True`
    compiles the step with XLA, the twin of a zoo model built with `jit_compile=True`.
    """

    def __init__(self, model: zoo.ZooModel, batch_size: int, learning_rate: float, jit_compile: bool = False):
        posterior = next(x for x in model.encoder.layers if isinstance(x, tfpl.DistributionLambda))
        if not isinstance(posterior, (zl.MultivariateNormalTriL, zl.MultivariateNormalDiag)):
            raise ValueError(
                f"{model.zoo_name}: no hand-written twin for a {type(posterior).__name__} posterior."
            )
        self.full = isinstance(posterior, zl.MultivariateNormalTriL)
        self.latent_dim = posterior.event_size
        self.image_shape = tuple(model.inputs[0].shape[1:])
        self.encoder = _clone(model.encoder, self.image_shape)
        self.decoder = _clone(model.decoder, (self.latent_dim,))
        self.variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.batch_size = batch_size
        self.step = tf.function(
            self._step,
            input_signature=[tf.TensorSpec((None, *self.image_shape), tf.float32)],
            jit_compile=jit_compile,
        )
        self._datasets: dict[int, tf.data.Dataset] = {}

    def kl_and_sample(self, params: tf.Tensor, noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """KL(q(z|x) || N(0, I)) [N] in closed form, and z = loc + L noise [N, d], from the encoder's output
        params [N, params_size] (loc, then the scale's lower triangle, or its diagonal) and noise [N, d]."""
        d = self.latent_dim
        loc = params[:, :d]
        if self.full:
            tril = tfp.math.fill_triangular(params[:, d:])
            scale_diag = tf.math.softplus(tf.linalg.diag_part(tril)) + 1e-5
            # elementwise, not tf.linalg.set_diag, whose gradient XLA cannot compile for a short batch
            off_diagonal = 1.0 - tf.eye(d, dtype=params.dtype)
            scale = tril * off_diagonal + tf.linalg.diag(scale_diag)
            z = loc + tf.linalg.matvec(scale, noise)
            trace = tf.reduce_sum(tf.square(scale), axis=[-2, -1])  # tr(L L^T) = ||L||_F^2
        else:
            scale_diag = tf.math.softplus(params[:, d:]) + 1e-5
            z = loc + scale_diag * noise
            trace = tf.reduce_sum(tf.square(scale_diag), axis=-1)
        log_det = tf.reduce_sum(tf.math.log(scale_diag), axis=-1)
        return 0.5 * (trace + tf.reduce_sum(tf.square(loc), axis=-1) - d) - log_det, z

    def distortion(self, x: tf.Tensor, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        """-log p(x|z) [N] for binary images x [N, H, W, C]: sigmoid cross-entropy summed over pixels."""
        logits = tf.reshape(self.decoder(z, training=training), tf.shape(x))
        return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3])

    def negative_elbo(self, x: tf.Tensor) -> tf.Tensor:
        """Mean over the batch of -log p(x|z) + KL(q(z|x) || N(0, I)), z ~ q(z|x) reparameterized."""
        params = self.encoder(x, training=True)
        kl, z = self.kl_and_sample(params, tf.random.normal([tf.shape(x)[0], self.latent_dim]))
        return tf.reduce_mean(self.distortion(x, z, training=True) + kl)

    def _step(self, x: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self.negative_elbo(x)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.variables), self.variables, strict=True))
        return loss

    def dataset(self, x: np.ndarray) -> tf.data.Dataset:
        key = id(x)
        if key not in self._datasets:
            ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=0, reshuffle_each_iteration=True)
            options = tf.data.Options()
            options.autotune.enabled = False  # else each epoch's iterator may stall ~1 s on deletion
            self._datasets[key] = ds.batch(self.batch_size).prefetch(2).with_options(options)
        return self._datasets[key]

    def fit_epochs(self, x: np.ndarray, epochs: int) -> float:
        """Train `epochs` epochs on x; returns the last batch's loss."""
        loss = tf.constant(0.0)
        for _ in range(epochs):
            for batch in self.dataset(x):
                loss = self.step(batch)
        return float(loss)
