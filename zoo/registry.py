"""The model registry: `@register` a builder, `get(name, **hparams)` a compiled model, `list_models()`.

A builder is a function whose keyword arguments, all with defaults, are the model's hyperparameters. The
signature is the single source of truth: `get` rejects unknown names with a suggestion, `describe` and the
command line read the defaults from it, and each value is checked by `zoo.hparams` before building.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from typing import Any

from zoo import hparams as hp
from zoo.model import ZooModel

Builder = Callable[..., ZooModel]
_REGISTRY: dict[str, Builder] = {}


def register(builder: Builder) -> Builder:
    """Decorator: register `builder` under its function name. Its parameters must all have defaults."""
    name = builder.__name__
    if name in _REGISTRY:
        raise ValueError(f"A model named {name!r} is already registered.")
    for param in inspect.signature(builder).parameters.values():
        if param.default is inspect.Parameter.empty:
            raise TypeError(f"Builder {name}: hyperparameter {param.name!r} needs a default value.")
        if param.name not in hp.CHECKS:
            raise TypeError(
                f"Builder {name}: hyperparameter {param.name!r} has no check in zoo.hparams.CHECKS."
            )
    _REGISTRY[name] = builder
    return builder


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching a shell wildcard, e.g. `list_models("*vae*")`."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def _builder(name: str) -> Builder:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"Unknown model {name!r}.{hint} Known models: {', '.join(list_models())}.")
    return _REGISTRY[name]


def defaults(name: str) -> dict[str, Any]:
    """The default hyperparameters of model `name`."""
    return {p.name: p.default for p in inspect.signature(_builder(name)).parameters.values()}


def describe(name: str) -> str:
    """The first line of the model's docstring: what it is and where it comes from."""
    doc = inspect.getdoc(_builder(name)) or ""
    return doc.splitlines()[0] if doc else ""


def get(name: str, **hparams: Any) -> ZooModel:
    """A new compiled model: `zoo.get("conv_vae", latent_dim=16)`. Overrides win over the defaults.

    Raises:
        KeyError: unknown model name (the message lists the known ones and suggests the closest).
        TypeError: unknown hyperparameter (the message suggests the closest known one).
        ValueError: invalid hyperparameter value (the message names it and the valid range).
    """
    builder = _builder(name)
    known = defaults(name)
    for key in hparams:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{name} has no hyperparameter {key!r}.{hint} Known: {', '.join(known)}.")
    values = hp.check({**known, **hparams})
    model = builder(**values)
    model.zoo_name = name
    model.hparams = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    return model
