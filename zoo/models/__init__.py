"""Importing this package registers every model: one family per module."""

from zoo.models import autoencoder, vae  # noqa: F401
