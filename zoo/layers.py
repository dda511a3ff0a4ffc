"""The zoo's probabilistic layers: correct where the stock `tfp.layers` are subtly wrong.

Each layer keeps only plain values (ints, floats, strings) in `get_config` and rebuilds its callables in
`__init__`, so a model file loads with `safe_mode=True` and never unpickles code. The stock layers differ:

- `tfpl.MultivariateNormalTriL` has no `get_config`: a model holding it saves but never loads.
- `tfpl.IndependentBernoulli` stores cloudpickled lambdas: loading needs `safe_mode=False`.
- `tfpl.KLDivergenceRegularizer` adds the KL twice; `tfpl.KLDivergenceAddLoss(use_exact_kl=True)` adds the
  batch *sum*, so the KL weight changes with the batch size and the number of replicas.

`KLDivergence` adds exactly `beta * mean_over_batch KL(q(z|x) || p(z))`, whatever the estimator (exact or
Monte-Carlo) and whatever the prior (standard normal or a learned mixture).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

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
    """A `DistributionLambda` whose config holds plain values only (subclasses add their own).

    DistributionLambda marks "inside __call__" in a flag on the layer; MirroredStrategy calls a layer from
    one thread per replica, so one replica could reset the flag while another is inside `call` (which then
    returns the wrong structure). The flag is kept per thread here.
    """

    def __init__(self, make_distribution_fn, convert_to_tensor: str, **kwargs):
        self._per_thread = threading.local()
        super().__init__(make_distribution_fn, convert_to_tensor_fn=_convert_fn(convert_to_tensor), **kwargs)
        self.convert_to_tensor = convert_to_tensor

    @property
    def _enter_dunder_call(self) -> bool:
        return getattr(self._per_thread, "enter_dunder_call", False)

    @_enter_dunder_call.setter
    def _enter_dunder_call(self, value: bool) -> None:
        self._per_thread.enter_dunder_call = value

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
        # Not tf.linalg.set_diag: its gradient builds zeros of a dynamic shape, which XLA cannot compile when
        # the batch size varies (a short final batch).
        off_diagonal = 1.0 - tf.eye(event_size, dtype=params.dtype)
        return tfd.MultivariateNormalTriL(
            loc=loc, scale_tril=tril * off_diagonal + tf.linalg.diag(scale_diag)
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "event_size": self.event_size}


@keras.utils.register_keras_serializable(_PACKAGE)
class IndependentBernoulli(_PlainConfigDistribution):
    """Independent Bernoulli pixels p(x|z) from flat logits.

    Input: logits [N, prod(event_shape)] or [N, *event_shape]. Output: `Independent(Bernoulli)`, batch [N], event
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
        bernoulli = tfd.Bernoulli(logits=tf.reshape(logits, [-1, *event_shape]), dtype=logits.dtype)
        return tfd.Independent(bernoulli, reinterpreted_batch_ndims=len(event_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "event_shape": list(self.event_shape)}


@keras.utils.register_keras_serializable(_PACKAGE)
class MultivariateNormalDiag(_PlainConfigDistribution):
    """Diagonal Gaussian q(z|x) from a flat parameter vector: params [N, 2 * event_size] (loc, then the
    pre-softplus scale) -> `tfd.MultivariateNormalDiag`, batch shape [N], event shape [event_size].

    A `MultivariateNormalDiag` rather than `Independent(Normal)`: TFP registers the exact KL from it to the
    standard normal prior, and none between `Independent(Normal)` and `MultivariateNormalDiag`.
    """

    def __init__(self, event_size: int, convert_to_tensor: str = "sample", **kwargs):
        self.event_size = int(event_size)
        super().__init__(lambda params: self.new(params, self.event_size), convert_to_tensor, **kwargs)

    @staticmethod
    def params_size(event_size: int) -> int:
        return 2 * event_size

    @staticmethod
    def new(params: tf.Tensor, event_size: int) -> tfd.Distribution:
        scale = tf.math.softplus(params[..., event_size:]) + _SCALE_DIAG_SHIFT
        return tfd.MultivariateNormalDiag(loc=params[..., :event_size], scale_diag=scale)

    def get_config(self) -> dict:
        return {**super().get_config(), "event_size": self.event_size}


@keras.utils.register_keras_serializable(_PACKAGE)
class IndependentNormal(_PlainConfigDistribution):
    """Independent Gaussian pixels p(x|z) for continuous data, from flat parameters.

    With `scale=None` (learned) each pixel takes two parameters, its mean and pre-softplus standard
    deviation: the input is [N, 2 * prod(event_shape)], or [N, H, W, 2 * C] with the means in the first C
    channels. With a fixed `scale` (a float) the input holds the means only and every pixel has that
    standard deviation. Output: `Independent(Normal)`, batch shape [N], event shape `event_shape`.
    """

    def __init__(
        self,
        event_shape: Sequence[int],
        scale: float | None = None,
        convert_to_tensor: str = "mean",
        **kwargs,
    ):
        self.event_shape = tuple(int(d) for d in event_shape)
        self.scale = None if scale is None else float(scale)
        super().__init__(
            lambda params: self.new(params, self.event_shape, self.scale), convert_to_tensor, **kwargs
        )

    @staticmethod
    def params_size(event_shape: Sequence[int], scale: float | None = None) -> int:
        return math.prod(event_shape) * (1 if scale is not None else 2)

    @staticmethod
    def new(params: tf.Tensor, event_shape: Sequence[int], scale: float | None) -> tfd.Distribution:
        per_pixel = 1 if scale is not None else 2
        params = tf.reshape(params, [-1, *event_shape[:-1], per_pixel * event_shape[-1]])
        if scale is None:
            loc, raw_scale = tf.split(params, 2, axis=-1)
            normal = tfd.Normal(
                loc=loc, scale=tf.math.softplus(raw_scale) + 1e-3
            )  # bounded log p on flat pixels
        else:
            normal = tfd.Normal(loc=params, scale=scale)
        return tfd.Independent(normal, reinterpreted_batch_ndims=len(event_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "event_shape": list(self.event_shape), "scale": self.scale}


def standard_normal(latent_dim: int, dtype=tf.float32) -> tfd.Distribution:
    """The standard normal prior p(z) = N(0, I) over [latent_dim] (a `MultivariateNormalDiag`)."""
    return tfd.MultivariateNormalDiag(loc=tf.zeros([latent_dim], dtype=dtype))


class HasPrior:
    """Mixin for the layers that own the prior p(z) over [latent_dim], so `zoo.sample` finds it.

    prior: "normal" (N(0, I)) or "mixture" (a learned mixture of `components` diagonal Gaussians with
    trainable locations, softplus scales and mixture logits: layer weights, so they are tracked, trained,
    saved, and created inside a distribution strategy's scope when the model is built in one).
    """

    PRIORS = ("normal", "mixture")

    def _init_prior(self, prior: str, components: int) -> None:
        if prior not in self.PRIORS:
            raise ValueError(f"prior must be one of {self.PRIORS}; got {prior!r}.")
        if int(components) < 1:
            raise ValueError(f"components must be >= 1; got {components}.")
        self.prior_kind, self.components = prior, int(components)

    def _build_prior(self, latent_dim: int) -> None:
        self.latent_dim = int(latent_dim)
        if self.prior_kind == "mixture":
            shape = (self.components, self.latent_dim)
            self.prior_locs = self.add_weight(
                name="prior_locs", shape=shape, initializer=keras.initializers.RandomNormal(stddev=1.0)
            )
            self.prior_raw_scales = self.add_weight(
                name="prior_raw_scales", shape=shape, initializer=keras.initializers.Constant(0.5413)
            )  # softplus(0.5413) = 1
            self.prior_logits = self.add_weight(
                name="prior_logits", shape=(self.components,), initializer="zeros"
            )

    def prior(self) -> tfd.Distribution:
        """p(z) over [latent_dim]: N(0, I), or the learned mixture built from this layer's weights."""
        if self.prior_kind == "normal":
            return standard_normal(self.latent_dim, dtype=self.dtype)
        scales = tf.math.softplus(self.prior_raw_scales) + _SCALE_DIAG_SHIFT
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=self.prior_logits),
            components_distribution=tfd.MultivariateNormalDiag(loc=self.prior_locs, scale_diag=scales),
        )

    def _prior_config(self) -> dict:
        return {"prior": self.prior_kind, "components": self.components}


