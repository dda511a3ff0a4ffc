"""The importance-weighted bound (Burda et al. 2015) as a distribution layer, so `fit` trains an IWAE on the
usual loss -rv_x.log_prob(x)."""

from __future__ import annotations

from zoo import checks
from zoo._tf import keras, tf, tfd, tfp
from zoo.layers.base import PlainConfigDistribution, create_metrics, inferring_output_shape, serializable
from zoo.layers.priors import HasPrior


@serializable
class ImportanceSamples(keras.layers.Layer):
    """q(z|x) with batch shape [N] -> `samples` reparameterized draws per example, flattened sample-major to
    [samples * N, latent_dim] (row i * N + n is draw i of example n), so the decoder sees a plain batch."""

    def __init__(self, samples: int, **kwargs):
        super().__init__(**kwargs)
        self.samples = checks.integer("samples", samples)

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


@serializable
class ImportanceWeighted(HasPrior, PlainConfigDistribution):
    """[q(z|x), z [k * N, latent_dim], p(x|z)] -> `ImportanceWeightedBound`, whose negative log_prob is the
    IWAE loss; `fit` then trains the IWAE through the usual loss -rv_x.log_prob(x). Adds no KL loss (the
    bound contains the prior term) but reports the KL as the metric `kl`. Owns the prior (see `HasPrior`).
    """

    METRICS = ("kl",)  # what `call` reports with add_metric (`create_metrics`)

    def __init__(self, samples: int, prior: str = "normal", components: int = 10, **kwargs):
        self._init_prior(prior, components)
        self.samples = checks.integer("samples", samples)
        super().__init__(
            lambda inputs: self.bound(*inputs), kwargs.pop("convert_to_tensor_fn", "mean"), **kwargs
        )

    def build(self, input_shape):
        self._build_prior(input_shape[0][-1])
        create_metrics(self, self.METRICS)
        super().build(input_shape)

    def bound(self, posterior, z, likelihood) -> ImportanceWeightedBound:
        return ImportanceWeightedBound(posterior, self.prior(), z, likelihood, self.samples)

    def call(self, inputs, *args, **kwargs):
        posterior, z, _ = inputs
        if not inferring_output_shape():
            first_draw = tf.reshape(z, [self.samples, -1, z.shape[-1]])[0]  # [N, latent_dim]
            kl = tf.reduce_mean(posterior.log_prob(first_draw) - self.prior().log_prob(first_draw))
            self.add_metric(kl, name="kl")  # a one-draw estimate; outside the Lambda, which forbids variables
        return super().call(inputs, *args, **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._prior_config(), "samples": self.samples}
