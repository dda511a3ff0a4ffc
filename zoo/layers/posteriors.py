"""Gaussian posteriors q(z|x) from a flat parameter vector: full or diagonal covariance."""

from __future__ import annotations

import math

from zoo import checks
from zoo._tf import tf, tfd, tfp
from zoo.layers.base import SCALE_DIAG_SHIFT, PlainConfigDistribution, serializable


@serializable
class MultivariateNormalTriL(PlainConfigDistribution):
    """Full-covariance Gaussian q(z|x) from a flat parameter vector.

    Input: params [N, params_size(event_size)] (loc, then the lower triangle of the scale). Output: a
    `tfd.MultivariateNormalTriL` with batch shape [N] and event shape [event_size]; as a tensor it is a
    reparameterized sample (`convert_to_tensor_fn="sample"`, the default) or the mean/mode.

    The scale's diagonal goes through softplus + 1e-5, as in the stock layer, but the triangle is filled with
    plain tensor ops (no bijector), which keeps the layer usable under XLA with a short final batch.
    """

    def __init__(self, event_size: int, convert_to_tensor_fn: str = "sample", **kwargs):
        self.event_size = int(event_size)
        super().__init__(lambda params: self.new(params, self.event_size), convert_to_tensor_fn, **kwargs)

    @staticmethod
    def params_size(event_size: int) -> int:
        return event_size + event_size * (event_size + 1) // 2

    @staticmethod
    def new(params: tf.Tensor, event_size: int) -> tfd.Distribution:
        loc = params[..., :event_size]
        tril = tfp.math.fill_triangular(params[..., event_size:])
        scale_diag = tf.math.softplus(tf.linalg.diag_part(tril)) + SCALE_DIAG_SHIFT
        # Not tf.linalg.set_diag: its gradient builds zeros of a dynamic shape, which XLA cannot compile when
        # the batch size varies (a short final batch).
        off_diagonal = 1.0 - tf.eye(event_size, dtype=params.dtype)
        return tfd.MultivariateNormalTriL(
            loc=loc, scale_tril=tril * off_diagonal + tf.linalg.diag(scale_diag)
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "event_size": self.event_size}


@serializable
class MultivariateNormalDiag(PlainConfigDistribution):
    """Diagonal Gaussian q(z|x) from a flat parameter vector: params [N, 2 * event_size] (loc, then the
    pre-softplus scale) -> `tfd.MultivariateNormalDiag`, batch shape [N], event shape [event_size].

    A `MultivariateNormalDiag` rather than `Independent(Normal)`: TFP registers the exact KL from it to the
    standard normal prior, and none between `Independent(Normal)` and `MultivariateNormalDiag`.
    """

    def __init__(self, event_size: int, convert_to_tensor_fn: str = "sample", **kwargs):
        self.event_size = int(event_size)
        super().__init__(lambda params: self.new(params, self.event_size), convert_to_tensor_fn, **kwargs)

    @staticmethod
    def params_size(event_size: int) -> int:
        return 2 * event_size

    @staticmethod
    def new(params: tf.Tensor, event_size: int) -> tfd.Distribution:
        scale = tf.math.softplus(params[..., event_size:]) + SCALE_DIAG_SHIFT
        return tfd.MultivariateNormalDiag(loc=params[..., :event_size], scale_diag=scale)

    def get_config(self) -> dict:
        return {**super().get_config(), "event_size": self.event_size}


COMMITTED_MIN_SCALE = 1e-3
"""The smallest posterior standard deviation `CommittedRateNormal` allows (the interval's lower end)."""


