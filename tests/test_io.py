"""Model files saved by an earlier zoo keep loading, safely, and compute what they computed then."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo._tf import tf

LEGACY = Path(__file__).parent / "data" / "legacy"
EXPECTED = np.load(LEGACY / "expected.npz")
NAMES = sorted(path.stem for path in LEGACY.glob("*.keras"))


def test_every_legacy_file_has_its_expected_numbers():
    assert len(NAMES) >= 7 and all(any(key.startswith(f"{name}/") for key in EXPECTED) for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_model_saved_by_an_earlier_version_loads_and_computes_the_same(name):
    model = zoo.load(LEGACY / f"{name}.keras")  # safe_mode=True: no code in the file runs
    assert model.zoo_name == name and model.optimizer.iterations.numpy() == 4  # 256 digits, batch 64
    data = EXPECTED["grey"] if name == "gaussian_vae" else EXPECTED["x"]
    if not model.has_latent_code:
        computed = {"log_prob": model(data).log_prob(data), "mean": model(data).mean()}
    else:
        labels = model.labels_or_none(EXPECTED["labels"])
        posterior = zoo.encode(model, data, labels)
        computed = {
            "posterior_mean": posterior.mean(),
            "posterior_stddev": posterior.stddev(),
            "decoded_mean": zoo.decode(model, EXPECTED["z"], labels).mean(),
            "prior_log_prob": zoo.inference.prior(model).log_prob(EXPECTED["z"]),
        }
    for key, value in computed.items():
        np.testing.assert_allclose(np.asarray(value), EXPECTED[f"{name}/{key}"], atol=1e-6, err_msg=key)


INPUT_LAYER = {
    "class_name": "InputLayer",
    "config": {"name": "image", "batch_input_shape": [None, 3], "optional": False},
}


def test_newer_input_layer_arguments_are_dropped_at_their_default():
    config = {"config": {"layers": [INPUT_LAYER, {"class_name": "Dense", "config": {"optional": False}}]}}
    dropped = zoo.io.drop_input_layer_arguments(config, {"optional": False})
    assert dropped["config"]["layers"][0]["config"] == {"name": "image", "batch_input_shape": [None, 3]}
    assert dropped["config"]["layers"][1] == config["config"]["layers"][1]  # other layers keep their keys
    assert "optional" in INPUT_LAYER["config"]  # the caller's config is not modified


def test_a_newer_input_layer_argument_at_another_value_is_refused():
    optional_input = {**INPUT_LAYER, "config": {**INPUT_LAYER["config"], "optional": True}}
    with pytest.raises(ValueError, match="optional=True.*Upgrade tf-keras"):
        zoo.io.drop_input_layer_arguments([optional_input], {"optional": False})


def test_a_file_from_a_newer_tf_keras_loads_where_input_layer_lacks_its_arguments(monkeypatch):
    """As on tf-keras 2.18-2.20, whose InputLayer refuses `optional` (scripts/compat.sh runs the real thing):
    zoo.load hands tf_keras a copy without it, and the model computes what it did."""
    path = LEGACY / "dense_vae.keras"
    with zipfile.ZipFile(path) as archive:
        assert '"optional": false' in archive.read("config.json").decode()  # written by tf-keras 2.21
    seen = []
    load_model = zoo.keras.models.load_model

    def recording_load_model(readable, **kwargs):
        with zipfile.ZipFile(readable) as archive:
            seen.append(json.loads(archive.read("config.json")))
        return load_model(readable, **kwargs)

    monkeypatch.setattr(zoo.io, "unknown_input_layer_arguments", lambda: {"optional": False})
    monkeypatch.setattr(zoo.keras.models, "load_model", recording_load_model)
    model = zoo.load(path)
    assert seen and '"optional"' not in json.dumps(seen[0])
    posterior = zoo.encode(model, EXPECTED["x"])
    np.testing.assert_allclose(posterior.mean(), EXPECTED["dense_vae/posterior_mean"], atol=1e-6)


def test_input_layer_arguments_are_dropped_below_tf_keras_2_21_only():
    version = tuple(int(part) for part in zoo.keras.__version__.split(".")[:2])
    assert zoo.io.unknown_input_layer_arguments() == ({} if version >= (2, 21) else {"optional": False})


def test_a_file_saved_before_a_hyperparameter_existed_records_the_value_it_was_built_with(tmp_path):
    """`conv_vae` files saved before `residual_blocks` existed hold a network without residual blocks; the
    loaded model says so, so rebuilding it from its hparams (zoo.training.distribute) gives that network."""
    model = zoo.get("conv_vae", **small_hparams("conv_vae"), residual_blocks=0)
    model.save(tmp_path / "today.keras")
    with (
        zipfile.ZipFile(tmp_path / "today.keras") as today,
        zipfile.ZipFile(tmp_path / "old.keras", "w") as old,
    ):
        for item in today.infolist():
            content = today.read(item)
            if item.filename == "config.json":
                config = json.loads(content)
                del config["config"]["hparams"]["residual_blocks"]  # as an older zoo wrote it
                content = json.dumps(config).encode()
            old.writestr(item, content)
    loaded = zoo.load(tmp_path / "old.keras")
    assert loaded.hparams["residual_blocks"] == 0
    rebuilt = zoo.training.distribute(loaded, tf.distribute.get_strategy())
    z = np.random.default_rng(0).normal(size=(3, loaded.hparams["latent_dim"])).astype(np.float32)
    np.testing.assert_allclose(zoo.decode(rebuilt, z).mean(), zoo.decode(loaded, z).mean(), atol=1e-6)
