"""The conditional VAE with MLP encoder and decoder (Kingma et al. 2014, "Semi-Supervised Learning with
Deep Generative Models", model M2 with the label observed; Sohn et al. 2015, "Learning Structured Output
Representation using Deep Conditional Generative Models").

The label, one-hot, joins the image's features in the encoder, q(z|x, y), and the code in the decoder,
p(x|z, y); the prior p(z) does not depend on it. Trains on `fit([x, labels], x)` with integer labels [N];
`zoo.sample(model, n, labels=3)` draws threes.
"""

from zoo import blocks
from zoo._tf import keras
from zoo.model import ZooModel, assemble_conditional
from zoo.registry import register


@register
def cvae(
    input_shape=(28, 28, 1), num_classes=10, latent_dim=8, hidden_units=(512, 256), dropout=0.0,
    posterior="full", prior="normal", prior_components=10, beta=1.0, kl_estimator="auto", kl_test_points=1,
    free_bits=0.0, likelihood="bernoulli", likelihood_scale=None,
) -> ZooModel:  # fmt: skip
    """Conditional VAE, label into encoder and decoder (Kingma et al. 2014; Sohn et al. 2015)"""
    encoder_head = [
        *blocks.dense_stack(hidden_units, dropout),
        *blocks.gaussian_posterior(latent_dim, posterior),
        blocks.kl_term(prior, prior_components, beta, kl_estimator, kl_test_points, free_bits),
    ]
    decoder = [
        *blocks.dense_stack(hidden_units[::-1], dropout),
        *blocks.dense_likelihood(input_shape, likelihood, likelihood_scale),
    ]
    features = [keras.layers.Flatten()]
    return assemble_conditional(input_shape, latent_dim, num_classes, features, encoder_head, decoder)
