"""Convolutional VAE: stride-2 convolutional encoder, transposed-convolution decoder (the TensorFlow
Probability VAE example; Kingma & Welling 2014).

Same probabilistic model as `dense_vae` (full-covariance Gaussian posterior, standard normal prior,
Bernoulli pixels); only the networks differ. Height and width must divide by 2**len(filters).
"""

from zoo import blocks
from zoo import layers as zl
from zoo.hparams import check_conv_shape
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def conv_vae(
    input_shape=(28, 28, 1), latent_dim=16, filters=(32, 64), beta=1.0, learning_rate=1e-3
) -> ZooModel:
    """Convolutional VAE, full-covariance Gaussian posterior, Bernoulli pixels (Kingma & Welling 2014)."""
    check_conv_shape(input_shape, filters)
    encoder = [*blocks.conv_encoder(filters), *blocks.gaussian_posterior(latent_dim, beta)]
    decoder = [
        *blocks.deconv_decoder(input_shape, filters[::-1]),
        zl.IndependentBernoulli(input_shape, name="likelihood"),
    ]
    return assemble("conv_vae", input_shape, latent_dim, encoder, decoder, learning_rate)
