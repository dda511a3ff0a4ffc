"""The VAE with a VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior"): `dense_vae`'s MLP networks,
with the prior p(z) = (1/K) sum_k q(z|u_k), the mixture of the encoder's own posteriors at K learned
pseudo-inputs u_k (images the optimizer draws), in place of N(0, I).

The KL to a mixture has no closed form: it is the Monte-Carlo estimate log q(z|x) - log p(z) at z ~ q(z|x),
and `zoo.evaluate`'s rate and IWAE bound use the same prior. `zoo.sample` draws a pseudo-input, z from its
posterior, and decodes z. The `VampKLDivergence` layer holds the posterior network and the pseudo-inputs.
"""

from zoo import blocks
from zoo import layers as zl
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def vamp_vae(
    input_shape=(28, 28, 1), latent_dim=8, hidden_units=(512, 256), dropout=0.0, posterior="full",
    pseudo_inputs=100, beta=1.0, kl_test_points=1, free_bits=0.0, likelihood="bernoulli",
    likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """VAE with a VampPrior: a mixture of the posteriors of K learned pseudo-inputs (Tomczak & Welling 2018)"""
    network = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            *blocks.dense_stack(hidden_units, dropout),
            *blocks.gaussian_posterior(latent_dim, posterior),
        ],
        name="posterior_network",
    )
    pseudo_input_range = "real" if likelihood == "gaussian" else "unit"
    kl = zl.VampKLDivergence(
        network, pseudo_inputs, pseudo_input_range, beta, kl_test_points, free_bits, name="kl_divergence"
    )
    decoder = [
        *blocks.dense_stack(hidden_units[::-1], dropout),
        *blocks.dense_likelihood(input_shape, likelihood, likelihood_scale),
    ]
    return assemble(input_shape, latent_dim, [kl], decoder)
