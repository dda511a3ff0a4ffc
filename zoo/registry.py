"""The model registry: `@register` a builder, `get(name, **hparams)` a compiled model, `list_models()`.

A builder is a function whose keyword arguments, all with defaults, are the hyperparameters of the network it
builds; it returns an uncompiled `ZooModel`. The signature is the single source of truth: `get` rejects
unknown names with a suggestion, `defaults` and the command line read the defaults from it, and each value
is checked by `zoo.hparams` before building. Every model also takes the training hyperparameters
`TRAINING` (learning rate, XLA, steps per execution), which `get` hands to `zoo.model.compile_model`.

A preset is one line that registers a builder again under another name with other defaults, like timm's
model variants: `register(dense_vae, name="beta_vae", description=..., defaults={"beta": 4.0})`.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zoo import hparams as hp
from zoo import keras3
from zoo._tf import tf
from zoo.model import ZooModel, compile_model

Builder = Callable[..., ZooModel]

TRAINING = {"learning_rate": 1e-3, "jit_compile": False, "steps_per_execution": "auto"}
"""The hyperparameters of `compile_model`, which every model takes, with their defaults."""


@dataclass(frozen=True)
class Entry:
    builder: Builder
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, Entry] = {}


def _signature(builder: Builder) -> dict[str, Any]:
    """The builder's hyperparameters and defaults; each must have a default and a check in zoo.hparams."""
    found = {}
    for param in inspect.signature(builder).parameters.values():
        if param.default is inspect.Parameter.empty:
            raise TypeError(
                f"Builder {builder.__name__}: hyperparameter {param.name!r} needs a default value."
            )
        if param.name not in hp.CHECKS or param.name in TRAINING:
            raise TypeError(
                f"Builder {builder.__name__}: hyperparameter {param.name!r} has no check in zoo.hparams.CHECKS "
                f"or is one of the training hyperparameters {tuple(TRAINING)} that zoo.get handles."
            )
        found[param.name] = param.default
    return found


def register(
    builder: Builder,
    *,
    name: str | None = None,
    description: str | None = None,
    defaults: dict[str, Any] | None = None,
) -> Builder:
    """Register `builder` under `name` (default: its function name). Usable as a bare decorator.

    description: one line naming the model and its paper (default: the builder's docstring's first line).
    defaults: hyperparameters whose defaults this entry changes (the training ones included, e.g.
        `{"learning_rate": 0.2}`).
    """
    name = name or builder.__name__
    if name in _registered():
        raise ValueError(f"A model named {name!r} is already registered.")
    known = {**_signature(builder), **TRAINING}
    for key in defaults or {}:
        if key not in known:
            raise TypeError(f"Model {name}: {builder.__name__} has no hyperparameter {key!r}.")
    doc = (inspect.getdoc(builder) or "").splitlines()
    _REGISTRY[name] = Entry(builder, description or (doc[0] if doc else ""), dict(defaults or {}))
    return builder


def _registered() -> dict[str, Entry]:
    """The registry with the zoo's own models in it: `zoo.models` registers them when first imported, here
    (so `import zoo` stays light); while it is being imported, this returns what it has registered so far."""
    importlib.import_module("zoo.models")
    return _REGISTRY


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching a shell wildcard, e.g. `list_models("*vae*")`."""
    return sorted(n for n in _registered() if fnmatch.fnmatch(n, pattern))


def _entry(name: str) -> Entry:
    registered = _registered()
    if name not in registered:
        close = difflib.get_close_matches(name, list(registered), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"Unknown model {name!r}.{hint} Known models: {', '.join(list_models())}.")
    return registered[name]


def defaults(name: str) -> dict[str, Any]:
    """Every hyperparameter of model `name` with its default: the builder's, then the training ones."""
    entry = _entry(name)
    return {**_signature(entry.builder), **TRAINING, **entry.defaults}


def describe(name: str) -> str:
    """One line: what model `name` is and where it comes from."""
    return _entry(name).description


def _build(name: str, builder: Builder, network: dict[str, Any]) -> ZooModel:
    """`builder(**network)`, checked: a ZooModel of tf_keras parts (Keras 3 ones get `zoo.keras3`'s TypeError)."""
    where = f"The builder of {name} "
    try:
        model = builder(**network)
    except TypeError as error:  # tf_keras' own error for a Keras 3 layer in a tf_keras Sequential, explained
        explained = keras3.explained(error, where.strip())
        if explained is None:
            raise
        raise explained from error
    keras3.check_built(model, f"{where}returned ")
    if not isinstance(model, ZooModel):
        raise TypeError(
            f"{where}returned a {type(model).__module__}.{type(model).__qualname__}; a zoo builder returns a "
            "zoo.ZooModel made with zoo.model.assemble (tf_keras layers only)."
        )
    return model


def get(name: str, *, strategy: tf.distribute.Strategy | None = None, **hparams: Any) -> ZooModel:
    """A new compiled model: `zoo.get("conv_vae", latent_dim=16)`. Overrides win over the defaults.

    strategy: a `tf.distribute.Strategy` (e.g. `tf.distribute.MirroredStrategy()`) to build and compile the
        model in, so its variables (the learned prior's included) and optimizer are mirrored and `fit` runs
        on every replica. Not a hyperparameter: it is not saved with the model. Default value: None (the
        current strategy, usually one device).

    Raises:
        KeyError: unknown model name (the message lists the known ones and suggests the closest).
        TypeError: unknown hyperparameter (the message suggests the closest known one), a `strategy` that
            is not a `tf.distribute.Strategy`, or a builder that does not return a `ZooModel`.
        ValueError: invalid hyperparameter value (the message names it and the valid range).
    """
    entry = _entry(name)
    known = defaults(name)
    for key in hparams:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{name} has no hyperparameter {key!r}.{hint} Known: {', '.join(known)}.")
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(
            f"strategy must be a tf.distribute.Strategy, e.g. tf.distribute.MirroredStrategy(); "
            f"got {type(strategy).__name__}."
        )
    values = hp.check({**known, **hparams})
    network = {key: value for key, value in values.items() if key not in TRAINING}
    try:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = _build(name, entry.builder, network)
            compile_model(model, **{key: values[key] for key in TRAINING})
    except tf.errors.OpError as error:
        # TensorFlow could not create the weights: out of memory, or more elements than a shape can hold
        shape = re.search(r"shape ?\[[0-9, ]*\]", error.message, flags=re.IGNORECASE)
        raise ValueError(
            f"{name} with {hparams} does not fit in memory (a weight of {shape.group(0) if shape else 'its size'}"
            "); choose smaller sizes (latent_dim, hidden_units, filters, input_shape)."
        ) from None
    model.zoo_name = name
    model.hparams = recorded(values)
    return model


def completed(name: str, hparams: dict[str, Any]) -> dict[str, Any]:
    """The `hparams` a file of model `name` recorded, with each hyperparameter added since (`zoo.hparams.ADDED`)
    that the model takes set to the value its network was built with; unchanged for unregistered names."""
    takes = defaults(name) if name in _registered() else {}
    return {**{key: value for key, value in hp.ADDED.items() if key in takes}, **hparams}


def recorded(hparams: dict[str, Any]) -> dict[str, Any]:
    """Checked hyperparameters as a model records them in `model.hparams` (and its saved config): sequences
    as lists, the form JSON gives back."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in hparams.items()}
