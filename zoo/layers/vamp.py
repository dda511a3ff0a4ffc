"""The VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior"): p(z) = (1/K) sum_k q(z|u_k), the mixture
of the encoder's own posteriors at K learned pseudo-inputs u_k, and the KL layer that holds it.

The prior needs the encoder itself (it encodes the pseudo-inputs), so `VampKLDivergence` owns the posterior
network x -> q(z|x) instead of following it in the encoder: data and pseudo-inputs go through the same
weights, which are saved once, and `prior()` works outside the model (`zoo.sample`, `zoo.evaluate`).
"""

from __future__ import annotations

from zoo import checks
from zoo._tf import keras, tf, tfd
from zoo.layers.base import serializable
from zoo.layers.kl import KLDivergence

PSEUDO_INPUT_RANGES = {"unit": ("sigmoid", -2.0), "real": ("linear", 0.0)}
"""Where the pseudo-inputs live: the activation that maps their free weights there, and the mean the weights
start at. "unit" keeps them in (0, 1), like binary or grey-level pixels (a sigmoid: smooth, unlike the
paper's hard tanh, which passes no gradient to a pixel once it is clipped), starting as dark images of
pixels near sigmoid(-2) = 0.12, about the mean of a binarized MNIST digit; "real" leaves them
unconstrained, for Gaussian pixels or standardized tables, starting near 0."""
INITIAL_SPREAD = 0.1
"""The standard deviation of the free weights at the start: the pseudo-inputs start near one constant, as in
the paper, and training pulls them apart."""


@serializable
class VampKLDivergence(KLDivergence):
    """x -> q(z|x), adding `beta * max(free_bits, mean over the batch of KL(q(z|x) || p(z)))` to the losses,
    with the VampPrior p(z) = (1/K) sum_k q(z|u_k) over K pseudo-inputs u_k [K, *input_shape] (trainable
    weights of this layer). There is no closed-form KL to a mixture: it is always the Monte-Carlo mean over
    `test_points` draws z ~ q(z|x) of log q(z|x) - log p(z), as in the paper. `KLAnnealing` schedules its
    beta like any `KLDivergence`'s; the unweighted KL is the metric `kl`.

    Args:
        network: the posterior network, a Keras model [N, *input_shape] -> q(z|x) (a distribution with batch
            shape [N] and event shape [latent_dim]), e.g. a Sequential of Flatten, Dense layers and
            `MultivariateNormalTriL`. This layer owns it: do not put its layers in the encoder as well.
        pseudo_inputs: K, the number of pseudo-inputs (mixture components). Default value: 100.
        pseudo_input_range: "unit" (in (0, 1), for binary or grey-level images) or "real" (see
            `PSEUDO_INPUT_RANGES`). Default value: "unit".
        beta, test_points, free_bits: as in `KLDivergence`. Default values: 1.0, 1, 0.0.

    Input: images [N, *input_shape]. Output: q(z|x), batch shape [N], event shape [latent_dim].

    >>> network = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
    ...                             keras.layers.Dense(zl.MultivariateNormalTriL.params_size(8)),
    ...                             zl.MultivariateNormalTriL(8)])
    >>> encoder = keras.Sequential([keras.Input((28, 28, 1)), VampKLDivergence(network, pseudo_inputs=50)])
    >>> encoder.layers[0].prior().sample(3).shape        # z ~ p(z): TensorShape([3, 8])
    """

    def __init__(
        self,
        network: keras.Model,
        pseudo_inputs: int = 100,
        pseudo_input_range: str = "unit",
        beta: float = 1.0,
        test_points: int = 1,
        free_bits: float = 0.0,
        **kwargs,
    ):
        pseudo_inputs = checks.integer("pseudo_inputs", pseudo_inputs)
        super().__init__(
            beta=beta, estimator="mc", test_points=test_points, components=pseudo_inputs, free_bits=free_bits,
            **kwargs,
        )  # fmt: skip
        self.prior_kind = "vamp"
        self.network = network
        self.pseudo_input_range = checks.one_of("pseudo_input_range", pseudo_input_range, PSEUDO_INPUT_RANGES)
        activation, self.initial_value = PSEUDO_INPUT_RANGES[pseudo_input_range]
        self._to_range = keras.activations.get(activation)

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        self.image_shape = tuple(input_shape[1:])
        if not self.network.built:
            self.network.build(input_shape)
        latent_dim = self.network.compute_output_shape(input_shape)[-1]
        super().build(tf.TensorShape([None, latent_dim]))  # KLDivergence's beta, then _build_prior below
        keras.layers.Layer.build(self, input_shape)  # the shape this layer is called on, for its config

    def _build_prior(self, latent_dim: int) -> None:
        self.latent_dim = int(latent_dim)
        initializer = keras.initializers.RandomNormal(self.initial_value, INITIAL_SPREAD)
        self.pseudo_input_weights = self.add_weight(
            name="pseudo_inputs", shape=(self.components, *self.image_shape), initializer=initializer
        )

    def pseudo_input_values(self) -> tf.Tensor:
        """The pseudo-inputs u_k as images: [K, *input_shape]."""
        return self._to_range(self.pseudo_input_weights)

    def prior(self) -> tfd.Distribution:
        """p(z) = (1/K) sum_k q(z|u_k): a `MixtureSameFamily` of the posteriors at the pseudo-inputs, with
        equal weights, over [latent_dim]. Sampling draws a pseudo-input, then z from its posterior."""
        components = self.network(self.pseudo_input_values())  # batch shape [K]
        weights = tfd.Categorical(logits=tf.zeros([self.components], dtype=self.dtype))
        return tfd.MixtureSameFamily(mixture_distribution=weights, components_distribution=components)

    def call(self, x, training=None):
        return super().call(self.network(x, training=training), training=training)

    def get_config(self) -> dict:
        # this layer's arguments only: not KLDivergence's config, whose estimator and prior options it fixes
        return {
            **keras.layers.Layer.get_config(self),
            "network": keras.layers.serialize(self.network),
            "pseudo_inputs": self.components,
            "pseudo_input_range": self.pseudo_input_range,
            "beta": self.initial_beta,
            "test_points": self.test_points,
            "free_bits": self.free_bits,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> VampKLDivergence:
        config = dict(config)
        network = keras.layers.deserialize(config.pop("network"), custom_objects=custom_objects)
        return cls(network=network, **config)
