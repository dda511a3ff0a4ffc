"""Two stochastic layers in one code z = [z1, z2]: the layers of `hvae` (Burda et al. 2015's two-layer model).

The posterior factors bottom-up, q(z1, z2 | x) = q(z1|x) q(z2|z1), and the prior top-down, p(z1, z2) =
p(z2) p(z1|z2), each a `TwoLevel` distribution over the concatenated event [d1 + d2]. Because the code is
one vector, everything that reads a model's code works unchanged: the KL layer's Monte-Carlo estimate
log q(z) - log p(z) at z ~ q, the IWAE bound of `zoo.evaluate` (over both layers), `zoo.sample` (z ~ p, then
decode), encode/decode. The decoder reads z1 only (`BottomLevel`), so p(x, z1, z2) = p(z2) p(z1|z2) p(x|z1).

The two conditionals, q(z2|z1) and p(z1|z2), are diagonal Gaussians whose parameters come from small ReLU
networks held in the posterior layer and in the KL layer (so they are tracked, trained and saved).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zoo import checks
from zoo._tf import keras, tf, tfd, tfp
from zoo.layers.base import PlainConfigDistribution, inferring_output_shape, serializable
from zoo.layers.importance import ImportanceWeighted
from zoo.layers.kl import KLDivergence
from zoo.layers.posteriors import MultivariateNormalDiag
from zoo.layers.priors import HasPrior, standard_normal

LEVELS = ("z1", "z2")
"""The two levels, bottom (read by the decoder) then top; each level's KL is reported as f"kl_{level}"."""
LEVEL_METRICS = tuple(f"kl_{level}" for level in LEVELS)


