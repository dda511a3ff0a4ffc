"""The mixture of Bernoullis as one distribution layer that owns its parameters."""

from __future__ import annotations

from collections.abc import Sequence

from zoo._tf import keras, tf, tfd
from zoo.layers.base import PlainConfigDistribution, serializable


@serializable
class BernoulliMixture(PlainConfigDistribution):
    """A mixture of `components` independent-Bernoulli images: p(x) = sum_k pi_k prod_i Bernoulli(x_i; p_ki).

    The classical latent-variable baseline: its log-likelihood is exact (a sum over k), so no ELBO is needed.
    The layer owns the parameters (pixel logits [components, *event_shape], mixture logits [components]) and
    ignores its input's values: images [N, *event_shape] -> the mixture with batch shape [N], so that `fit`
    trains it on -log p(x) like every other zoo model. `mixture()` is the unbatched distribution.
    """

    def __init__(
        self, components: int, event_shape: Sequence[int], convert_to_tensor_fn: str = "mean", **kwargs
    ):
        self.components = int(components)
        self.event_shape = tuple(int(d) for d in event_shape)
        super().__init__(lambda images: self.mixture(tf.shape(images)[:1]), convert_to_tensor_fn, **kwargs)

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


