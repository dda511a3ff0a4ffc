"""The one place that imports TensorFlow, Keras 2 and TensorFlow Probability.

`tfp.layers` only works with Keras 2 (`tf_keras`); `tf.keras` is Keras 3 from TF 2.16 on and rejects TFP
layers. Every zoo module imports `keras`, `tf`, `tfd`, `tfpl` from here so Keras 2 and 3 never mix.
`keras3` is Keras 3 itself (None where it is not installed), imported only so that `zoo.keras3` can
recognise, convert or refuse the Keras 3 objects users hand the zoo; no zoo model is built from it.
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

try:
    import keras as keras3  # already imported by TensorFlow >= 2.16, where it is `tf.keras`
except ImportError:
    keras3 = None
if keras3 is not None and not getattr(keras3, "__version__", "").startswith("3."):
    keras3 = None  # Keras 2 installed as `keras`: not what zoo.keras3 is about

tfd = tfp.distributions
tfpl = tfp.layers

__all__ = ["keras", "keras3", "tf", "tfd", "tfp", "tfpl"]
