"""Priors p(z): the standard normal, or a learned mixture held in the weights of the layer that owns it."""

from __future__ import annotations

from zoo import checks
from zoo._tf import keras, tf, tfd
from zoo.layers.base import SCALE_DIAG_SHIFT


def standard_normal(latent_dim: int, dtype=tf.float32) -> tfd.Distribution:
    """The standard normal prior p(z) = N(0, I) over [latent_dim] (a `MultivariateNormalDiag`)."""
    return tfd.MultivariateNormalDiag(loc=tf.zeros([latent_dim], dtype=dtype))


PRIORS = ("normal", "mixture")
"""The `prior` hyperparameter's choices."""


class HasPrior:
    """Mixin for the layers that own the prior p(z) over [latent_dim], so `zoo.sample` finds it.

    prior: "normal" (N(0, I)) or "mixture" (a learned mixture of `components` diagonal Gaussians with
    trainable locations, softplus scales and mixture logits: layer weights, so they are tracked, trained,
    saved, and created inside a distribution strategy's scope when the model is built in one).
    """

    def _init_prior(self, prior: str, components: int) -> None:
        self.prior_kind = checks.one_of("prior", prior, PRIORS)
        self.components = checks.integer("components", components)

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
        scales = tf.math.softplus(self.prior_raw_scales) + SCALE_DIAG_SHIFT
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=self.prior_logits),
            components_distribution=tfd.MultivariateNormalDiag(loc=self.prior_locs, scale_diag=scales),
        )

    def _prior_config(self) -> dict:
        return {"prior": self.prior_kind, "components": self.components}


