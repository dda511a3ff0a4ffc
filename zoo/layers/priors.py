"""Priors p(z): the standard normal, or a learned mixture or autoregressive flow held in the weights of the
layer that owns it."""

from __future__ import annotations

from collections.abc import Sequence

from zoo import checks
from zoo._tf import keras, tf, tfd
from zoo.layers import flows
from zoo.layers.base import SCALE_DIAG_SHIFT


def standard_normal(latent_dim: int, dtype=tf.float32) -> tfd.Distribution:
    """The standard normal prior p(z) = N(0, I) over [latent_dim] (a `MultivariateNormalDiag`)."""
    return tfd.MultivariateNormalDiag(loc=tf.zeros([latent_dim], dtype=dtype))


PRIORS = ("normal", "mixture", "flow")
"""The `prior` hyperparameter's choices."""
FLOW_STEPS = 2
"""Default number of flow steps (`flow_steps`) of `prior="flow"`."""
FLOW_HIDDEN_UNITS = (64, 64)
"""Default hidden widths of each step's autoregressive network (`flow_hidden_units`) of `prior="flow"`."""


class HasPrior:
    """Mixin for the layers that own the prior p(z) over [latent_dim], so `zoo.sample` finds it.

    prior: "normal" (N(0, I)), "mixture" (a learned mixture of `components` diagonal Gaussians with
    trainable locations, softplus scales and mixture logits) or "flow" (N(0, I) pushed through a learned
    masked autoregressive flow of `flow_steps` steps, each a MADE of `flow_hidden_units`: Chen et al. 2017,
    `zoo.layers.flows`). The learned priors' parameters are layer weights, so they are tracked, trained,
    saved, and created inside a distribution strategy's scope when the model is built in one. Neither has a
    closed-form KL: the KL term and the IWAE bound use log p(z) at samples z ~ q(z|x).
    """

    def _init_prior(
        self,
        prior: str,
        components: int,
        flow_steps: int = FLOW_STEPS,
        flow_hidden_units: Sequence[int] = FLOW_HIDDEN_UNITS,
    ) -> None:
        self.prior_kind = checks.one_of("prior", prior, PRIORS)
        self.components = checks.integer("components", components)
        self.flow_steps = checks.integer("flow_steps", flow_steps)
        self.flow_hidden_units = checks.integers("flow_hidden_units", flow_hidden_units)

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
        if self.prior_kind == "flow":
            self.prior_networks = [
                flows.autoregressive_network(self.latent_dim, self.flow_hidden_units, name=f"prior_made_{i}")
                for i in range(self.flow_steps)
            ]

    def prior(self) -> tfd.Distribution:
        """p(z) over [latent_dim]: N(0, I), or the learned mixture or flow built from this layer's weights."""
        if self.prior_kind == "normal":
            return standard_normal(self.latent_dim, dtype=self.dtype)
        if self.prior_kind == "flow":
            bijector = flows.masked_autoregressive_flow(self.prior_networks)
            return tfd.TransformedDistribution(
                standard_normal(self.latent_dim, self.dtype), bijector, name="FlowPrior"
            )
        scales = tf.math.softplus(self.prior_raw_scales) + SCALE_DIAG_SHIFT
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=self.prior_logits),
            components_distribution=tfd.MultivariateNormalDiag(loc=self.prior_locs, scale_diag=scales),
        )

    def _prior_config(self) -> dict:
        return {"prior": self.prior_kind, "components": self.components}

    def _flow_prior_config(self) -> dict:
        """The flow prior's sizes, for a layer whose constructor takes `flow_steps` and `flow_hidden_units`."""
        return {"flow_steps": self.flow_steps, "flow_hidden_units": list(self.flow_hidden_units)}
