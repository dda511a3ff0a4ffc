"""The VAE with an inverse autoregressive flow posterior (Kingma, Salimans, Jozefowicz, Chen, Sutskever &
Welling 2016, "Improved Variational Inference with Inverse Autoregressive Flow").

`dense_vae`'s networks, but q(z|x) is a Gaussian followed by `flow_steps` IAF steps: each a MADE
(`tfp.bijectors.AutoregressiveNetwork`) of `flow_hidden_units` that reads the previous step's z and a context
h the encoder emits beside the Gaussian's parameters (`flow_context_size`, 0 for none), with the paper's
gated update z <- sigma * z + (1 - sigma) * m and the order of z reversed between steps. The posterior has no
closed-form KL to any prior: the KL term is the Monte-Carlo mean of log q(z|x) - log p(z) over
`kl_test_points` draws z ~ q(z|x), log q including the flow's log-determinant (`zoo.layers.flows`).
`prior="flow"` gives the prior a masked autoregressive flow of the same sizes (Chen et al. 2017).
"""

from zoo import blocks
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def iaf_vae(
    input_shape=(28, 28, 1), latent_dim=8, hidden_units=(512, 256), dropout=0.0, posterior="diag",
    flow_steps=2, flow_hidden_units=(64, 64), flow_context_size=16, prior="normal", prior_components=10,
    beta=1.0, kl_test_points=1, free_bits=0.0, likelihood="bernoulli", likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """VAE with an inverse autoregressive flow posterior (Kingma et al. 2016)"""
    encoder = [
        keras.layers.Flatten(),
        *blocks.dense_stack(hidden_units, dropout),
        *blocks.iaf_posterior(latent_dim, posterior, flow_steps, flow_hidden_units, flow_context_size),
        blocks.kl_term(
            prior, prior_components, beta, "mc", kl_test_points, free_bits, flow_steps, flow_hidden_units
        ),
    ]
    decoder = [
        *blocks.dense_stack(hidden_units[::-1], dropout),
        *blocks.dense_likelihood(input_shape, likelihood, likelihood_scale),
    ]
    return assemble(input_shape, latent_dim, encoder, decoder)
