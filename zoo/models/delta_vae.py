"""The delta-VAE (Razavi, van den Oord, Poole & Vinyals 2019, "Preventing Posterior Collapse with
delta-VAEs"): a posterior family that keeps a minimum distance from the prior.

`dense_vae`'s networks, with q(z|x) a diagonal Gaussian whose standard deviations are bounded to
[min_scale, max_scale], max_scale < 1, so that KL(q(z|x) || N(0, I)) >= delta for every x, whatever the
encoder outputs (`zoo.layers.CommittedRateNormal`; delta is spread equally over the latent dimensions). The
model still maximizes the plain ELBO, but it cannot reach the collapsed optimum q(z|x) = p(z): delta nats per
example is the committed rate the decoder gets for free. The bound needs the standard normal prior and the
exact KL, so neither is a hyperparameter here. The paper's sequential (AR(1) prior) variant is not built.
"""

from zoo import blocks
from zoo import layers as zl
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def delta_vae(
    input_shape=(28, 28, 1), latent_dim=8, hidden_units=(512, 256), dropout=0.0, delta=1.0, beta=1.0,
    likelihood="bernoulli", likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """delta-VAE: KL(q(z|x) || p(z)) >= delta nats by construction (Razavi et al. 2019)"""
    encoder = [
        keras.layers.Flatten(),
        *blocks.dense_stack(hidden_units, dropout),
        keras.layers.Dense(zl.CommittedRateNormal.params_size(latent_dim)),
        zl.CommittedRateNormal(latent_dim, delta, name="posterior"),
        blocks.kl_term("normal", 1, beta, "exact", 1, 0.0),
    ]
    decoder = [
        *blocks.dense_stack(hidden_units[::-1], dropout),
        *blocks.dense_likelihood(input_shape, likelihood, likelihood_scale),
    ]
    return assemble(input_shape, latent_dim, encoder, decoder)
