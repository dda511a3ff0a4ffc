"""Gaussian posteriors q(z|x) from a flat parameter vector: full or diagonal covariance."""

from __future__ import annotations

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



POSTERIORS = {"full": MultivariateNormalTriL, "diag": MultivariateNormalDiag}
"""The `posterior` hyperparameter's choices and the layer of each."""
