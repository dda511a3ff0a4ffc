"""The zoo's probabilistic layers: correct where the stock `tfp.layers` are subtly wrong.

Each layer keeps only plain values (ints, floats, strings) in `get_config` and rebuilds its callables in
`__init__`, so a model file loads with `safe_mode=True` and never unpickles code. The stock layers differ:

- `tfpl.MultivariateNormalTriL` has no `get_config`: a model holding it saves but never loads.
- `tfpl.IndependentBernoulli` stores cloudpickled lambdas: loading needs `safe_mode=False`.
- `tfpl.KLDivergenceRegularizer` adds the KL twice; `tfpl.KLDivergenceAddLoss(use_exact_kl=True)` adds the
  batch *sum*, so the KL weight changes with the batch size and the number of replicas.

`KLDivergence` adds exactly `beta * mean_over_batch KL(q(z|x) || p(z))`, whatever the estimator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from zoo._tf import keras, tf, tfd, tfp, tfpl

_PACKAGE = "zoo"
_CONVERT_TO_TENSOR = {
    "sample": tfd.Distribution.sample,
    "mean": tfd.Distribution.mean,
    "mode": tfd.Distribution.mode,
}
_SCALE_DIAG_SHIFT = 1e-5  # keeps the posterior scale positive definite, as tfp.bijectors.FillScaleTriL does


def _convert_fn(name: str):
    if name not in _CONVERT_TO_TENSOR:
        raise ValueError(f"convert_to_tensor must be one of {sorted(_CONVERT_TO_TENSOR)}; got {name!r}.")
    return _CONVERT_TO_TENSOR[name]


class _PlainConfigDistribution(tfpl.DistributionLambda):
    """A `DistributionLambda` whose config holds plain values only (subclasses add their own)."""

    def __init__(self, make_distribution_fn, convert_to_tensor: str, **kwargs):
        super().__init__(make_distribution_fn, convert_to_tensor_fn=_convert_fn(convert_to_tensor), **kwargs)
        self.convert_to_tensor = convert_to_tensor

    def get_config(self) -> dict:
        # Skip DistributionLambda.get_config: it pickles the callables.
        return {**keras.layers.Layer.get_config(self), "convert_to_tensor": self.convert_to_tensor}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        # Skip keras.layers.Lambda.from_config: it expects a pickled function.
        return cls(**config)


@keras.utils.register_keras_serializable(_PACKAGE)
class MultivariateNormalTriL(_PlainConfigDistribution):
    """Full-covariance Gaussian q(z|x) from a flat parameter vector.

    Input: params [N, params_size(event_size)] (loc, then the lower triangle of the scale). Output: a
    `tfd.MultivariateNormalTriL` with batch shape [N] and event shape [event_size]; as a tensor it is a
    reparameterized sample (`convert_to_tensor="sample"`, the default) or the mean/mode.

    The scale's diagonal goes through softplus + 1e-5, as in the stock layer, but the triangle is filled with
    plain tensor ops (no bijector), which keeps the layer usable under XLA with a short final batch.
    """

    def __init__(self, event_size: int, convert_to_tensor: str = "sample", **kwargs):
        self.event_size = int(event_size)
        super().__init__(lambda params: self.new(params, self.event_size), convert_to_tensor, **kwargs)

    @staticmethod
    def params_size(event_size: int) -> int:
        return event_size + event_size * (event_size + 1) // 2

    @staticmethod
    def new(params: tf.Tensor, event_size: int) -> tfd.Distribution:
        loc = params[..., :event_size]
        tril = tfp.math.fill_triangular(params[..., event_size:])
        scale_diag = tf.math.softplus(tf.linalg.diag_part(tril)) + _SCALE_DIAG_SHIFT
        return tfd.MultivariateNormalTriL(loc=loc, scale_tril=tf.linalg.set_diag(tril, scale_diag))

    def get_config(self) -> dict:
        return {**super().get_config(), "event_size": self.event_size}


@keras.utils.register_keras_serializable(_PACKAGE)
class IndependentBernoulli(_PlainConfigDistribution):
    """Independent Bernoulli pixels p(x|z) from flat logits.

    Input: logits [N, prod(event_shape)]. Output: `Independent(Bernoulli)` with batch shape [N] and event
    shape `event_shape` (e.g. [28, 28, 1]); samples are float32 in {0, 1}. As a tensor it is the mean (pixel
    probabilities) by default, which is what `predict` should show.
    """

    def __init__(self, event_shape: Sequence[int], convert_to_tensor: str = "mean", **kwargs):
        self.event_shape = tuple(int(d) for d in event_shape)
        super().__init__(lambda logits: self.new(logits, self.event_shape), convert_to_tensor, **kwargs)

    @staticmethod
    def params_size(event_shape: Sequence[int]) -> int:
        return math.prod(event_shape)

    @staticmethod
    def new(logits: tf.Tensor, event_shape: Sequence[int]) -> tfd.Distribution:
        logits = tf.reshape(logits, tf.concat([tf.shape(logits)[:-1], event_shape], axis=0))
        bernoulli = tfd.Bernoulli(logits=logits, dtype=logits.dtype)
        return tfd.Independent(bernoulli, reinterpreted_batch_ndims=len(event_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "event_shape": list(self.event_shape)}


def standard_normal(latent_dim: int, dtype=tf.float32) -> tfd.Distribution:
    """The standard normal prior p(z) = N(0, I) over [latent_dim] (a `MultivariateNormalDiag`)."""
    return tfd.MultivariateNormalDiag(loc=tf.zeros([latent_dim], dtype=dtype))


@keras.utils.register_keras_serializable(_PACKAGE)
class KLDivergence(keras.layers.Layer):
    """Adds `beta * mean over the batch of KL(q(z|x) || p(z))` to the model's losses; passes q through.

    Args:
        beta: the KL weight. Held in a non-trainable weight (`layer.beta`), so the optimizer never trains it
            and a callback may assign it between steps (KL annealing). Default value: 1.0.
        estimator: "exact" (closed form, `tfd.kl_divergence`) or "mc" (Monte-Carlo: the mean over
            `test_points` samples z ~ q of log q(z) - log p(z)). Default value: "exact".
        test_points: number of samples for the "mc" estimator. Default value: 1.

    The KL also shows up in the progress bar and the History as the metric `kl` (unweighted, nats/example).
    Input: a distribution with batch shape [N] and event shape [latent_dim]. Output: the same distribution.
    """

    ESTIMATORS = ("exact", "mc")

    def __init__(self, beta: float = 1.0, estimator: str = "exact", test_points: int = 1, **kwargs):
        super().__init__(**kwargs)
        if estimator not in self.ESTIMATORS:
            raise ValueError(f"estimator must be one of {self.ESTIMATORS}; got {estimator!r}.")
        if float(beta) < 0:
            raise ValueError(f"beta must be >= 0; got {beta}.")
        if int(test_points) < 1:
            raise ValueError(f"test_points must be >= 1; got {test_points}.")
        self.initial_beta = float(beta)
        self.estimator = estimator
        self.test_points = int(test_points)

    def build(self, input_shape):
        self.latent_dim = int(input_shape[-1])
        self.beta = self.add_weight(
            name="beta",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_beta),
            trainable=False,
        )
        super().build(input_shape)

    def prior(self) -> tfd.Distribution:
        """p(z) over [latent_dim]."""
        return standard_normal(self.latent_dim, dtype=self.dtype)

    def kl_per_example(self, posterior: tfd.Distribution) -> tf.Tensor:
        """KL(q(z|x) || p(z)) per example: [N] nats."""
        prior = self.prior()
        if self.estimator == "exact":
            return tfd.kl_divergence(posterior, prior)
        z = posterior.sample(self.test_points)  # [test_points, N, latent_dim]
        return tf.reduce_mean(posterior.log_prob(z) - prior.log_prob(z), axis=0)

    def call(self, posterior):
        kl = tf.reduce_mean(self.kl_per_example(posterior))
        self.add_loss(tf.cast(self.beta, kl.dtype) * kl)
        self.add_metric(kl, name="kl")
        return posterior

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta": self.initial_beta,
            "estimator": self.estimator,
            "test_points": self.test_points,
        }


@keras.utils.register_keras_serializable(_PACKAGE)
class OneHot(keras.layers.Layer):
    """Integer class labels [N] or [N, 1] -> one-hot float32 [N, num_classes]."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def call(self, labels):
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        return tf.one_hot(labels, self.num_classes, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.utils.register_keras_serializable(_PACKAGE)
def negative_log_likelihood(x: tf.Tensor, rv_x: tfd.Distribution) -> tf.Tensor:
    """The training loss: -log p(x|z) per example, [N] nats. `rv_x` is the decoder's output distribution."""
    return -rv_x.log_prob(x)
