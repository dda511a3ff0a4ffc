"""The one place that imports TensorFlow, Keras 2 and TensorFlow Probability.

`tfp.layers` only works with Keras 2 (`tf_keras`); `tf.keras` is Keras 3 from TF 2.16 on and rejects TFP
layers. Every zoo module imports `keras`, `tf`, `tfd`, `tfpl` from here so Keras 2 and 3 never mix.
`imported_keras3()` is Keras 3 itself where it has been imported, so that `zoo.keras3` can recognise,
convert or refuse the Keras 3 objects users hand the zoo; no zoo model is built from it, and the zoo never
imports it (it imports matplotlib: TensorFlow >= 2.16 imports it anyway unless TF_USE_LEGACY_KERAS=1).
"""

import os
import sys
import types
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide the C++ banner (oneDNN, missing CUDA)

with warnings.catch_warnings():
    # TFP 0.25 imports distutils through an old dependency; the warning is noise for users.
    warnings.simplefilter("ignore", DeprecationWarning)
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tf_keras as keras


def imported_keras3() -> types.ModuleType | None:
    """Keras 3 if it has been imported (by TensorFlow >= 2.16, where it is `tf.keras`, or by the user), else
    None: an object can only be a Keras 3 object once Keras 3 is imported. A Keras 2 installed as `keras`
    is not what `zoo.keras3` is about: None too."""
    module = sys.modules.get("keras")
    return module if getattr(module, "__version__", "").startswith("3.") else None


tfd = tfp.distributions
tfpl = tfp.layers

__all__ = ["imported_keras3", "keras", "tf", "tfd", "tfp", "tfpl"]
