"""Loading saved zoo models safely (`safe_mode=True`: a model file never executes code)."""

from __future__ import annotations

import os
import zipfile

from zoo import keras3
from zoo._tf import keras, tf
from zoo.model import ZooModel

keras3.stand_ins_for_keras3_load()  # Keras 3's load_model on a zoo file now says: use zoo.load

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first bytes of every HDF5 file (Keras' legacy .h5 format)


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
        model = keras.models.load_model(path, compile=compile, safe_mode=True)
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
