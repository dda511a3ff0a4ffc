"""Autoregressive flows over a latent code z [..., D]: the inverse autoregressive flow posterior (Kingma et al.
2016, "Improved Variational Inference with Inverse Autoregressive Flow") and the masked autoregressive flow
prior (Papamakarios et al. 2017; as a VAE prior, Chen et al. 2017, "Variational Lossy Autoencoder").

Each step is the gated affine map of Kingma et al. 2016, `y = sigma(u) * x + (1 - sigma(u)) * m(u)`, with
`[m, s] = MADE(u)`, `sigma = sigmoid(s + GATE_BIAS)` and u the step's input (IAF, one network pass to sample)
or its output (MAF, one network pass to evaluate a density). A MADE (`tfb.AutoregressiveNetwork`, Germain et
al. 2015) makes output i depend on u_<i only, so the Jacobian is triangular and log|det| = sum log sigma.
The order of z is reversed between steps, so that every coordinate can depend on every other.

Cost: an IAF samples in one pass per step, but its density at an arbitrary z inverts the flow, D passes per
step. `log_prob` of the very tensor `sample` returned hits TensorFlow Probability's bijector cache and takes
one pass per step (for the log-determinant): so the Monte-Carlo KL and the IWAE bound, which evaluate q at
its own draws, stay cheap. A MAF is the reverse: one pass per step for `log_prob`, D for `sample`.
"""

from __future__ import annotations

from collections.abc import Sequence

from zoo import checks
from zoo._tf import keras, tf, tfd, tfp
from zoo.layers.base import PlainConfigDistribution, serializable
from zoo.layers.posteriors import POSTERIORS

tfb = tfp.bijectors

GATE_BIAS = 2.0
"""Added to the gate's pre-activation: sigma starts near sigmoid(2) = 0.88, so a fresh step stays close to
the identity (Kingma et al. 2016 suggest +1 or +2)."""
MOMENT_SAMPLES = 64
"""Draws behind `FlowPosterior.mean()` and `.stddev()`, Monte-Carlo estimates (an IAF has no closed form)."""
MOMENT_SEED = (0, 0)
"""Their stateless seed: the same posterior gives the same mean on every call."""


class _Closure(keras.initializers.Initializer, keras.constraints.Constraint):
    """A MADE's masked kernel initializer or constraint (a closure over the mask, as TFP makes it) wrapped in
    the Keras types, so that `model.save` does not warn that closures may not serialize. Only the Dense
    layers' configs see it: the variables keep TFP's closure, and a loaded model rebuilds its MADEs."""

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def get_config(self) -> dict:
        return {}


class MADE(tfb.AutoregressiveNetwork):
    """`tfb.AutoregressiveNetwork` (Germain et al. 2015) whose Dense layers keep their masks' closures in
    Keras types (`_Closure`). As in TFP, the masks are kernel constraints that a Keras optimizer applies
    after each step (`fit` does): a hand-written loop must apply `variable.constraint` too, or the flow stops
    being autoregressive and its log-determinant is wrong."""

    def build(self, input_shape):
        super().build(input_shape)
        for layer in self._network.layers:
            for attribute in ("kernel_initializer", "kernel_constraint"):
                value = getattr(layer, attribute, None)
                if callable(value) and not isinstance(
                    value, (keras.initializers.Initializer, keras.constraints.Constraint)
                ):
                    setattr(layer, attribute, _Closure(value))


def autoregressive_network(
    event_size: int, hidden_units: Sequence[int], context_size: int = 0, name: str | None = None
) -> MADE:
    """A built MADE: u [..., event_size] (and a context h [..., context_size] if context_size > 0) ->
    [..., event_size, 2], the shift m and gate pre-activation s of one flow step, output i depending on u_<i
    (and h) only. ReLU hidden layers of `hidden_units` widths."""
    network = MADE(
        params=2,
        event_shape=[event_size],
        hidden_units=list(hidden_units),
        activation="relu",
        conditional=context_size > 0,
        conditional_event_shape=[context_size] if context_size > 0 else None,
        name=name,
    )
    network.build((None, event_size))
    return network


@tf.autograph.experimental.do_not_convert
def _gated_affine(network: MADE, u: tf.Tensor, context: tf.Tensor | None) -> tfb.Bijector:
    """The elementwise bijector x -> sigma * x + (1 - sigma) * m, with [m, s] = network(u) and
    sigma = sigmoid(s + GATE_BIAS)."""
    if context is None:
        params = network(u)
    else:  # [N, H] -> [..., N, H], the batch shape of u, e.g. [samples, N] when sampling
        shape = tf.concat([tf.shape(u)[:-1], tf.shape(context)[-1:]], axis=0)
        params = network(u, conditional_input=tf.broadcast_to(context, shape))
    shift, gate = tf.unstack(params, num=2, axis=-1)
    log_sigma = tf.math.log_sigmoid(gate + GATE_BIAS)
    return tfb.Chain([tfb.Shift(-tf.math.expm1(log_sigma) * shift), tfb.Scale(log_scale=log_sigma)])


def _reverse(event_size: int) -> tfb.Bijector:
    return tfb.Permute(permutation=list(range(event_size))[::-1])


def _chain(steps: list[tfb.Bijector], event_size: int) -> tfb.Bijector:
    """steps[0], then reverse z, then steps[1], ... as one bijector (a `tfb.Chain` applies its last first)."""
    ordered = [steps[0]]
    for step in steps[1:]:
        ordered += [_reverse(event_size), step]
    return tfb.Chain(ordered[::-1])


