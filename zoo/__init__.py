"""zoo: a model zoo of probabilistic autoencoders in Keras 2 and TensorFlow Probability.

>>> import zoo
>>> model = zoo.get("conv_vae", latent_dim=16)   # a compiled tf_keras model
>>> zoo.list_models("*cvae")
['conv_cvae', 'cvae']
"""

import importlib
import types

from zoo import callbacks, classifier, compare, data, evaluation, inference, layers, training
from zoo import models as _models  # noqa: F401  (importing it registers the models)
from zoo._tf import keras
from zoo.evaluation import evaluate
from zoo.inference import attribute_vector, decode, encode, interpolate, reconstruct, sample
from zoo.io import load
from zoo.model import ZooModel
from zoo.registry import defaults, describe, get, list_models, register

__all__ = [
    "ZooModel",
    "attribute_vector",
    "callbacks",
    "classifier",
    "compare",
    "data",
    "decode",
    "defaults",
    "describe",
    "encode",
    "evaluate",
    "evaluation",
    "get",
    "interpolate",
    "inference",
    "keras",
    "layers",
    "list_models",
    "load",
    "plots",
    "reconstruct",
    "register",
    "sample",
    "training",
]
__version__ = "0.1.0"

_LAZY = ("plots",)  # matplotlib is imported by `zoo.plots` only, when first used


def __getattr__(name: str) -> types.ModuleType:
    if name in _LAZY:
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
