"""Importing this package registers every model: one model per module, its presets beside it."""

from zoo.models import (  # noqa: F401
    autoencoder,
    bernoulli_mixture,
    conv_cvae,
    conv_vae,
    cvae,
    delta_vae,
    dense_vae,
    hvae,
    iaf_vae,
    iwae,
    vamp_vae,
    vq_vae,
)
