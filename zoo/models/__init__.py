"""Importing this package registers every model: one family per module."""

from zoo.models import autoencoder, bernoulli_mixture, vae  # noqa: F401
