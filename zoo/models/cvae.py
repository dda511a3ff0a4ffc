"""Conditional VAE: the class label is fed to both the encoder and the decoder (Kingma et al. 2014,
"Semi-Supervised Learning with Deep Generative Models", model M2 with labels observed; Sohn et al. 2015).

Trains on `model.fit([x, labels], x)` with integer labels in [0, num_classes) of shape [N]: the model
one-hot encodes them itself. Fixing z and varying the label keeps the handwriting style and changes the digit.
"""

from zoo import blocks
from zoo._tf import keras
from zoo.model import ZooModel, assemble_conditional
from zoo.registry import register


@register
def cvae(
    input_shape=(28, 28, 1),
    num_classes=10,
    latent_dim=16,
    hidden_units=(512, 256),
    beta=1.0,
    learning_rate=1e-3,
) -> ZooModel:
    """Conditional VAE on [image, integer label], MLP encoder/decoder (Kingma et al. 2014; Sohn et al. 2015)."""
    return assemble_conditional(
        "cvae",
        input_shape,
        latent_dim,
        num_classes,
        feature_layers=[keras.layers.Flatten()],
        encoder_layers=[*blocks.dense_stack(hidden_units), *blocks.gaussian_posterior(latent_dim, beta)],
        decoder_layers=[*blocks.dense_stack(hidden_units[::-1]), *blocks.bernoulli_likelihood(input_shape)],
        learning_rate=learning_rate,
    )
