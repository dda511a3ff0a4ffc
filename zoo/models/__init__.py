"""Importing this package registers every model: one family per module."""

from zoo.models import autoencoder, conv_vae, cvae, dense_vae  # noqa: F401
