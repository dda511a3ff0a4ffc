"""Conditioning on class labels."""

from __future__ import annotations

from zoo._tf import keras, tf
from zoo.layers.base import serializable


@serializable
class OneHot(keras.layers.Layer):
    """Integer class labels [N] or [N, 1] -> one-hot float32 [N, num_classes]."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def call(self, labels):
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        return tf.one_hot(labels, self.num_classes, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes}


