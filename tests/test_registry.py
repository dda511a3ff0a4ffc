"""The registry: names, hyperparameter overrides and the errors for each kind of mistake."""

from __future__ import annotations

import pytest

import zoo
from zoo import registry


def test_list_models_is_sorted_and_filters_with_wildcards():
    names = zoo.list_models()
    assert names == sorted(names)
    assert zoo.list_models("*vae*") == [n for n in names if "vae" in n]
    assert zoo.list_models("nothing*") == []


def test_every_model_has_a_description_naming_its_source():
    for name in zoo.list_models():
        assert len(zoo.describe(name)) > 20, name


def test_unknown_model_lists_known_names_and_suggests_the_closest():
    with pytest.raises(KeyError, match=r"'conv_vea'.*Did you mean 'conv_vae'.*autoencoder"):
        zoo.get("conv_vea")


def test_unknown_hyperparameter_is_named_with_a_suggestion():
    with pytest.raises(TypeError, match=r"'latnt_dim'.*Did you mean 'latent_dim'"):
        zoo.get("dense_vae", latnt_dim=4)


@pytest.mark.parametrize(
    "hparams, named",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"latent_dim": 2.5}, "latent_dim"),
        ({"latent_dim": True}, "latent_dim"),
        ({"beta": -1}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"hidden_units": ()}, "hidden_units"),
        ({"hidden_units": (64, -1)}, r"hidden_units\[1\]"),
        ({"input_shape": (28, 28)}, "input_shape"),
        ({"input_shape": "28x28"}, "input_shape"),
    ],
)
def test_invalid_hyperparameter_values_are_named(hparams, named):
    with pytest.raises(ValueError, match=named):
        zoo.get("dense_vae", **hparams)


def test_conv_shape_must_divide_by_the_downsampling():
    with pytest.raises(ValueError, match="divisible by"):
        zoo.get("conv_vae", input_shape=(30, 30, 1))


def test_num_classes_needs_two_classes():
    with pytest.raises(ValueError, match="num_classes"):
        zoo.get("cvae", num_classes=1)


def test_overrides_win_over_defaults():
    model = zoo.get("dense_vae", latent_dim=5, hidden_units=[32])
    assert model.hparams["latent_dim"] == 5 and model.hparams["hidden_units"] == [32]
    assert model.hparams["beta"] == zoo.defaults("dense_vae")["beta"]
    assert model.decoder.input_shape == (None, 5)


def test_register_rejects_bad_builders(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def needs_default(latent_dim):
        pass

    def unchecked(latent_dim=2, colour="red"):
        pass

    with pytest.raises(TypeError, match="needs a default"):
        zoo.register(needs_default)
    with pytest.raises(TypeError, match="colour"):
        zoo.register(unchecked)
    with pytest.raises(ValueError, match="already registered"):
        zoo.register(registry._REGISTRY["dense_vae"].builder, name="dense_vae")
    with pytest.raises(TypeError, match="no hyperparameter 'latnt_dim'"):
        zoo.register(registry._REGISTRY["dense_vae"].builder, name="typo_vae", defaults={"latnt_dim": 2})


def test_a_variant_pins_its_fixed_hyperparameters():
    assert "network" not in zoo.defaults("conv_vae") and "hidden_units" not in zoo.defaults("conv_vae")
    with pytest.raises(TypeError, match="conv_vae fixes network='conv'"):
        zoo.get("conv_vae", network="dense")
    assert zoo.get("conv_vae").hparams["network"] == "conv"
    assert zoo.defaults("beta_vae")["beta"] == 4.0 and zoo.get("beta_vae", beta=2.0).hparams["beta"] == 2.0
