"""zoo: a model zoo of probabilistic autoencoders in Keras 2 and TensorFlow Probability.

>>> import zoo
>>> model = zoo.get("conv_vae", latent_dim=16)   # a compiled tf_keras model
>>> zoo.list_models("*cvae")
['conv_cvae', 'cvae']

`import zoo` itself loads nothing heavy: each name below loads its module (TensorFlow, TFP and tf_keras
with the first; matplotlib with `zoo.plots`) when first used, so a script or the command line pays only
for what it touches.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = (
    "callbacks",
    "classifier",
    "compare",
    "data",
    "evaluation",
    "inference",
    "layers",
    "plots",
    "training",
)
_NAMES = {
    "keras": "zoo._tf",
    "ZooModel": "zoo.model",
    "evaluate": "zoo.evaluation",
    "load": "zoo.io",
    **dict.fromkeys(
        ("attribute_vector", "decode", "encode", "interpolate", "reconstruct", "sample"), "zoo.inference"
    ),
    **dict.fromkeys(("defaults", "describe", "get", "list_models", "register"), "zoo.registry"),
}
__all__ = sorted([*_MODULES, *_NAMES])
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"zoo.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value  # found here from now on
        return value
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
