"""Loading saved zoo models safely (`safe_mode=True`: a model file never executes code)."""

from __future__ import annotations

import inspect
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

from zoo._tf import keras, tf
from zoo.model import ZooModel

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first bytes of every HDF5 file (Keras' legacy .h5 format)

NEWER_INPUT_LAYER_ARGUMENTS = {"optional": False}
"""Arguments that newer tf-keras writes into every InputLayer's config (2.21: `optional`), with their default
values; the InputLayer of older tf-keras (2.18-2.20) refuses them. Dropped at load where it lacks them."""


def load(path: str | os.PathLike, compile: bool = True) -> ZooModel:
    """Load a model saved with `model.save("name.keras")`; weights, optimizer state and hparams included.

    Equivalent to `tf_keras.models.load_model(path)` once `zoo` is imported (the zoo's layers are registered
    Keras serializables), with clear errors for a missing, truncated or foreign file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    if os.path.isdir(path):
        raise ValueError(
            f"{path!r} is a folder; zoo.load takes a .keras file, e.g. {os.path.join(path, 'model.keras')!r}."
        )
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a valid .keras file (not a zip archive: truncated or corrupt?).")
    with open(path, "rb") as file:
        is_hdf5 = file.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    if not (zipfile.is_zipfile(path) or is_hdf5):
        raise ValueError(
            f"{path!r} is not a model file (neither a .keras archive nor HDF5); zoo.load takes a file saved "
            "with model.save('name.keras'), e.g. a run folder's model.keras."
        )
    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ValueError(
                    f"{path!r} is a zip archive but not a Keras model (no config.json); save models with "
                    "model.save('name.keras')."
                )
    if tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1:
        raise ValueError(
            f"Load {path!r} outside strategy.scope(), then move it onto the replicas with "
            "zoo.training.distribute(model, strategy): tf_keras cannot restore the kl metric's variables "
            "inside a multi-replica scope."
        )
    try:
        with _readable_here(path) as readable:
            model = keras.models.load_model(readable, compile=compile, safe_mode=True)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{path!r} could not be loaded: {error} It may have been saved by a newer zoo (with layers this "
            "version does not have) or by other code: upgrade zoo, or load it where it was saved."
        ) from error
    if not isinstance(model, ZooModel):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a zoo model; use tf_keras.models.load_model."
        )
    return model


def unknown_input_layer_arguments() -> dict[str, object]:
    """The `NEWER_INPUT_LAYER_ARGUMENTS` the installed tf-keras's InputLayer does not take (none on 2.21)."""
    taken = inspect.signature(keras.layers.InputLayer.__init__).parameters
    return {name: value for name, value in NEWER_INPUT_LAYER_ARGUMENTS.items() if name not in taken}


def drop_input_layer_arguments(config: object, unknown: dict[str, object]) -> object:
    """`config` (a model's config.json, parsed) with the `unknown` arguments removed from every InputLayer,
    where they hold their default value. A non-default value cannot be honoured here: ValueError."""
    if isinstance(config, list):
        return [drop_input_layer_arguments(item, unknown) for item in config]
    if not isinstance(config, dict):
        return config
    config = {key: drop_input_layer_arguments(value, unknown) for key, value in config.items()}
    if config.get("class_name") == "InputLayer" and isinstance(config.get("config"), dict):
        layer = dict(config["config"])
        for name, default in unknown.items():
            if layer.get(name, default) != default:
                raise ValueError(
                    f"its InputLayer {layer.get('name')!r} sets {name}={layer[name]!r}, which this tf-keras "
                    f"({keras.__version__}) cannot represent. Upgrade tf-keras."
                )
            layer.pop(name, None)
        config["config"] = layer
    return config


@contextmanager
def _readable_here(path: str) -> Iterator[str]:
    """`path`, or a temporary copy of its .keras archive whose config.json the installed tf-keras can read
    (files saved under tf-keras 2.21 load under 2.18-2.20: `drop_input_layer_arguments`)."""
    unknown = unknown_input_layer_arguments()
    if not unknown or not zipfile.is_zipfile(path):
        yield path
        return
    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, os.path.basename(path))
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as target:
            for item in source.infolist():
                content = source.read(item)
                if item.filename == "config.json":
                    config = drop_input_layer_arguments(json.loads(content), unknown)
                    content = json.dumps(config).encode()
                target.writestr(item, content)
        yield copy
