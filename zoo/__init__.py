"""zoo: a model zoo of probabilistic autoencoders in Keras 2 and TensorFlow Probability.

>>> import zoo
>>> model = zoo.get("conv_vae", latent_dim=16)   # a compiled tf_keras model
>>> zoo.list_models()
['autoencoder', 'conv_vae', 'cvae', 'dense_vae']
"""

from zoo import data, inference, layers, plots
from zoo import models as _models  # noqa: F401  (importing it registers the models)
from zoo._tf import keras
from zoo.inference import decode, encode, reconstruct, sample
from zoo.io import load
from zoo.model import ZooModel
from zoo.registry import defaults, describe, get, list_models, register

__all__ = [
    "ZooModel",
    "data",
    "decode",
    "defaults",
    "describe",
    "encode",
    "get",
    "inference",
    "keras",
    "layers",
    "list_models",
    "load",
    "plots",
    "reconstruct",
    "register",
    "sample",
]
__version__ = "0.1.0"