@keras.utils.register_keras_serializable(_PACKAGE)
class KLDivergence(HasPrior, keras.layers.Layer):
    """Adds `beta * max(free_bits, mean over the batch of KL(q(z|x) || p(z)))` to the model's losses and
    passes q through. Holds the prior p(z), which may be learned (see `HasPrior`).

    Args:
        beta: the KL weight. Held in a non-trainable weight (`layer.beta`), so the optimizer never trains it
            and a callback may assign it between steps. While `layer.beta_schedule` is set (a function of no
            arguments returning a scalar tensor; `zoo.callbacks.KLAnnealing` sets it for one `fit`), each
            training step computes beta with it in the graph and stores it in `layer.beta`. Default value: 1.0.
        estimator: "exact" (closed form, `tfd.kl_divergence`; a clear error if TFP has none for the pair),
            "mc" (Monte-Carlo: the mean over `test_points` samples z ~ q of log q(z) - log p(z)), or "auto"
            (exact where TFP registers it, else Monte-Carlo, as for the mixture prior). Default value: "auto".
        test_points: number of samples z ~ q for the Monte-Carlo estimate. Default value: 1.
        prior: "normal" or "mixture". Default value: "normal".
        components: number of mixture components for `prior="mixture"`. Default value: 10.
        free_bits: nats of mean KL per example that cost nothing (Kingma et al. 2016 "free bits", with all
            latents as one group): the penalty is `beta * max(free_bits, KL)`. Default value: 0.

    The unweighted KL shows up in the progress bar and the History as the metric `kl` (nats/example).
    Input: a distribution with batch shape [N] and event shape [latent_dim]. Output: the same distribution.
    """

    ESTIMATORS = ("auto", "exact", "mc")

    def __init__(
        self,
        beta: float = 1.0,
        estimator: str = "auto",
        test_points: int = 1,
        prior: str = "normal",
        components: int = 10,
        free_bits: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._init_prior(prior, components)
        if estimator not in self.ESTIMATORS:
            raise ValueError(f"estimator must be one of {self.ESTIMATORS}; got {estimator!r}.")
        if prior == "mixture" and estimator == "exact":
            raise ValueError(
                "There is no closed-form KL to a mixture prior: use estimator='mc' (or 'auto') with prior='mixture'."
            )
        for name, value, low in (
            ("beta", beta, 0),
            ("free_bits", free_bits, 0),
            ("test_points", test_points, 1),
        ):
            if not value >= low:
                raise ValueError(f"{name} must be >= {low}; got {value}.")
        self.initial_beta = float(beta)
        self.estimator = estimator
        self.test_points = int(test_points)
        self.free_bits = float(free_bits)
        self.beta_schedule: Callable[[], tf.Tensor] | None = None

    def build(self, input_shape):
        self.beta = self.add_weight(
            name="beta", shape=(), initializer=keras.initializers.Constant(self.initial_beta), trainable=False
        )
        self._build_prior(input_shape[-1])
        super().build(input_shape)

    def kl_per_example(self, posterior: tfd.Distribution) -> tf.Tensor:
        """KL(q(z|x) || p(z)) per example: [N] nats."""
        prior = self.prior()
        if self.estimator != "mc":
            try:
                return tfd.kl_divergence(posterior, prior)
            except NotImplementedError:
                if self.estimator == "exact":
                    raise ValueError(
                        f"TFP has no closed-form KL from {type(posterior).__name__} to {type(prior).__name__}; "
                        "use estimator='mc' (Monte-Carlo) or 'auto'."
                    ) from None
        z = posterior.sample(self.test_points)  # [test_points, N, latent_dim]
        return tf.reduce_mean(posterior.log_prob(z) - prior.log_prob(z), axis=0)

    def call(self, posterior, training=None):
        if training and self.beta_schedule is not None:
            self.beta.assign(self.beta_schedule())
        kl = tf.reduce_mean(self.kl_per_example(posterior))
        self.add_loss(tf.cast(self.beta, kl.dtype) * tf.maximum(kl, self.free_bits))
        self.add_metric(kl, name="kl")
        return posterior

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **self._prior_config(),
            "beta": self.initial_beta,
            "estimator": self.estimator,
            "test_points": self.test_points,
            "free_bits": self.free_bits,
        }


