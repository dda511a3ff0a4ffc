"""The variational autoencoder with MLP encoder and decoder (Kingma & Welling 2014, "Auto-Encoding
Variational Bayes"; Rezende et al. 2014), and its presets: the beta-VAE, the mixture-prior VAE, Gaussian
pixels, the denoising VAE.

q(z|x) is a Gaussian (full or diagonal covariance), p(z) the standard normal or a learned mixture, and
p(x|z) independent Bernoulli (binary images) or Gaussian (grey levels, any numeric data) pixels. The loss
is the negative ELBO in nats per example: -log p(x|z) from `fit`'s loss plus the `KLDivergence` layer's
beta * KL. Tuned at 30 epochs on mnist-5k (benchmarks/README.md): an 8-D code does best for the MLP.
"""

from zoo import blocks
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def dense_vae(
    input_shape=(28, 28, 1), latent_dim=8, hidden_units=(512, 256), dropout=0.0, corruption="none",
    corruption_rate=0.0, posterior="full", prior="normal", prior_components=10, beta=1.0,
    kl_estimator="auto", kl_test_points=1, free_bits=0.0, likelihood="bernoulli", likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """VAE with MLP encoder/decoder (Kingma & Welling 2014)"""
    encoder = [
        *blocks.corruption(corruption, corruption_rate),
        keras.layers.Flatten(),
        *blocks.dense_stack(hidden_units, dropout),
        *blocks.gaussian_posterior(latent_dim, posterior),
        blocks.kl_term(prior, prior_components, beta, kl_estimator, kl_test_points, free_bits),
    ]
    decoder = [
        *blocks.dense_stack(hidden_units[::-1], dropout),
        *blocks.dense_likelihood(input_shape, likelihood, likelihood_scale),
    ]
    return assemble(input_shape, latent_dim, encoder, decoder)


BETA = "beta-VAE: KL weighted by beta = 4 for disentangling (Higgins et al. 2017)"
MIXTURE = "VAE with a learned mixture-of-Gaussians prior, Monte-Carlo KL (Dilokthanakul et al. 2016)"
GAUSSIAN = "VAE with Gaussian pixels (learned scale) for grey-level or real-valued data (Kingma & Welling 2014)"
DENOISING = "Denoising VAE: salt-and-pepper corrupted inputs in training (Im et al. 2017)"
SALT_AND_PEPPER = {"corruption": "salt_and_pepper", "corruption_rate": 0.2}
register(dense_vae, name="beta_vae", description=BETA, defaults={"beta": 4.0})
register(dense_vae, name="mixture_vae", description=MIXTURE, defaults={"prior": "mixture"})
register(dense_vae, name="gaussian_vae", description=GAUSSIAN, defaults={"likelihood": "gaussian"})
register(dense_vae, name="denoising_vae", description=DENOISING, defaults=SALT_AND_PEPPER)