def level_sizes(latent_dim: int, top_latent_dim: int | None = None) -> tuple[int, int]:
    """(d1, d2): the sizes of z1 and z2 in a code of latent_dim = d1 + d2 entries. top_latent_dim=None takes
    a third of the code for z2 (at least 1), as Burda et al.'s 100 + 50 units."""
    top = max(1, latent_dim // 3) if top_latent_dim is None else top_latent_dim
    if not 1 <= top < latent_dim:
        raise ValueError(
            f"latent_dim={latent_dim} is the size of the whole code [z1, z2], so top_latent_dim (the size of z2) "
            f"must be at least 1 and below it; got top_latent_dim={top_latent_dim}. Raise latent_dim or lower "
            "top_latent_dim (None takes a third of latent_dim)."
        )
    return latent_dim - top, top


def gaussian_network(
    hidden_units: Sequence[int], event_size: int, input_size: int, name: str
) -> list[keras.layers.Layer]:
    """Built ReLU Dense layers [..., input_size] -> [..., 2 * event_size] for `conditional_gaussian`: the
    parameters of a diagonal Gaussian (loc, then the pre-softplus scale). A list, not a Sequential, so that
    it takes inputs of any rank (a Sequential built for [N, D] refuses draws [S, N, D]). Layer i is named
    f"{name}_{i}"."""
    widths = [*hidden_units, 2 * event_size]
    activations = ["relu"] * len(hidden_units) + [None]
    layers = [
        keras.layers.Dense(width, activation, name=f"{name}_{i}")
        for i, (width, activation) in enumerate(zip(widths, activations, strict=True))
    ]
    for layer, width in zip(layers, [input_size, *hidden_units], strict=True):
        layer.build((None, width))
    return layers


def conditional_gaussian(network: Sequence[keras.layers.Layer], given: tf.Tensor) -> tfd.Distribution:
    """A `gaussian_network` at `given` [..., input_size] -> diagonal Gaussian, batch [...], event [event_size]."""
    for layer in network:
        given = layer(given)
    return MultivariateNormalDiag.new(given, given.shape[-1] // 2)


class TwoLevel(tfd.Distribution):
    """A distribution over the code z = [z1, z2] (event shape [d1 + d2]) that factors along a chain: the
    level drawn first has distribution `first`, the other one `then(first_value)`.

    Bottom-up (`top_down=False`), the posterior q(z1, z2 | x) = q(z1|x) q(z2|z1): first = q(z1|x).
    Top-down (`top_down=True`), the prior p(z1, z2) = p(z2) p(z1|z2): first = p(z2).

    `sample` draws the first level, then the other given it (reparameterized if both are); `log_prob` is the
    sum of `log_prob_levels`. The marginal mean and standard deviation of the second level are intractable:
    `mean()` and `stddev()` are exact for the first level and, for the second, those of `then` at the first
    level's mean (a plug-in; what `zoo.reconstruct`, `interpolate` and active units read as "the code").

    Args:
        first: the first level's distribution, batch shape B (e.g. [N] or []), event shape [its size].
        then: a tensor [..., B, first's size] -> the other level's distribution, batch shape [..., B].
        sizes: (d1, d2).
        top_down: True if the first level is z2 (a prior), False if it is z1 (a posterior).
    """

    def __init__(
        self,
        first: tfd.Distribution,
        then: Callable[[tf.Tensor], tfd.Distribution],
        sizes: tuple[int, int],
        top_down: bool,
        name: str = "TwoLevel",
    ):
        parameters = dict(locals())
        self.first, self.then, self.sizes, self.top_down = first, then, tuple(sizes), top_down
        super().__init__(
            dtype=first.dtype,
            reparameterization_type=first.reparameterization_type,
            validate_args=False,
            allow_nan_stats=True,
            parameters=parameters,
            name=name,
        )

    def _batch_shape(self):
        return self.first.batch_shape

    def _batch_shape_tensor(self):
        return self.first.batch_shape_tensor()

    def _event_shape(self):
        return tf.TensorShape([sum(self.sizes)])

    def _event_shape_tensor(self):
        return tf.constant([sum(self.sizes)], tf.int32)

    def _join(self, first: tf.Tensor, second: tf.Tensor) -> tf.Tensor:
        return tf.concat([second, first] if self.top_down else [first, second], axis=-1)

    def _split(self, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """z [..., d1 + d2] -> (first level's values, second level's values)."""
        z1, z2 = z[..., : self.sizes[0]], z[..., self.sizes[0] :]
        return (z2, z1) if self.top_down else (z1, z2)

    def _sample_n(self, n, seed=None):
        first_seed, then_seed = tfp.random.split_seed(seed, n=2, salt="TwoLevel")
        first = self.first.sample(n, seed=first_seed)  # [n, B, first's size]
        return self._join(first, self.then(first).sample(seed=then_seed))

    def log_prob_levels(self, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """z [..., B, d1 + d2] -> (log density of the z1 factor, of the z2 factor), each [..., B]: (log q(z1|x),
        log q(z2|z1)) for the posterior, (log p(z1|z2), log p(z2)) for the prior."""
        first, second = self._split(z)
        log_first, log_then = self.first.log_prob(first), self.then(first).log_prob(second)
        return (log_then, log_first) if self.top_down else (log_first, log_then)

    def _log_prob(self, z):
        return tf.add_n(self.log_prob_levels(z))

    def _plug_in(self, statistic: str) -> tf.Tensor:
        second = getattr(self.then(self.first.mean()), statistic)()
        return self._join(getattr(self.first, statistic)(), second)

    def _mean(self):
        return self._plug_in("mean")

    def _stddev(self):
        return self._plug_in("stddev")


@serializable
class HierarchicalPosterior(PlainConfigDistribution):
    """q(z1, z2 | x) = q(z1|x) q(z2|z1) from the parameters of q(z1|x): params [N, 2 * d1] (loc, then the
    pre-softplus scale of a diagonal Gaussian) -> a bottom-up `TwoLevel`, batch shape [N], event [d1 + d2].
    q(z2|z1) is a diagonal Gaussian whose parameters a ReLU network of this layer computes from z1.

    Args:
        bottom_size: d1, the size of z1.
        top_size: d2, the size of z2.
        hidden_units: widths of the network z1 -> q(z2|z1)'s parameters.
        convert_to_tensor_fn: "sample", "mean" or "mode" (as every zoo distribution layer).
            Default value: "sample".
    """

    def __init__(
        self,
        bottom_size: int,
        top_size: int,
        hidden_units: Sequence[int],
        convert_to_tensor_fn: str = "sample",
        **kwargs,
    ):
        super().__init__(lambda params: self.new(params), convert_to_tensor_fn, **kwargs)
        self.bottom_size = checks.integer("bottom_size", bottom_size)
        self.top_size = checks.integer("top_size", top_size)
        self.hidden_units = checks.integers("hidden_units", hidden_units)
        self.top_network = gaussian_network(self.hidden_units, self.top_size, self.bottom_size, "q_z2")

    @staticmethod
    def params_size(bottom_size: int) -> int:
        """The parameters of q(z1|x) this layer takes per example."""
        return MultivariateNormalDiag.params_size(bottom_size)

    def new(self, params: tf.Tensor) -> TwoLevel:
        return TwoLevel(
            MultivariateNormalDiag.new(params, self.bottom_size),
            lambda z1: conditional_gaussian(self.top_network, z1),
            (self.bottom_size, self.top_size),
            top_down=False,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "bottom_size": self.bottom_size,
            "top_size": self.top_size,
            "hidden_units": list(self.hidden_units),
        }


class HierarchicalPrior(HasPrior):
    """Mixin for the layer that owns p(z1, z2) = N(z2; 0, I) p(z1|z2) over the code [z1, z2]: a top-down
    `TwoLevel` whose p(z1|z2) is a diagonal Gaussian computed from z2 by a ReLU network of the layer
    (`hidden_units` wide). The layer sets `top_size` (d2) and `hidden_units`; d1 follows from the code's
    size when the layer is built. The base layer's flat-prior choice (`prior_kind`, left at "normal") is
    not read."""

    top_size: int
    hidden_units: tuple[int, ...]

    def _build_prior(self, latent_dim: int) -> None:
        self.latent_dim = int(latent_dim)
        self.bottom_size, _ = level_sizes(self.latent_dim, self.top_size)
        self.bottom_network = gaussian_network(self.hidden_units, self.bottom_size, self.top_size, "p_z1")

    def prior(self) -> TwoLevel:
        """p(z1, z2) over [d1 + d2], batch shape []."""
        return TwoLevel(
            standard_normal(self.top_size, dtype=self.dtype),
            lambda z2: conditional_gaussian(self.bottom_network, z2),
            (self.bottom_size, self.top_size),
            top_down=True,
        )

    def _prior_config(self) -> dict:
        return {"top_size": self.top_size, "hidden_units": list(self.hidden_units)}


def kl_per_level(posterior: TwoLevel, prior: TwoLevel, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Monte-Carlo KL of each level from draws z [S, N, d1 + d2] ~ q: (mean over S of log q(z1|x) -
    log p(z1|z2), of log q(z2|z1) - log p(z2)), each [N] nats. They sum to the estimate of KL(q || p)."""
    levels = zip(posterior.log_prob_levels(z), prior.log_prob_levels(z), strict=True)
    return tuple(tf.reduce_mean(log_q - log_p, axis=0) for log_q, log_p in levels)


def add_level_metrics(layer: keras.layers.Layer, levels: tuple[tf.Tensor, tf.Tensor]) -> None:
    """Report each level's batch-mean KL as the metrics "kl_z1" and "kl_z2" of `layer` (inside its call)."""
    for name, kl in zip(LEVEL_METRICS, levels, strict=True):
        layer.add_metric(tf.reduce_mean(kl), name=name)


@serializable
class HierarchicalKL(HierarchicalPrior, KLDivergence):
    """`KLDivergence` (beta, annealing, free bits, the metric `kl`) for a `HierarchicalPosterior`, holding the
    prior p(z1, z2) = p(z2) p(z1|z2) (see `HierarchicalPrior`). The KL has no closed form: it is the
    Monte-Carlo mean over `test_points` draws z ~ q of log q(z) - log p(z), and its split by level is
    reported as the metrics `kl_z1` = E_q[log q(z1|x) - log p(z1|z2)] and `kl_z2` = E_q[log q(z2|z1) -
    log p(z2)] (they sum to `kl`; a `kl_z2` near 0 is the top layer collapsing onto its prior).

    Args:
        top_size: d2, the size of z2 (the last d2 entries of the code).
        hidden_units: widths of the network z2 -> p(z1|z2)'s parameters.
        beta, test_points, free_bits: as `KLDivergence`. Default values: 1.0, 1, 0.0.
        estimator: "mc" only (or "auto", which means it here). Default value: "mc".

    Input: a `TwoLevel` posterior, batch [N], event [d1 + d2]. Output: the same distribution.
    """

    METRICS = ("kl", *LEVEL_METRICS)

    def __init__(
        self,
        top_size: int,
        hidden_units: Sequence[int],
        beta: float = 1.0,
        estimator: str = "mc",
        test_points: int = 1,
        free_bits: float = 0.0,
        **kwargs,
    ):
        if estimator == "exact":
            raise ValueError("p(z1, z2) has no closed-form KL: use estimator='mc' (Monte-Carlo).")
        super().__init__(beta, estimator, test_points, free_bits=free_bits, **kwargs)
        self.top_size = checks.integer("top_size", top_size)
        self.hidden_units = checks.integers("hidden_units", hidden_units)

    def kl_per_level(self, posterior: TwoLevel) -> tuple[tf.Tensor, tf.Tensor]:
        """(KL of z1, KL of z2) per example, each [N] nats, from one set of `test_points` draws z ~ q."""
        return kl_per_level(posterior, self.prior(), posterior.sample(self.test_points))

    def kl_per_example(self, posterior: TwoLevel) -> tf.Tensor:
        return tf.add_n(self.kl_per_level(posterior))

    def call(self, posterior, training=None):
        # The levels travel as values, not as layer state: MirroredStrategy runs the replicas' calls of this
        # one layer in parallel threads, and each replica must report its own half-batch.
        if inferring_output_shape():
            return posterior
        levels = self.kl_per_level(posterior)
        self.add_kl(tf.add_n(levels), training)
        add_level_metrics(self, levels)
        return posterior


@serializable
class HierarchicalImportanceWeighted(HierarchicalPrior, ImportanceWeighted):
    """`ImportanceWeighted` (the k-sample bound as the model's output, so `fit` trains an IWAE) for a
    `HierarchicalPosterior`, holding the prior p(z1, z2) = p(z2) p(z1|z2) (see `HierarchicalPrior`): the
    importance weights are p(x|z1) p(z1|z2) p(z2) / (q(z1|x) q(z2|z1)) over both levels, as in Burda et
    al.'s two-layer IWAE. Reports the one-draw KL as `kl` and its levels as `kl_z1`, `kl_z2`.

    Args:
        samples: k, the importance samples per example.
        top_size: d2, the size of z2 (the last d2 entries of the code).
        hidden_units: widths of the network z2 -> p(z1|z2)'s parameters.
    """

    METRICS = (*LEVEL_METRICS, "kl")

    def __init__(self, samples: int, top_size: int, hidden_units: Sequence[int], **kwargs):
        super().__init__(samples, **kwargs)
        self.top_size = checks.integer("top_size", top_size)
        self.hidden_units = checks.integers("hidden_units", hidden_units)

    def call(self, inputs, *args, **kwargs):
        posterior, z, _ = inputs
        if not inferring_output_shape():
            first_draw = tf.reshape(z, [self.samples, -1, z.shape[-1]])[:1]  # [1, N, d1 + d2]
            add_level_metrics(self, kl_per_level(posterior, self.prior(), first_draw))
        return super().call(inputs, *args, **kwargs)


@serializable
class BottomLevel(keras.layers.Layer):
    """The decoder's first layer: the code [N, d1 + d2] -> z1 [N, d1], its first `size` entries."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = checks.integer("size", size)

    def call(self, z):
        return z[..., : self.size]

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}
