"""Shared Keras building blocks: every model assembles its encoder and decoder from these.

Each function returns a list of layers to splice into a `keras.Sequential`, so a model file reads as
`Sequential([*conv_encoder(...), *gaussian_posterior(...)])`.
"""

from __future__ import annotations

from collections.abc import Sequence

from zoo import layers as zl
from zoo._tf import keras


def dense_stack(units: Sequence[int], activation: str = "relu") -> list[keras.layers.Layer]:
    """Dense layers of the given widths: [N, D] -> [N, units[-1]]."""
    return [keras.layers.Dense(u, activation=activation) for u in units]


def conv_encoder(filters: Sequence[int]) -> list[keras.layers.Layer]:
    """Stride-2 3x3 convolutions, then flatten: [N, H, W, C] -> [N, H/2^k * W/2^k * filters[-1]]."""
    convs = [keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu") for f in filters]
    return [*convs, keras.layers.Flatten()]


def deconv_decoder(output_shape: Sequence[int], filters: Sequence[int]) -> list[keras.layers.Layer]:
    """Mirror of `conv_encoder`: [N, latent] -> logits [N, H * W * C] for an image of `output_shape`.

    A Dense layer makes an (H/2^k, W/2^k, filters[0]) map; stride-2 transposed convolutions upsample it
    back to (H, W); a 3x3 convolution gives C logit channels. H and W must be divisible by 2^len(filters).
    """
    height, width, channels = output_shape
    scale = 2 ** len(filters)
    start = (height // scale, width // scale, filters[0])
    deconvs = [
        keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu") for f in filters
    ]
    return [
        keras.layers.Dense(start[0] * start[1] * start[2], activation="relu"),
        keras.layers.Reshape(start),
        *deconvs,
        keras.layers.Conv2D(channels, 3, padding="same"),
        keras.layers.Flatten(),
    ]


def gaussian_posterior(latent_dim: int, beta: float) -> list[keras.layers.Layer]:
    """Encoder head: features [N, F] -> q(z|x), a full-covariance Gaussian over [latent_dim], whose KL to
    the standard normal prior (times beta, averaged over the batch) is added to the model's losses."""
    return [
        keras.layers.Dense(zl.MultivariateNormalTriL.params_size(latent_dim)),
        zl.MultivariateNormalTriL(latent_dim, name="posterior"),
        zl.KLDivergence(beta=beta, name="kl_divergence"),
    ]


def bernoulli_likelihood(event_shape: Sequence[int]) -> list[keras.layers.Layer]:
    """Decoder head: features [N, F] -> p(x|z), independent Bernoulli pixels over `event_shape`."""
    return [
        keras.layers.Dense(zl.IndependentBernoulli.params_size(event_shape)),
        zl.IndependentBernoulli(event_shape, name="likelihood"),
    ]