def committed_rate_scale(rate: float, min_scale: float = COMMITTED_MIN_SCALE) -> float:
    """The standard deviation s < 1 at which one dimension of q = N(m, s^2) is `rate` nats from N(0, 1) when
    m = 0: the root of 0.5 * (s^2 - ln s^2 - 1) = rate below 1 (Razavi et al. 2019, Sec. 2). The KL is
    decreasing in s on (0, 1], so every s in [min_scale, that root] gives KL >= rate, whatever m.

    Solved once by bisection on ln s^2 (monotone there; 100 halvings reach float64 precision).
    rate: nats per dimension, >= 0 (0 gives s = 1). Raises a ValueError if the root is below `min_scale`.
    """

    def excess(log_variance: float) -> float:  # KL at s^2 = exp(log_variance), minus rate; falls as it rises
        return 0.5 * (math.exp(log_variance) - log_variance - 1.0) - rate

    low, high = 2.0 * math.log(min_scale), 0.0
    if excess(low) < 0:
        raise ValueError(
            f"A committed rate of {rate:.4g} nats per latent dimension needs posterior standard deviations below "
            f"min_scale={min_scale}: lower delta, or raise latent_dim to spread it over more dimensions."
        )
    for _ in range(100):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if excess(middle) > 0 else (low, middle)
    return math.exp(0.5 * low)  # the side where KL >= rate


@serializable
class CommittedRateNormal(PlainConfigDistribution):
    """Diagonal Gaussian q(z|x) whose KL to the standard normal prior is at least `rate` nats for every x,
    by construction: the delta-VAE posterior (Razavi et al. 2019, "Preventing Posterior Collapse with
    delta-VAEs").

    For q = N(m, diag(s^2)) and p = N(0, I), KL = 0.5 * sum_d (m_d^2 + s_d^2 - ln s_d^2 - 1) >= 0.5 * sum_d
    (s_d^2 - ln s_d^2 - 1). Each s_d is kept in [min_scale, max_scale] with max_scale < 1 the root of
    0.5 * (s^2 - ln s^2 - 1) = rate / event_size (`committed_rate_scale`), so each dimension commits
    rate / event_size nats and the whole code at least `rate` (the committed rate delta). q(z|x) can never
    collapse to the prior.

    Input: params [N, 2 * event_size] (loc, then the pre-sigmoid scale: s = min_scale + (max_scale -
    min_scale) * sigmoid(.)). Output: a `tfd.MultivariateNormalDiag`, batch shape [N], event [event_size].

    Args:
        event_size: the latent dimension D.
        rate: the committed rate delta, in nats per example (the sum over the D dimensions), >= 0.
        min_scale: the smallest standard deviation. Default value: `COMMITTED_MIN_SCALE` (1e-3).
        convert_to_tensor_fn: "sample", "mean" or "mode". Default value: "sample".

    >>> layer = CommittedRateNormal(8, rate=2.0)
    >>> layer.max_scale  # 0.5493..., the largest standard deviation allowed: 0.25 nats per dimension
    """

    def __init__(
        self,
        event_size: int,
        rate: float,
        min_scale: float = COMMITTED_MIN_SCALE,
        convert_to_tensor_fn: str = "sample",
        **kwargs,
    ):
        self.event_size = checks.integer("event_size", event_size)
        self.rate = checks.number("delta", rate)
        self.min_scale = checks.number("min_scale", min_scale, open_low=True, high=1.0)
        self.max_scale = committed_rate_scale(self.rate / self.event_size, self.min_scale)
        super().__init__(lambda params: self.new(params, self.event_size, self.min_scale, self.max_scale),
                         convert_to_tensor_fn, **kwargs)  # fmt: skip

    @staticmethod
    def params_size(event_size: int) -> int:
        return 2 * event_size

    @staticmethod
    def new(params: tf.Tensor, event_size: int, min_scale: float, max_scale: float) -> tfd.Distribution:
        scale = min_scale + (max_scale - min_scale) * tf.math.sigmoid(params[..., event_size:])
        return tfd.MultivariateNormalDiag(loc=params[..., :event_size], scale_diag=scale)

    def get_config(self) -> dict:
        config = {"event_size": self.event_size, "rate": self.rate, "min_scale": self.min_scale}
        return {**super().get_config(), **config}


POSTERIORS = {"full": MultivariateNormalTriL, "diag": MultivariateNormalDiag}
"""The `posterior` hyperparameter's choices and the layer of each."""
