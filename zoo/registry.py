"""The model registry: `@register` a builder, `get(name, **hparams)` a compiled model, `list_models()`.

A builder is a function whose keyword arguments, all with defaults, are the model's hyperparameters. The
signature is the single source of truth: `get` rejects unknown names with a suggestion, `defaults` and the
command line read the defaults from it, and each value is checked by `zoo.hparams` before building.

A family of models shares one builder: `register(builder, name="conv_vae", description=..., fixed={...},
defaults={...})` registers a variant that pins some hyperparameters (users cannot override those) and
changes the defaults of others, like timm's three-line model builders.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zoo import hparams as hp
from zoo._tf import tf
from zoo.model import ZooModel

Builder = Callable[..., ZooModel]


@dataclass(frozen=True)
class Entry:
    builder: Builder
    description: str
    fixed: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, Entry] = {}


def _check_builder(builder: Builder) -> dict[str, Any]:
    """The builder's hyperparameters and defaults; each must have a default and a check in zoo.hparams."""
    found = {}
    for param in inspect.signature(builder).parameters.values():
        if param.default is inspect.Parameter.empty:
            raise TypeError(
                f"Builder {builder.__name__}: hyperparameter {param.name!r} needs a default value."
            )
        if param.name not in hp.CHECKS:
            raise TypeError(
                f"Builder {builder.__name__}: hyperparameter {param.name!r} has no check in zoo.hparams.CHECKS."
            )
        found[param.name] = param.default
    return found


def register(
    builder: Builder,
    *,
    name: str | None = None,
    description: str | None = None,
    fixed: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> Builder:
    """Register `builder` under `name` (default: its function name). Usable as a bare decorator.

    description: one line naming the model and its paper (default: the builder's docstring's first line).
    fixed: hyperparameters this entry pins; `get` refuses to override them.
    defaults: hyperparameters whose defaults this entry changes.
    """
    name = name or builder.__name__
    if name in _REGISTRY:
        raise ValueError(f"A model named {name!r} is already registered.")
    known = _check_builder(builder)
    for key in {**(fixed or {}), **(defaults or {})}:
        if key not in known:
            raise TypeError(f"Model {name}: {builder.__name__} has no hyperparameter {key!r}.")
    doc = (inspect.getdoc(builder) or "").splitlines()
    _REGISTRY[name] = Entry(
        builder, description or (doc[0] if doc else ""), dict(fixed or {}), dict(defaults or {})
    )
    return builder


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching a shell wildcard, e.g. `list_models("*vae*")`."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def _entry(name: str) -> Entry:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"Unknown model {name!r}.{hint} Known models: {', '.join(list_models())}.")
    return _REGISTRY[name]


def defaults(name: str) -> dict[str, Any]:
    """The hyperparameters a user may set for model `name`, with their defaults."""
    entry = _entry(name)
    signature = {p.name: p.default for p in inspect.signature(entry.builder).parameters.values()}
    return {k: entry.defaults.get(k, v) for k, v in signature.items() if k not in entry.fixed}


def settings(name: str) -> dict[str, Any]:
    """Every hyperparameter model `name` is built with by default, the fixed ones included."""
    return {**defaults(name), **_entry(name).fixed}


def describe(name: str) -> str:
    """One line: what model `name` is and where it comes from."""
    return _entry(name).description


def get(name: str, strategy: tf.distribute.Strategy | None = None, **hparams: Any) -> ZooModel:
    """A new compiled model: `zoo.get("conv_vae", latent_dim=16)`. Overrides win over the defaults.

    strategy: a `tf.distribute.Strategy` (e.g. `tf.distribute.MirroredStrategy()`) to build and compile the
        model in, so its variables (the learned prior's included) and optimizer are mirrored and `fit` runs
        on every replica. Not a hyperparameter: it is not saved with the model. Default value: None (the
        current strategy, usually one device).

    Raises:
        KeyError: unknown model name (the message lists the known ones and suggests the closest).
        TypeError: unknown hyperparameter (the message suggests the closest known one), or a `strategy`
            that is not a `tf.distribute.Strategy`.
        ValueError: invalid hyperparameter value (the message names it and the valid range).
    """
    entry = _entry(name)
    known = defaults(name)
    for key in hparams:
        if key in entry.fixed:
            raise TypeError(f"{name} fixes {key}={entry.fixed[key]!r}; pick another model to change it.")
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{name} has no hyperparameter {key!r}.{hint} Known: {', '.join(known)}.")
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(
            f"strategy must be a tf.distribute.Strategy, e.g. tf.distribute.MirroredStrategy(); "
            f"got {type(strategy).__name__}."
        )
    values = hp.check({**settings(name), **hparams})
    try:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = entry.builder(**values)
    except tf.errors.OpError as error:
        # TensorFlow could not create the weights: out of memory, or more elements than a shape can hold
        shape = re.search(r"shape ?\[[0-9, ]*\]", error.message, flags=re.IGNORECASE)
        raise ValueError(
            f"{name} with {hparams} does not fit in memory (a weight of {shape.group(0) if shape else 'its size'}"
            "); choose smaller sizes (latent_dim, hidden_units, filters, input_shape)."
        ) from None
    model.zoo_name = name
    model.hparams = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    return model
