"""The variational autoencoder family (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"; Rezende
et al. 2014), one builder for every variant the course material and the literature compare.

q(z|x) is a Gaussian (full or diagonal covariance), p(z) the standard normal or a learned mixture, and
p(x|z) independent Bernoulli (binary images) or Gaussian (grey levels, any numeric data) pixels. The loss
is the negative ELBO in nats per example: -log p(x|z) from `fit`'s loss plus the `KLDivergence` layer's
beta * KL. Conditional variants feed the label to the encoder and the decoder and train on
`fit([x, labels], x)` with integer labels [N].
"""

import math

from zoo import blocks
from zoo import layers as zl
from zoo._tf import keras
from zoo.hparams import check_conv_shape
from zoo.model import ZooModel, assemble, assemble_conditional
from zoo.registry import register


def vae(
    input_shape=(28, 28, 1),
    network="dense",
    conditional=False,
    num_classes=10,
    latent_dim=8,
    hidden_units=(512, 256),
    filters=(32, 64),
    dropout=0.0,
    corruption="none",
    corruption_rate=0.0,
    posterior="full",
    prior="normal",
    prior_components=10,
    beta=1.0,
    kl_estimator="auto",
    kl_test_points=1,
    free_bits=0.0,
    likelihood="bernoulli",
    likelihood_scale=None,
    objective="elbo",
    importance_samples=5,
    learning_rate=1e-3,
    jit_compile=False,
    steps_per_execution=1,
) -> ZooModel:
    """A VAE: `network` "dense" (MLP of `hidden_units`, with `dropout`) or "conv" (stride-2 `filters`).

    objective "elbo" trains on the ELBO (with beta, the KL estimator and free bits); "iwae" on the
    importance-weighted bound with `importance_samples` draws per example (Burda et al. 2015), which
    includes the prior term itself, so the KL options do not apply.
    """
    if objective == "iwae":
        if conditional:
            raise ValueError(
                "objective='iwae' is not available for conditional models; use objective='elbo'."
            )
        head = blocks.gaussian_posterior(latent_dim, posterior, kl=None)
        bound = zl.ImportanceWeighted(importance_samples, prior=prior, components=prior_components)
    else:
        kl_options = dict(beta=beta, estimator=kl_estimator, test_points=kl_test_points, prior=prior)
        kl_options.update(components=prior_components, free_bits=free_bits)
        head, bound = blocks.gaussian_posterior(latent_dim, posterior, kl=kl_options), None
    outputs_per_pixel = blocks.params_per_pixel(likelihood, likelihood_scale)
    if network == "dense":
        features, body = [keras.layers.Flatten()], blocks.dense_stack(hidden_units, dropout)
        params = keras.layers.Dense(outputs_per_pixel * math.prod(input_shape))
        decoder = [*blocks.dense_stack(hidden_units[::-1], dropout), params]
    else:
        check_conv_shape(input_shape, filters)
        features, body = blocks.conv_encoder(filters), []
        decoder = blocks.deconv_decoder(input_shape, filters[::-1], outputs_per_pixel * input_shape[-1])
    decoder.append(blocks.likelihood(input_shape, likelihood, likelihood_scale))
    if corruption != "none":
        features.insert(0, zl.Corruption(corruption, corruption_rate))
    options = dict(jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    if conditional:
        encoder_head = [*body, *head]
        return assemble_conditional(
            input_shape, latent_dim, num_classes, features, encoder_head, decoder, learning_rate, **options
        )
    encoder = [*features, *body, *head]
    return assemble(input_shape, latent_dim, encoder, decoder, learning_rate, bound, **options)


DENSE = {"network": "dense", "filters": (32, 64)}  # filters: unused by the MLP
CONV = {"network": "conv", "hidden_units": (512, 256), "dropout": 0.0}  # unused by the conv network
UNCONDITIONAL = {"conditional": False, "num_classes": 10}
# Tuned at 30 epochs on mnist-5k (benchmarks/README.md): the MLPs do best with an 8-D code, the conv nets
# with a 16-D one.
CONV_DEFAULTS = {"latent_dim": 16}

# name: (description, fixed hyperparameters, changed defaults)
VARIANTS = {
    "dense_vae": ("VAE with MLP encoder/decoder (Kingma & Welling 2014)", {**DENSE, **UNCONDITIONAL}, {}),
    "conv_vae": (
        "VAE with conv encoder, transposed-conv decoder (Kingma & Welling 2014)",
        {**CONV, **UNCONDITIONAL},
        CONV_DEFAULTS,
    ),
    "cvae": (
        "Conditional VAE, label into encoder and decoder (Kingma et al. 2014; Sohn et al. 2015)",
        {**DENSE, "conditional": True},
        {},
    ),
    "conv_cvae": (
        "Conditional VAE with conv encoder/decoder (Sohn et al. 2015)",
        {**CONV, "conditional": True},
        CONV_DEFAULTS,
    ),
    "beta_vae": (
        "beta-VAE: KL weighted by beta = 4 for disentangling (Higgins et al. 2017)",
        {**DENSE, **UNCONDITIONAL},
        {"beta": 4.0},
    ),
    "mixture_vae": (
        "VAE with a learned mixture-of-Gaussians prior, Monte-Carlo KL (Dilokthanakul et al. 2016; "
        "Tomczak & Welling 2018)",
        {**DENSE, **UNCONDITIONAL, "prior": "mixture"},
        {},
    ),
    "gaussian_vae": (
        "VAE with Gaussian pixels (learned scale) for grey-level or real-valued data (Kingma & Welling 2014)",
        {**DENSE, **UNCONDITIONAL, "likelihood": "gaussian"},
        {},
    ),
    "iwae": (
        "Importance-weighted autoencoder, k = 5 samples (Burda et al. 2015)",
        {**DENSE, **UNCONDITIONAL, "objective": "iwae"},
        {},
    ),
    "denoising_vae": (
        "Denoising VAE: salt-and-pepper corrupted inputs in training (Im et al. 2017)",
        {**DENSE, **UNCONDITIONAL},
        {"corruption": "salt_and_pepper", "corruption_rate": 0.2},
    ),
}
for name, (description, fixed, changed) in VARIANTS.items():
    register(vae, name=name, description=description, fixed=fixed, defaults=changed)