@keras.utils.register_keras_serializable(_PACKAGE)
class ImportanceSamples(keras.layers.Layer):
    """q(z|x) with batch shape [N] -> `samples` reparameterized draws per example, flattened sample-major to
    [samples * N, latent_dim] (row i * N + n is draw i of example n), so the decoder sees a plain batch."""

    def __init__(self, samples: int, **kwargs):
        super().__init__(**kwargs)
        if int(samples) < 1:
            raise ValueError(f"samples must be >= 1; got {samples}.")
        self.samples = int(samples)

    def call(self, posterior):
        z = posterior.sample(self.samples)  # [samples, N, latent_dim]
        return tf.reshape(z, [-1, z.shape[-1]])

    def get_config(self) -> dict:
        return {**super().get_config(), "samples": self.samples}


class ImportanceWeightedBound(tfd.Distribution):
    """Stands in for p(x) in the loss: `log_prob(x)` is the k-sample importance-weighted lower bound
    (Burda et al. 2015) log mean_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x), per example: [N] nats.

    Built from q(z|x) (batch [N]), the prior, the draws z [k * N, latent_dim] and p(x|z) at those draws
    (batch [k * N]). Its mean is the average over the k draws of p(x|z)'s mean.
    """

    def __init__(self, posterior, prior, z, likelihood, samples: int):
        parameters = dict(locals())
        self.posterior, self.prior, self.z, self.likelihood, self.samples = (
            posterior,
            prior,
            z,
            likelihood,
            samples,
        )
        super().__init__(
            dtype=likelihood.dtype,
            reparameterization_type=tfd.FULLY_REPARAMETERIZED,
            validate_args=False,
            allow_nan_stats=True,
            parameters=parameters,
            name="ImportanceWeightedBound",
        )

    def _batch_shape(self):
        return self.posterior.batch_shape

    def _batch_shape_tensor(self):
        return self.posterior.batch_shape_tensor()

    def _event_shape(self):
        return self.likelihood.event_shape

    def _event_shape_tensor(self):
        return self.likelihood.event_shape_tensor()

    def _by_sample(self, values: tf.Tensor) -> tf.Tensor:
        """[k * N, ...] -> [k, N, ...]."""
        return tf.reshape(values, tf.concat([[self.samples, -1], tf.shape(values)[1:]], 0))

    def _log_prob(self, x):
        tiled = tf.tile(x, tf.concat([[self.samples], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
        z = self._by_sample(self.z)  # [k, N, latent_dim]
        log_weights = (
            self._by_sample(self.likelihood.log_prob(tiled))
            + self.prior.log_prob(z)
            - self.posterior.log_prob(z)
        )
        return tfp.math.reduce_logmeanexp(log_weights, axis=0)

    def _mean(self):
        return tf.reduce_mean(self._by_sample(self.likelihood.mean()), axis=0)


@keras.utils.register_keras_serializable(_PACKAGE)
class ImportanceWeighted(HasPrior, _PlainConfigDistribution):
    """[q(z|x), z [k * N, latent_dim], p(x|z)] -> `ImportanceWeightedBound`, whose negative log_prob is the
    IWAE loss; `fit` then trains the IWAE through the usual loss -rv_x.log_prob(x). Adds no KL loss (the
    bound contains the prior term) but reports the KL as the metric `kl`. Owns the prior (see `HasPrior`).
    """

    def __init__(self, samples: int, prior: str = "normal", components: int = 10, **kwargs):
        self._init_prior(prior, components)
        self.samples = int(samples)
        super().__init__(
            lambda inputs: self.bound(*inputs), kwargs.pop("convert_to_tensor", "mean"), **kwargs
        )

    def build(self, input_shape):
        self._build_prior(input_shape[0][-1])
        super().build(input_shape)

    def bound(self, posterior, z, likelihood) -> ImportanceWeightedBound:
        return ImportanceWeightedBound(posterior, self.prior(), z, likelihood, self.samples)

    def call(self, inputs, *args, **kwargs):
        posterior, z, _ = inputs
        first_draw = tf.reshape(z, [self.samples, -1, z.shape[-1]])[0]  # [N, latent_dim]
        kl = tf.reduce_mean(posterior.log_prob(first_draw) - self.prior().log_prob(first_draw))
        self.add_metric(kl, name="kl")  # a one-draw estimate; outside the Lambda, which forbids variables
        return super().call(inputs, *args, **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._prior_config(), "samples": self.samples}


@keras.utils.register_keras_serializable(_PACKAGE)
class Corruption(keras.layers.Layer):
    """Corrupts images during training only (the denoising criterion of Im et al. 2017); identity otherwise.

    kind: "salt_and_pepper" (each pixel set to 0 or 1 at random with probability `rate`), "mask" (each
    pixel set to 0 with probability `rate`) or "gaussian" (adds N(0, rate^2) noise, clipped to [0, 1]).
    Input and output: images [N, H, W, C]. `predict`, `evaluate` and `zoo.encode` see clean inputs.
    """

    KINDS = ("salt_and_pepper", "mask", "gaussian")

    def __init__(self, kind: str = "salt_and_pepper", rate: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        if kind not in self.KINDS:
            raise ValueError(f"corruption must be one of {self.KINDS}; got {kind!r}.")
        if not 0 <= rate <= (float("inf") if kind == "gaussian" else 1):
            raise ValueError(f"corruption_rate must be in [0, 1] for {kind}; got {rate}.")
        self.kind, self.rate = kind, float(rate)

    def call(self, x, training=None):
        if not training or self.rate == 0:
            return x
        if self.kind == "gaussian":
            return tf.clip_by_value(x + self.rate * tf.random.normal(tf.shape(x), dtype=x.dtype), 0.0, 1.0)
        hit = tf.random.uniform(tf.shape(x), dtype=x.dtype) < self.rate
        if self.kind == "mask":
            return tf.where(hit, tf.zeros_like(x), x)
        salt = tf.cast(tf.random.uniform(tf.shape(x), dtype=x.dtype) < 0.5, x.dtype)
        return tf.where(hit, salt, x)

    def get_config(self) -> dict:
        return {**super().get_config(), "kind": self.kind, "rate": self.rate}


@keras.utils.register_keras_serializable(_PACKAGE)
class BernoulliMixture(_PlainConfigDistribution):
    """A mixture of `components` independent-Bernoulli images: p(x) = sum_k pi_k prod_i Bernoulli(x_i; p_ki).

    The classical latent-variable baseline: its log-likelihood is exact (a sum over k), so no ELBO is needed.
    The layer owns the parameters (pixel logits [components, *event_shape], mixture logits [components]) and
    ignores its input's values: images [N, *event_shape] -> the mixture with batch shape [N], so that `fit`
    trains it on -log p(x) like every other zoo model. `mixture()` is the unbatched distribution.
    """

    def __init__(
        self, components: int, event_shape: Sequence[int], convert_to_tensor: str = "mean", **kwargs
    ):
        self.components = int(components)
        self.event_shape = tuple(int(d) for d in event_shape)
        super().__init__(lambda images: self.mixture(tf.shape(images)[:1]), convert_to_tensor, **kwargs)

    def build(self, input_shape):
        # Pixel probabilities start uniformly in [0.25, 0.75] (logits in [-1.1, 1.1]) to break the symmetry.
        self.pixel_logits = self.add_weight(
            name="pixel_logits",
            shape=(self.components, *self.event_shape),
            initializer=keras.initializers.RandomUniform(-1.1, 1.1),
        )
        self.mixture_logits = self.add_weight(
            name="mixture_logits", shape=(self.components,), initializer="zeros"
        )
        super().build(input_shape)

    def mixture(self, batch_shape=()) -> tfd.Distribution:
        """p(x) with batch shape `batch_shape` (the parameters broadcast) and event shape `event_shape`."""
        batch_shape = tf.cast(batch_shape, tf.int32)
        mixture_logits = tf.broadcast_to(self.mixture_logits, tf.concat([batch_shape, [self.components]], 0))
        pixel_shape = tf.concat([batch_shape, tf.shape(self.pixel_logits)], 0)
        pixels = tfd.Bernoulli(
            logits=tf.broadcast_to(self.pixel_logits, pixel_shape), dtype=self.pixel_logits.dtype
        )
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=mixture_logits),
            components_distribution=tfd.Independent(pixels, reinterpreted_batch_ndims=len(self.event_shape)),
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "components": self.components, "event_shape": list(self.event_shape)}


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
