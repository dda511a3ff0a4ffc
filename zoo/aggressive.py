"""Aggressive encoder training (He, Spokoyny, Neubig & Berg-Kirkpatrick 2019, "Lagging Inference Networks and
Posterior Collapse in Variational Autoencoders"), as a Keras callback for `fit`.

Early in training the encoder lags behind the true posterior, and the decoder learns to ignore a code that
carries nothing yet: posterior collapse. The remedy: before each training step, update the encoder alone,
on fresh minibatches, until its loss stops falling; then take the usual step. Once the mutual information
I_q(x; z) between the data and the code stops rising from one epoch to the next, the encoder has caught up
and training goes on as usual (no inner steps).

>>> aggressive = zoo.callbacks.AggressiveEncoder(x_train)
>>> model.fit(x_train, x_train, epochs=20, batch_size=64, callbacks=[aggressive])
>>> model.history.history["aggressive"]          # 1.0 while the inner updates ran, e.g. [1, 1, 1, 0, ...]
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from zoo import checks, evaluation, inference
from zoo import layers as zl
from zoo._tf import keras, tf
from zoo.model import kl_layers


class _ExpectedSlowness(logging.Filter):
    """Drops Keras' warning that `on_train_batch_begin` is slow compared to the batch: here that time is the
    inner steps, the callback's whole point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`on_train_batch_begin` is slow" not in record.getMessage()


