"""Input corruption for the denoising criterion (Im et al. 2017), active in training only."""

from __future__ import annotations

import math

from zoo import checks
from zoo._tf import keras, tf
from zoo.layers.base import serializable

KINDS = ("salt_and_pepper", "mask", "gaussian")
"""The kinds of corruption (the `corruption` hyperparameter, besides "none")."""


@serializable
class Corruption(keras.layers.Layer):
    """Corrupts images during training only (the denoising criterion of Im et al. 2017); identity otherwise.

    kind: "salt_and_pepper" (each pixel set to 0 or 1 at random with probability `rate`), "mask" (each
    pixel set to 0 with probability `rate`) or "gaussian" (adds N(0, rate^2) noise, clipped to [0, 1]).
    Input and output: images [N, H, W, C]. `predict`, `evaluate` and `zoo.encode` see clean inputs.
    """

    def __init__(self, kind: str = "salt_and_pepper", rate: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        self.kind = checks.one_of("corruption", kind, KINDS)
        self.rate = checks.number("corruption_rate", rate, high=math.inf if kind == "gaussian" else 1.0, open_high=False)

    def call(self, x, training=None):
        if not training or self.rate == 0:
            return x
        if self.kind == "gaussian":
            return tf.clip_by_value(x + self.rate * tf.random.normal(tf.shape(x), dtype=x.dtype), 0.0, 1.0)
        hit = tf.random.uniform(tf.shape(x), dtype=x.dtype) < self.rate
        if self.kind == "mask":
            return tf.where(hit, tf.zeros_like(x), x)
        salt = tf.cast(tf.random.uniform(tf.shape(x), dtype=x.dtype) < 0.5, x.dtype)
        return tf.where(hit, salt, x)

    def get_config(self) -> dict:
        return {**super().get_config(), "kind": self.kind, "rate": self.rate}


