"""What every zoo layer shares: plain-value configs, and the loss every model trains on.

`PlainConfigDistribution` is a `tfp.layers.DistributionLambda` whose config holds plain values only, so a
model file loads with `safe_mode=True` and never unpickles code; `serializable` registers a class under the
package name "zoo" (the registered name, "zoo>ClassName", is what a model file stores: moving a class
between modules never breaks an old file, renaming it would).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from zoo import checks
from zoo._tf import keras, tf, tfd, tfpl

serializable = keras.utils.register_keras_serializable("zoo")

CONVERT_TO_TENSOR = {
    "sample": tfd.Distribution.sample,
    "mean": tfd.Distribution.mean,
    "mode": tfd.Distribution.mode,
}
"""How a distribution layer's output becomes a tensor when the next layer needs one, by name."""
SCALE_DIAG_SHIFT = 1e-5  # keeps a scale positive definite, as tfp.bijectors.FillScaleTriL does
SCRATCH_GRAPH = "_scratch_graph"  # how tf_keras (2.18-2.21) ends the name of its shape-inference graphs


def inferring_output_shape() -> bool:
    """True while tf_keras calls a layer on placeholders only to learn its output's shape and dtype (building
    a Sequential or a functional model, in a throw-away graph named "<layer>_scratch_graph"). Nothing computed
    there is run or kept, so the layers skip what the shape does not need: the KL and its metric, and the draw
    a distribution layer hands on (`PlainConfigDistribution`). `zoo.get` of every model took a quarter of the
    time it took without (commit 1fdb168)."""
    return getattr(tf.compat.v1.get_default_graph(), "name", "").endswith(SCRATCH_GRAPH)


def create_metrics(layer: keras.layers.Layer, names: Sequence[str]) -> None:
    """Create the Mean metrics that `layer.add_metric(value, name=...)` updates, from the layer's `build`.
    Left to `add_metric`, they would be created inside the first trace of the train step (the shape
    inference that used to create them skips the metrics: `inferring_output_shape`), which a variable
    created there makes tf.function trace twice."""
    existing = {metric.name for metric in layer._metrics}
    layer._metrics.extend(keras.metrics.Mean(name=name) for name in names if name not in existing)


def _shape_only(convert: Callable[[tfd.Distribution], tf.Tensor]) -> Callable[[tfd.Distribution], tf.Tensor]:
    """`convert` (a distribution -> its tensor), but a placeholder of the tensor's static shape while
    `inferring_output_shape`: drawing from a posterior or a flow builds many ops the shape does not need."""

    def converted(distribution: tfd.Distribution) -> tf.Tensor:
        if inferring_output_shape() and isinstance(distribution.dtype, tf.DType):
            shape = distribution.batch_shape.concatenate(distribution.event_shape)
            if shape.rank is not None:
                return tf.compat.v1.placeholder(distribution.dtype, shape)
        return convert(distribution)

    return converted


class PlainConfigDistribution(tfpl.DistributionLambda):
    """A `DistributionLambda` whose config holds plain values only (subclasses add their own).

    convert_to_tensor_fn: "sample", "mean" or "mode" (a name from `CONVERT_TO_TENSOR`, not a callable as in
        `tfpl.DistributionLambda`, so that it saves as a string).

    DistributionLambda marks "inside __call__" in a flag on the layer; MirroredStrategy calls a layer from
    one thread per replica, so one replica could reset the flag while another is inside `call` (which then
    returns the wrong structure). The flag is kept per thread here.
    """

    def __init__(self, make_distribution_fn, convert_to_tensor_fn: str, **kwargs):
        self._per_thread = threading.local()
        checks.one_of("convert_to_tensor_fn", convert_to_tensor_fn, CONVERT_TO_TENSOR)
        super().__init__(
            make_distribution_fn,
            convert_to_tensor_fn=_shape_only(CONVERT_TO_TENSOR[convert_to_tensor_fn]),
            **kwargs,
        )
        self.convert_to_tensor_name = convert_to_tensor_fn

    @property
    def _enter_dunder_call(self) -> bool:
        return getattr(self._per_thread, "enter_dunder_call", False)

    @_enter_dunder_call.setter
    def _enter_dunder_call(self, value: bool) -> None:
        self._per_thread.enter_dunder_call = value

    def get_config(self) -> dict:
        # Skip DistributionLambda.get_config: it pickles the callables.
        return {**keras.layers.Layer.get_config(self), "convert_to_tensor_fn": self.convert_to_tensor_name}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        # Skip keras.layers.Lambda.from_config: it expects a pickled function.
        config = dict(config)
        if "convert_to_tensor" in config:  # the key's name in files saved by zoo 0.1
            config["convert_to_tensor_fn"] = config.pop("convert_to_tensor")
        return cls(**config)


@serializable
def negative_log_likelihood(x: tf.Tensor, rv_x: tfd.Distribution) -> tf.Tensor:
    """The training loss: -log p(x|z) per example, [N] nats. `rv_x` is the decoder's output distribution."""
    return -rv_x.log_prob(x)
