"""Pixel likelihoods p(x|z) from flat parameters: Bernoulli for binary data, continuous Bernoulli for grey
levels in [0, 1], Gaussian for real values."""

from __future__ import annotations

import math
from collections.abc import Sequence

from zoo._tf import tf, tfd
from zoo.layers.base import PlainConfigDistribution, serializable


class _IndependentPixels(PlainConfigDistribution):
    """One distribution of `family` per pixel, from flat logits [N, prod(event_shape)] or [N, *event_shape]:
    `Independent(family)`, batch [N], event shape `event_shape`."""

    family: type[tfd.Distribution]

    def __init__(self, event_shape: Sequence[int], convert_to_tensor_fn: str = "mean", **kwargs):
        self.event_shape = tuple(int(d) for d in event_shape)
        super().__init__(lambda logits: self.new(logits, self.event_shape), convert_to_tensor_fn, **kwargs)

    @staticmethod
    def params_size(event_shape: Sequence[int]) -> int:
        return math.prod(event_shape)

    @classmethod
    def new(cls, logits: tf.Tensor, event_shape: Sequence[int]) -> tfd.Distribution:
        pixels = cls.family(logits=tf.reshape(logits, [-1, *event_shape]), dtype=logits.dtype)
        return tfd.Independent(pixels, reinterpreted_batch_ndims=len(event_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "event_shape": list(self.event_shape)}


@serializable
class IndependentBernoulli(_IndependentPixels):
    """Independent Bernoulli pixels p(x|z) from flat logits.

    Input: logits [N, prod(event_shape)] or [N, *event_shape]. Output: `Independent(Bernoulli)`, batch [N], event
    shape `event_shape` (e.g. [28, 28, 1]); samples are float32 in {0, 1}. As a tensor it is the mean (pixel
    probabilities) by default, which is what `predict` should show.
    """

    family = tfd.Bernoulli


@serializable
class IndependentNormal(PlainConfigDistribution):
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
        convert_to_tensor_fn: str = "mean",
        **kwargs,
    ):
        self.event_shape = tuple(int(d) for d in event_shape)
        self.scale = None if scale is None else float(scale)
        super().__init__(
            lambda params: self.new(params, self.event_shape, self.scale), convert_to_tensor_fn, **kwargs
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


@serializable
class IndependentContinuousBernoulli(_IndependentPixels):
    """Independent continuous-Bernoulli pixels p(x|z) for grey levels in [0, 1], from flat logits
    (Loaiza-Ganem & Cunningham 2019, "The continuous Bernoulli: fixing a pervasive error in variational
    autoencoders").

    A pixel's density on [0, 1] is C(λ) λ^x (1 - λ)^(1 - x) with λ = sigmoid(logit) and the normalizer
    C(λ) = 2 artanh(1 - 2λ) / (1 - 2λ) (2 at λ = 1/2): the Bernoulli likelihood that VAEs apply to grey
    levels, made a density. `tfd.ContinuousBernoulli` computes it in logit space, stable at λ = 1/2 and for
    saturated logits. Its mean is NOT λ (λ = 0.2 gives 0.388): as a tensor the layer is the mean by
    default, so `predict`, `zoo.reconstruct` and `zoo.sample` show grey levels the model expects.

    Input: logits [N, prod(event_shape)] or [N, *event_shape]. Output: `Independent(ContinuousBernoulli)`,
    batch [N], event shape `event_shape`; samples are float32 in [0, 1].

    event_shape: the image shape, e.g. (28, 28, 1).
    convert_to_tensor_fn: "mean", "sample" or "mode" (0 or 1: the density is monotone). Default value: "mean".

    >>> p = IndependentContinuousBernoulli((28, 28, 1))(tf.zeros([2, 784]))  # λ = 1/2: uniform pixels
    >>> p.log_prob(tf.fill([2, 28, 28, 1], 0.3))                              # [0., 0.]
    """

    family = tfd.ContinuousBernoulli


LIKELIHOODS = {
    "bernoulli": IndependentBernoulli,
    "continuous_bernoulli": IndependentContinuousBernoulli,
    "gaussian": IndependentNormal,
}
"""The `likelihood` hyperparameter's choices and the layer of each."""
