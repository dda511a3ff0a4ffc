"""Mixture of Bernoullis: the classical baseline a latent-variable image model must beat (Bishop 2006,
"Pattern Recognition and Machine Learning", section 9.3.3; the opening example of VAE tutorials).

K prototype images of pixel probabilities and their mixture weights, trained by `fit` on the exact
negative log-likelihood -log sum_k pi_k prod_i Bernoulli(x_i; p_ki). It has no encoder or decoder: its
exact NLL is directly comparable with the VAEs' bounds (it *is* its own neg_elbo). With the defaults (K = 20,
learning rate 0.2, 30 epochs of batch 64 on mnist-5k's 4,500 training digits) it reaches 170.9 nats on the
other 500; smaller learning rates fall into a worse optimum (199.2 nats at 0.05 and at 0.03), larger ones do
worse too (172.1 at 0.3, 174.3 at 0.5; benchmarks/README.md).
"""

from zoo import layers as zl
from zoo._tf import keras
from zoo.model import ZooModel
from zoo.registry import register


def bernoulli_mixture(input_shape=(28, 28, 1), components=20) -> ZooModel:
    """Mixture of K independent-Bernoulli images, exact likelihood (Bishop 2006, sec. 9.3.3)."""
    image = keras.Input(input_shape, name="image")
    mixture = zl.BernoulliMixture(components, input_shape, name="likelihood")(image)
    return ZooModel(image, mixture)


register(bernoulli_mixture, defaults={"learning_rate": 0.2})
