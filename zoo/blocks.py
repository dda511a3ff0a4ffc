"""Shared Keras building blocks: every model assembles its encoder and decoder from these.

Each function returns a layer or a list of layers to splice into a `keras.Sequential`, so a model reads as
`Sequential([*conv_encoder(...), *gaussian_posterior(...), kl_term(...)])`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from zoo import layers as zl
from zoo._tf import keras


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


def _check_conv_shape(input_shape: Sequence[int], filters: Sequence[int]) -> None:
    """A conv encoder/decoder takes images (H, W, C) and halves height and width once per filter: both must
    divide by 2^len(filters)."""
    if len(input_shape) != 3:
        raise ValueError(
            f"input_shape {tuple(input_shape)} is a vector, and a convolutional model needs images (height, "
            f"width, channels). For vectors [N, D] use a dense model, e.g. zoo.get('dense_vae', "
            f"input_shape={tuple(input_shape)}) (or 'cvae' with labels)."
        )
    scale = 2 ** len(filters)
    if input_shape[0] % scale or input_shape[1] % scale:
        raise ValueError(
            f"input_shape {tuple(input_shape)} does not fit filters={tuple(filters)}: height and width must be "
            f"divisible by 2**len(filters) = {scale}. Pad the images or use fewer filters."
        )


def grid_shape(input_shape: Sequence[int], filters: Sequence[int]) -> tuple[int, int]:
    """(H/2^k, W/2^k), k = len(filters): the height and width of `conv_features`' output map. H and W must
    be divisible by 2^k (a ValueError says so)."""
    _check_conv_shape(input_shape, filters)
    scale = 2 ** len(filters)
    return input_shape[0] // scale, input_shape[1] // scale


def _residual(count: int) -> list[keras.layers.Layer]:
    """`count` fresh `zl.ResidualBlock`s: [N, H, W, F] -> the same."""
    return [zl.ResidualBlock() for _ in range(count)]


def conv_features(
    input_shape: Sequence[int], filters: Sequence[int], residual_blocks: int = 0
) -> list[keras.layers.Layer]:
    """Stride-2 3x3 convolutions, each followed by `residual_blocks` `zl.ResidualBlock`s:
    [N, H, W, C] -> [N, H/2^k, W/2^k, filters[-1]] (`grid_shape`)."""
    _check_conv_shape(input_shape, filters)
    return [
        layer
        for f in filters
        for layer in [
            keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu"),
            *_residual(residual_blocks),
        ]
    ]


def conv_encoder(
    input_shape: Sequence[int], filters: Sequence[int], residual_blocks: int = 0
) -> list[keras.layers.Layer]:
    """`conv_features`, then flatten: [N, H, W, C] -> [N, H/2^k * W/2^k * filters[-1]], k = len(filters)."""
    return [*conv_features(input_shape, filters, residual_blocks), keras.layers.Flatten()]


def with_label(features, one_hot):
    """`features` [N, F] or [N, H, W, F] joined with the label `one_hot` [N, K]: [N, F + K], or [N, H, W, F + K]
    with the one-hot repeated at every pixel (a feature map the label sets, as in Sohn et al. 2015)."""
    if len(features.shape) == 4:
        height, width = features.shape[1], features.shape[2]
        one_hot = keras.layers.Reshape((1, 1, one_hot.shape[-1]))(one_hot)
        one_hot = keras.layers.UpSampling2D((height, width))(one_hot)
    return keras.layers.Concatenate()([features, one_hot])


def label_at_every_layer(layers: Sequence[keras.layers.Layer], features, one_hot):
    """Apply `layers` to `features` functionally, joining the label `one_hot` [N, K] (`with_label`) to the
    input of every Dense and convolution among them, so no layer of the stack can ignore it."""
    for layer in layers:
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):  # Conv2DTranspose is a Conv2D
            features = with_label(features, one_hot)
        features = layer(features)
    return features


def corruption(kind: str, rate: float) -> list[keras.layers.Layer]:
    """The denoising criterion's input corruption (`zl.Corruption`), or nothing for kind "none"."""
    return [] if kind == "none" else [zl.Corruption(kind, rate)]


def gaussian_posterior(latent_dim: int, posterior: str = "full") -> list[keras.layers.Layer]:
    """Encoder head: features [N, F] -> q(z|x), a Gaussian over [latent_dim] with full ("full") or diagonal
    ("diag") covariance (`zl.POSTERIORS`)."""
    family = zl.POSTERIORS[posterior]
    return [keras.layers.Dense(family.params_size(latent_dim)), family(latent_dim, name="posterior")]


