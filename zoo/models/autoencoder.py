"""Plain bottleneck autoencoder: the non-probabilistic baseline (Hinton & Salakhutdinov, Science 2006).

The code z is deterministic and there is no prior or KL term, so the model is not generative. Its decoder
still emits independent Bernoulli pixels, so it trains on the same negative log-likelihood (binary
cross-entropy, in nats) and is scored by the same evaluation as the VAEs.
"""

from zoo import blocks
from zoo._tf import keras
from zoo.model import ZooModel, assemble
from zoo.registry import register


@register
def autoencoder(input_shape=(28, 28, 1), latent_dim=16, hidden_units=(512, 256), dropout=0.0) -> ZooModel:
    """Plain MLP autoencoder with a deterministic code; Bernoulli decoder (Hinton & Salakhutdinov 2006)."""
    encoder = [
        keras.layers.Flatten(),
        *blocks.dense_stack(hidden_units, dropout),
        keras.layers.Dense(latent_dim),
    ]
    decoder = [*blocks.dense_stack(hidden_units[::-1], dropout), *blocks.dense_likelihood(input_shape)]
    return assemble(input_shape, latent_dim, encoder, decoder)
