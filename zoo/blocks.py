"""Shared Keras building blocks: every model assembles its encoder and decoder from these.

Each function returns a list of layers to splice into a `keras.Sequential`, so a model reads as
`Sequential([*conv_encoder(...), *gaussian_posterior(...)])`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from zoo import layers as zl
from zoo._tf import keras

POSTERIORS = {"full": zl.MultivariateNormalTriL, "diag": zl.MultivariateNormalDiag}
LIKELIHOODS = ("bernoulli", "gaussian")


def dense_stack(
    units: Sequence[int], dropout: float = 0.0, activation: str = "relu"
) -> list[keras.layers.Layer]:
    """Dense layers of the given widths, each followed by dropout at `dropout` rate when it is > 0 (active in
    `fit` only): [N, D] -> [N, units[-1]]."""
    stack = []
    for width in units:
        stack.append(keras.layers.Dense(width, activation=activation))
        if dropout > 0:
            stack.append(keras.layers.Dropout(dropout))
    return stack


def conv_encoder(filters: Sequence[int]) -> list[keras.layers.Layer]:
    """Stride-2 3x3 convolutions, then flatten: [N, H, W, C] -> [N, H/2^k * W/2^k * filters[-1]]."""
    convs = [keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu") for f in filters]
    return [*convs, keras.layers.Flatten()]


def deconv_decoder(
    output_shape: Sequence[int], filters: Sequence[int], channels: int
) -> list[keras.layers.Layer]:
    """Mirror of `conv_encoder`: [N, latent] -> [N, H, W, channels] for an image of `output_shape` (H, W, C).

    A Dense layer makes an (H/2^k, W/2^k, filters[0]) map; stride-2 transposed convolutions upsample it
    back to (H, W); a 3x3 convolution gives `channels` outputs per pixel (the likelihood's parameters).
    H and W must be divisible by 2^len(filters).
    """
    height, width = output_shape[0], output_shape[1]
    scale = 2 ** len(filters)
    start = (height // scale, width // scale, filters[0])
    deconvs = [
        keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu") for f in filters
    ]
    return [
        keras.layers.Dense(math.prod(start), activation="relu"),
        keras.layers.Reshape(start),
        *deconvs,
        keras.layers.Conv2D(channels, 3, padding="same"),
    ]


def gaussian_posterior(
    latent_dim: int, posterior: str = "full", kl: dict | None = None
) -> list[keras.layers.Layer]:
    """Encoder head: features [N, F] -> q(z|x), a Gaussian over [latent_dim] with full ("full") or diagonal
    ("diag") covariance, followed by the `KLDivergence` layer that adds the KL term to the model's losses,
    built from `kl` (beta, estimator, test_points, prior, components, free_bits). `kl=None`: no KL layer."""
    family = POSTERIORS[posterior]
    head = [keras.layers.Dense(family.params_size(latent_dim)), family(latent_dim, name="posterior")]
    return head if kl is None else [*head, zl.KLDivergence(name="kl_divergence", **kl)]


def likelihood(
    event_shape: Sequence[int], kind: str = "bernoulli", scale: float | None = None
) -> zl.tfpl.DistributionLambda:
    """The decoder's output layer p(x|z): "bernoulli" pixels, or "gaussian" with a learned (`scale=None`)
    or fixed standard deviation."""
    if kind == "bernoulli":
        return zl.IndependentBernoulli(event_shape, name="likelihood")
    return zl.IndependentNormal(event_shape, scale=scale, name="likelihood")


def params_per_pixel(kind: str = "bernoulli", scale: float | None = None) -> int:
    """How many numbers the decoder emits per pixel and channel for the likelihood `kind`."""
    return 2 if kind == "gaussian" and scale is None else 1