def iaf_posterior(
    latent_dim: int, posterior: str, flow_steps: int, flow_hidden_units: Sequence[int], flow_context_size: int
) -> list[keras.layers.Layer]:
    """Encoder head: features [N, F] -> q(z|x), a Gaussian (`posterior`, "diag" or "full") followed by
    `flow_steps` inverse autoregressive flow steps that read a context h of `flow_context_size` from the
    features (`zl.InverseAutoregressiveFlow`, Kingma et al. 2016)."""
    size = zl.InverseAutoregressiveFlow.params_size(latent_dim, posterior, flow_context_size)
    head = zl.InverseAutoregressiveFlow(
        latent_dim, flow_steps, flow_hidden_units, posterior, flow_context_size, name="posterior"
    )
    return [keras.layers.Dense(size), head]


def kl_term(
    prior: str,
    prior_components: int,
    beta: float,
    kl_estimator: str,
    kl_test_points: int,
    free_bits: float,
    flow_steps: int = zl.priors.FLOW_STEPS,
    flow_hidden_units: Sequence[int] = zl.priors.FLOW_HIDDEN_UNITS,
) -> zl.KLDivergence:
    """The layer after q(z|x) that adds beta * KL(q(z|x) || p(z)) to the loss and owns the prior p(z):
    the hyperparameters of the same names, as `zl.KLDivergence` takes them (the flow's sizes for
    `prior="flow"` only)."""
    return zl.KLDivergence(
        beta, kl_estimator, kl_test_points, prior, prior_components, free_bits, flow_steps, flow_hidden_units,
        name="kl_divergence",
    )  # fmt: skip


def likelihood(event_shape: Sequence[int], kind: str = "bernoulli", scale: float | None = None):
    """The decoder's output layer p(x|z) (`zl.LIKELIHOODS`): "bernoulli" pixels (binary images),
    "continuous_bernoulli" (grey levels in [0, 1]), or "gaussian" with a learned (`scale=None`) or fixed
    standard deviation. `scale` is for "gaussian" only."""
    if kind == "gaussian":
        return zl.IndependentNormal(event_shape, scale=scale, name="likelihood")
    return zl.LIKELIHOODS[kind](event_shape, name="likelihood")


def params_per_pixel(kind: str = "bernoulli", scale: float | None = None) -> int:
    """How many numbers the decoder emits per pixel and channel for the likelihood `kind`."""
    return 2 if kind == "gaussian" and scale is None else 1


def dense_likelihood(
    event_shape: Sequence[int], kind: str = "bernoulli", scale: float | None = None
) -> list[keras.layers.Layer]:
    """An MLP decoder's output: [N, F] -> a Dense layer of the likelihood's parameters -> p(x|z), event shape
    `event_shape`."""
    size = params_per_pixel(kind, scale) * math.prod(event_shape)
    return [keras.layers.Dense(size), likelihood(event_shape, kind, scale)]


def deconv_likelihood(
    event_shape: Sequence[int],
    filters: Sequence[int],
    kind: str = "bernoulli",
    scale: float | None = None,
    residual_blocks: int = 0,
) -> list[keras.layers.Layer]:
    """The mirror of `conv_encoder`, with its output: [N, latent] -> p(x|z) of an image `event_shape` (H, W, C).
    A Dense layer makes an (H/2^k, W/2^k, filters[0]) map, k = len(filters); `upsampling_likelihood` takes it
    back to (H, W)."""
    start = (*grid_shape(event_shape, filters), filters[0])
    return [
        keras.layers.Dense(math.prod(start), activation="relu"),
        keras.layers.Reshape(start),
        *upsampling_likelihood(event_shape, filters, kind, scale, residual_blocks),
    ]


def upsampling_likelihood(
    event_shape: Sequence[int],
    filters: Sequence[int],
    kind: str = "bernoulli",
    scale: float | None = None,
    residual_blocks: int = 0,
) -> list[keras.layers.Layer]:
    """A conv decoder of a map: [N, h, w, F] -> stride-2 3x3 transposed convolutions, one per filter, each after
    `residual_blocks` `zl.ResidualBlock`s, then a 3x3 convolution of the likelihood's parameters per pixel
    -> p(x|z) of `event_shape` (h * 2^k, w * 2^k, C), k = len(filters)."""
    deconvs = [
        layer
        for f in filters
        for layer in [
            *_residual(residual_blocks),
            keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu"),
        ]
    ]
    channels = params_per_pixel(kind, scale) * event_shape[-1]
    return [*deconvs, keras.layers.Conv2D(channels, 3, padding="same"), likelihood(event_shape, kind, scale)]
