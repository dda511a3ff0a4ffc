"""The KL term of the ELBO, added exactly once and as the batch mean (the stock TFP layers do neither)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zoo import checks
from zoo._tf import keras, tf, tfd
from zoo.layers.base import create_metrics, inferring_output_shape, serializable
from zoo.layers.priors import FLOW_HIDDEN_UNITS, FLOW_STEPS, HasPrior

ESTIMATORS = ("auto", "exact", "mc")
"""The KL estimators (the `kl_estimator` hyperparameter): closed form where TFP has it, or Monte-Carlo."""


@serializable
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
            (exact where TFP registers it, else Monte-Carlo, as for the mixture and flow priors or a flow
            posterior). Default value: "auto".
        test_points: number of samples z ~ q for the Monte-Carlo estimate. Default value: 1.
        prior: "normal", "mixture" or "flow". Default value: "normal".
        components: number of mixture components for `prior="mixture"`. Default value: 10.
        free_bits: nats of mean KL per example that cost nothing (Kingma et al. 2016 "free bits", with all
            latents as one group): the penalty is `beta * max(free_bits, KL)`. Default value: 0.
        flow_steps: steps of the autoregressive flow for `prior="flow"`. Default value: 2.
        flow_hidden_units: hidden widths of each step's MADE for `prior="flow"`. Default value: (64, 64).

    The unweighted KL shows up in the progress bar and the History as the metric `kl` (nats/example).
    Input: a distribution with batch shape [N] and event shape [latent_dim]. Output: the same distribution.
    """

    METRICS = ("kl",)  # what `call` reports with add_metric (`create_metrics`)

    def __init__(
        self,
        beta: float = 1.0,
        estimator: str = "auto",
        test_points: int = 1,
        prior: str = "normal",
        components: int = 10,
        free_bits: float = 0.0,
        flow_steps: int = FLOW_STEPS,
        flow_hidden_units: Sequence[int] = FLOW_HIDDEN_UNITS,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._init_prior(prior, components, flow_steps, flow_hidden_units)
        checks.one_of("estimator", estimator, ESTIMATORS)
        if prior in ("mixture", "flow") and estimator == "exact":
            raise ValueError(
                f"There is no closed-form KL to a {prior} prior: use estimator='mc' (or 'auto') with "
                f"prior='{prior}'."
            )
        self.initial_beta = checks.number("beta", beta)
        self.estimator = estimator
        self.test_points = checks.integer("test_points", test_points)
        self.free_bits = checks.number("free_bits", free_bits)
        self.beta_schedule: Callable[[], tf.Tensor] | None = None

    def build(self, input_shape):
        self.beta = self.add_weight(
            name="beta", shape=(), initializer=keras.initializers.Constant(self.initial_beta), trainable=False
        )
        self._build_prior(input_shape[-1])
        create_metrics(self, self.METRICS)
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
        if not inferring_output_shape():
            self.add_kl(self.kl_per_example(posterior), training)
        return posterior

    def add_kl(self, kl_per_example: tf.Tensor, training=None) -> None:
        """Add beta * the batch mean of `kl_per_example` [N] (free bits applied) to the loss, and its mean as
        the metric `kl`. Called inside `call`; a subclass whose KL has parts calls it with their sum."""
        if training and self.beta_schedule is not None:
            self.beta.assign(self.beta_schedule())
        kl = tf.reduce_mean(kl_per_example)
        # Without free bits the KL is not clipped at 0: a Monte-Carlo estimate below 0 keeps its gradient, and
        # replicas that each clip their half-batch would no longer sum to the one-device loss.
        penalty = kl if self.free_bits == 0 else tf.maximum(kl, self.free_bits)
        self.add_loss(tf.cast(self.beta, kl.dtype) * penalty)
        self.add_metric(kl, name="kl")

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **self._prior_config(),
            **self._flow_prior_config(),
            "beta": self.initial_beta,
            "estimator": self.estimator,
            "test_points": self.test_points,
            "free_bits": self.free_bits,
        }
