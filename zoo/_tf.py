"""The one place that imports TensorFlow, Keras 2 and TensorFlow Probability.

`tfp.layers` only works with Keras 2 (`tf_keras`); `tf.keras` is Keras 3 from TF 2.16 on and rejects TFP
layers. Every zoo module imports `keras`, `tf`, `tfd`, `tfpl` from here so Keras 2 and 3 never mix.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide the C++ banner (oneDNN, missing CUDA)

with warnings.catch_warnings():
    # TFP 0.25 imports distutils through an old dependency; the warning is noise for users.
    warnings.simplefilter("ignore", DeprecationWarning)
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tf_keras as keras

tfd = tfp.distributions
tfpl = tfp.layers

__all__ = ["keras", "tf", "tfd", "tfp", "tfpl"]