class AggressiveEncoder(keras.callbacks.Callback):
    """Before every training step while the phase lasts, up to `max_inner_steps` updates of the encoder's
    weights only (Adam at `learning_rate`, its own state), each on a minibatch of `batch_size` drawn at random
    from `x`, on the model's own loss (reconstruction + beta * KL). Every `check_every` inner steps the mean
    loss of those steps is compared with the previous window's: when it did not fall, the inner loop stops
    (He et al.'s convergence test). After each epoch, I_q(x; z) is estimated on the first `mi_examples` of
    `x` (`zoo.evaluation.mutual_information`, fixed seed); the phase ends after the first epoch whose
    estimate is not above the best so far.

    "The encoder" is every trainable weight of `model.encoder` that a draw z ~ q(z|x) depends on: the prior's
    own weights (a learned mixture, a flow prior, VampPrior pseudo-inputs, hvae's p(z1|z2)) belong to the
    generative model and stay put, as do the decoder's. The outer step is `fit`'s usual joint step (He et
    al. update only the decoder there; the difference is one encoder step in `max_inner_steps + 1`).

    Logged every epoch: `aggressive` (1.0 if the inner updates ran in it), `encoder_steps` (how many) and
    `mutual_information` (the estimate above, at most about log(mi_examples) nats).

    Args:
        x: the training inputs [N, ...] as the model's likelihood takes them (binary digits for Bernoulli
            pixels), N >= batch_size; the same `x` given to `fit` (without dynamic binarization).
        labels: class ids [N] for a conditional model, else None. Default value: None.
        batch_size: examples per inner step. Default value: 64.
        max_inner_steps: the most inner steps before one training step (He et al.: 100). Default value: 100.
        check_every: inner steps per convergence check (He et al.: 15). Default value: 15.
        mi_examples: examples of `x` the mutual information is estimated on. Default value: 500.
        learning_rate: the inner updates' Adam step size; None takes the model's optimizer's at the start
            of `fit`. Default value: None.
        seed: seeds the minibatch draws and the estimate. Default value: 0.

    Costs: up to `max_inner_steps` extra steps per training step while the phase lasts (He et al. report
    2-3x the time of a plain VAE overall). With `steps_per_execution` = K the inner loop runs once per K
    steps. One device: not under a distribution strategy.
    """

    def __init__(
        self,
        x: Any,
        labels: Any = None,
        batch_size: int = 64,
        max_inner_steps: int = 100,
        check_every: int = 15,
        mi_examples: int = 500,
        learning_rate: float | None = None,
        seed: int = 0,
    ):
        super().__init__()
        self.x = np.asarray(x, dtype=np.float32)
        self.labels = None if labels is None else np.asarray(labels)
        self.batch_size = checks.integer("batch_size", batch_size)
        self.max_inner_steps = checks.integer("max_inner_steps", max_inner_steps)
        self.check_every = checks.integer("check_every", check_every)
        self.mi_examples = checks.integer("mi_examples", mi_examples, minimum=2)
        self.learning_rate = None if learning_rate is None else checks.number("learning_rate", learning_rate)
        self.seed = checks.integer("seed", seed, minimum=0)
        if len(self.x) < self.batch_size:
            raise ValueError(
                f"AggressiveEncoder got {len(self.x)} examples for inner steps of batch_size={self.batch_size}: "
                "pass the training data, or a smaller batch_size."
            )
        self.aggressive = True
        self.best_information = -math.inf
        self._rng = np.random.default_rng(self.seed)
        self._steps_this_epoch = 0

    def on_train_begin(self, logs=None):
        model = self.model
        kl_layers(model, "AggressiveEncoder")
        if model.distribute_strategy.num_replicas_in_sync > 1:
            raise ValueError("AggressiveEncoder runs on one device: build the model without a strategy.")
        self._inputs = model.inputs_for(self.x, self.labels)  # raises for a conditional model without labels
        self.encoder_variables = self._encoder_variables()
        rate = self.learning_rate
        if rate is None:  # the model's: a number, a variable, or a schedule of the step
            rate = model.optimizer.learning_rate
            rate = float(keras.backend.get_value(rate(model.optimizer.iterations) if callable(rate) else rate))
        self._optimizer = keras.optimizers.Adam(rate)
        self._optimizer.build(self.encoder_variables)
        self._step = tf.function(self._encoder_step)
        self._quiet = _ExpectedSlowness()
        tf.get_logger().addFilter(self._quiet)

    def on_train_end(self, logs=None):
        tf.get_logger().removeFilter(self._quiet)

    def _batch(self, rows: np.ndarray) -> tuple[Any, np.ndarray]:
        inputs = [part[rows] for part in self._inputs] if isinstance(self._inputs, list) else self._inputs[rows]
        return inputs, self.x[rows]

    def _encoder_variables(self) -> list[tf.Variable]:
        """The encoder's trainable weights that a reparameterized draw z ~ q(z|x) depends on."""
        inputs, _ = self._batch(np.arange(min(len(self.x), 8)))
        candidates = self.model.encoder.trainable_variables
        with tf.GradientTape() as tape:
            z = self.model.encoder(inputs, training=False).sample(seed=(self.seed, 0))
        gradients = tape.gradient(z, candidates)
        return [v for v, g in zip(candidates, gradients, strict=True) if g is not None]

    def _encoder_step(self, inputs: Any, target: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            outputs = self.model(inputs, training=True)
            loss = tf.reduce_mean(zl.negative_log_likelihood(target, outputs)) + tf.add_n(self.model.losses)
        gradients = tape.gradient(loss, self.encoder_variables)
        self._optimizer.apply_gradients(zip(gradients, self.encoder_variables, strict=True))
        return loss

    def encoder_steps(self) -> list[float]:
        """Run one inner loop now: encoder-only steps until a window's mean loss stops falling, at most
        `max_inner_steps`. Returns the inner steps' losses (nats per example)."""
        losses, previous = [], math.inf
        while len(losses) < self.max_inner_steps:
            rows = self._rng.choice(len(self.x), self.batch_size, replace=False)
            losses.append(float(self._step(*self._batch(rows))))
            if len(losses) % self.check_every == 0:
                window = float(np.mean(losses[-self.check_every :]))
                if window >= previous:
                    break
                previous = window
        self._steps_this_epoch += len(losses)
        return losses

    def on_epoch_begin(self, epoch, logs=None):
        self._steps_this_epoch = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.aggressive:
            self.encoder_steps()

    def mutual_information(self) -> float:
        """I_q(x; z) on the first `mi_examples` of `x`, nats (a fixed seed: the same weights, the same value)."""
        rows = slice(0, self.mi_examples)
        labels = None if self.labels is None else self.labels[rows]
        posterior = inference.encode(self.model, self.x[rows], self.model.labels_or_none(labels))
        return evaluation.mutual_information(posterior, seed=self.seed)

    def on_epoch_end(self, epoch, logs=None):
        information = self.mutual_information()
        if logs is not None:
            logs.update(
                aggressive=float(self.aggressive),
                encoder_steps=float(self._steps_this_epoch),
                mutual_information=information,
            )
        if self.aggressive and information <= self.best_information:
            self.aggressive = False
        self.best_information = max(self.best_information, information)
