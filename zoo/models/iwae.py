"""The importance-weighted autoencoder (Burda, Grosse & Salakhutdinov 2015, "Importance Weighted
Autoencoders"): `dense_vae`'s networks trained on the k-sample bound log (1/k) sum_i p(x, z_i) / q(z_i|x),
z_i ~ q(z|x), which is tighter than the ELBO (k = 1) and rises toward log p(x) as k grows.

The bound holds the prior term itself, so there is no KL layer, beta or free bits; the `ImportanceWeighted`
layer owns the prior and reports a one-draw KL as the metric `kl`.
"""

from zoo import blocks
from zoo import layers as zl
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def iwae(
    input_shape=(28, 28, 1), latent_dim=8, hidden_units=(512, 256), dropout=0.0, posterior="full",
    prior="normal", prior_components=10, importance_samples=5, likelihood="bernoulli", likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """Importance-weighted autoencoder, k = 5 samples (Burda et al. 2015)"""
    encoder = [
        keras.layers.Flatten(),
        *blocks.dense_stack(hidden_units, dropout),
        *blocks.gaussian_posterior(latent_dim, posterior),
    ]
    decoder = [
        *blocks.dense_stack(hidden_units[::-1], dropout),
        *blocks.dense_likelihood(input_shape, likelihood, likelihood_scale),
    ]
    bound = zl.ImportanceWeighted(importance_samples, prior=prior, components=prior_components)
    return assemble(input_shape, latent_dim, encoder, decoder, bound)
