"""Variational autoencoder with MLP encoder and decoder (Kingma & Welling 2014, "Auto-Encoding
Variational Bayes"; Rezende et al. 2014).

q(z|x) is a full-covariance Gaussian, p(z) the standard normal, p(x|z) independent Bernoulli pixels. The
loss is the negative ELBO in nats per example: -log p(x|z) from `fit`'s loss plus beta * KL from the
`KLDivergence` layer.
"""

from zoo import blocks
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def dense_vae(
    input_shape=(28, 28, 1), latent_dim=16, hidden_units=(512, 256), beta=1.0, learning_rate=1e-3
) -> ZooModel:
    """VAE with MLP encoder/decoder, full-covariance Gaussian posterior (Kingma & Welling 2014)."""
    encoder = [
        keras.layers.Flatten(),
        *blocks.dense_stack(hidden_units),
        *blocks.gaussian_posterior(latent_dim, beta),
    ]
    decoder = [*blocks.dense_stack(hidden_units[::-1]), *blocks.bernoulli_likelihood(input_shape)]
    return assemble("dense_vae", input_shape, latent_dim, encoder, decoder, learning_rate)
