"""Loading saved zoo models safely (`safe_mode=True`: a model file never executes code)."""

from __future__ import annotations

import os
import zipfile

from zoo._tf import keras
from zoo.model import ZooModel


def load(path: str | os.PathLike, compile: bool = True) -> ZooModel:
    """Load a model saved with `model.save("name.keras")`; weights, optimizer state and hparams included.

    Equivalent to `tf_keras.models.load_model(path)` once `zoo` is imported (the zoo's layers are registered
    Keras serializables), with clear errors for a missing, truncated or foreign file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a valid .keras file (not a zip archive: truncated or corrupt?).")
    model = keras.models.load_model(path, compile=compile, safe_mode=True)
    if not isinstance(model, ZooModel):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a zoo model; use tf_keras.models.load_model."
        )
    return model