def inverse_autoregressive_flow(networks: Sequence[MADE], context: tf.Tensor | None = None) -> tfb.Bijector:
    """The IAF of one MADE per step: forward (sampling) y = sigma(x) * x + (1 - sigma(x)) * m(x), one pass per
    step. context: h [N, context_size] for networks built with a context, else None."""

    def step(network):
        # MaskedAutoregressiveFlow(f).inverse(x) is f(x).inverse(x), one pass; inverted, its forward is that.
        bijector_fn = lambda x: tfb.Invert(_gated_affine(network, x, context))  # noqa: E731
        return tfb.Invert(tfb.MaskedAutoregressiveFlow(bijector_fn=bijector_fn))

    return _chain([step(network) for network in networks], networks[0].event_shape[-1])


def masked_autoregressive_flow(networks: Sequence[MADE]) -> tfb.Bijector:
    """The MAF of one MADE per step: forward (sampling) y = sigma(y) * x + (1 - sigma(y)) * m(y), with sigma
    and m of y_<i; its inverse (density evaluation) is one pass per step."""
    steps = [
        tfb.MaskedAutoregressiveFlow(bijector_fn=lambda y, n=network: _gated_affine(n, y, None))
        for network in networks
    ]
    return _chain(steps, networks[0].event_shape[-1])


class FlowPosterior(tfd.TransformedDistribution):
    """A `tfd.TransformedDistribution` whose `mean()`, `variance()` and `stddev()` are Monte-Carlo estimates
    over MOMENT_SAMPLES draws with a fixed seed (deterministic), where TFP has none for a non-affine bijector:
    what `zoo.encode(...).mean()`, reconstructions and active units read.

    `log_prob` at a z far outside q's mass (e.g. another example's draw, as the mutual information and the
    aggregate posterior need) inverts the flow through gates near 0 and may overflow float32; such a NaN is
    returned as -inf, the density's value there in float32 (the others at such points: about -1e10 or less).
    """

    def _log_prob(self, y, **kwargs):
        log_prob = super()._log_prob(y, **kwargs)
        return tf.where(tf.math.is_nan(log_prob), tf.constant(-float("inf"), log_prob.dtype), log_prob)

    def _draws(self) -> tf.Tensor:
        return self.sample(MOMENT_SAMPLES, seed=tf.constant(MOMENT_SEED, tf.int32))

    def _mean(self, **kwargs):
        return tf.reduce_mean(self._draws(), axis=0)

    def _variance(self, **kwargs):
        return tf.math.reduce_variance(self._draws(), axis=0)

    def _stddev(self, **kwargs):
        return tf.sqrt(self._variance())


@serializable
class InverseAutoregressiveFlow(PlainConfigDistribution):
    """q(z|x): a Gaussian (`base`, "diag" or "full", as `zoo.layers.POSTERIORS`) followed by `steps` inverse
    autoregressive flow steps, each a MADE of `hidden_units` that also reads a context h from the encoder
    (Kingma et al. 2016) when `context_size` > 0. Its weights are this layer's (trained, saved).

    Input: params [N, params_size(event_size, base, context_size)]: the base Gaussian's parameters, then h.
    Output: a `FlowPosterior` (a `tfd.TransformedDistribution`) with batch shape [N] and event shape
    [event_size]; `log_prob(z)` = base log-density at the flow's input minus the flow's log|det Jacobian|.

    Args:
        event_size: D, the size of z.
        steps: IAF steps. Default value: 2.
        hidden_units: widths of each MADE's hidden layers. Default value: (64, 64).
        base: "diag" or "full", the Gaussian before the flow. Default value: "diag".
        context_size: size of h; 0 for none. Default value: 0.
        convert_to_tensor_fn: "sample" or "mean" (a Monte-Carlo estimate). Default value: "sample".
    """

    def __init__(
        self,
        event_size: int,
        steps: int = 2,
        hidden_units: Sequence[int] = (64, 64),
        base: str = "diag",
        context_size: int = 0,
        convert_to_tensor_fn: str = "sample",
        **kwargs,
    ):
        self.event_size = checks.integer("event_size", event_size)
        self.steps = checks.integer("steps", steps)
        self.hidden_units = checks.integers("hidden_units", hidden_units)
        self.base = checks.one_of("base", base, POSTERIORS)
        self.context_size = checks.integer("context_size", context_size, minimum=0)
        super().__init__(self.new, convert_to_tensor_fn, **kwargs)

    @staticmethod
    def params_size(event_size: int, base: str = "diag", context_size: int = 0) -> int:
        return POSTERIORS[base].params_size(event_size) + context_size

    def build(self, input_shape):
        self.networks = [
            autoregressive_network(
                self.event_size, self.hidden_units, self.context_size, name=f"iaf_made_{i}"
            )
            for i in range(self.steps)
        ]
        super().build(input_shape)

    def new(self, params: tf.Tensor) -> FlowPosterior:
        split = POSTERIORS[self.base].params_size(self.event_size)
        base = POSTERIORS[self.base].new(params[..., :split], self.event_size)
        context = params[..., split:] if self.context_size else None
        return FlowPosterior(base, inverse_autoregressive_flow(self.networks, context))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "event_size": self.event_size,
            "steps": self.steps,
            "hidden_units": list(self.hidden_units),
            "base": self.base,
            "context_size": self.context_size,
        }
