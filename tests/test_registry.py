"""The registry: names, hyperparameter overrides and the errors for each kind of mistake."""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np
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


def test_a_preset_changes_defaults_in_one_line_and_users_still_override_them():
    assert zoo.defaults("beta_vae")["beta"] == 4.0 and zoo.get("beta_vae", beta=2.0).hparams["beta"] == 2.0
    assert zoo.defaults("bernoulli_mixture")["learning_rate"] == 0.2  # a training hyperparameter's default
    assert zoo.defaults("dense_vae")["learning_rate"] == registry.TRAINING["learning_rate"]


def test_every_model_takes_the_training_hyperparameters_and_compiles_with_them():
    for name in zoo.list_models():
        assert set(registry.TRAINING) <= set(zoo.defaults(name)), name
    model = zoo.get("dense_vae", learning_rate=0.01, steps_per_execution=3)
    assert np.isclose(model.optimizer.learning_rate.numpy(), 0.01) and model._steps_per_execution.numpy() == 3


@pytest.mark.parametrize("builder", sorted({e.builder for e in registry._REGISTRY.values()}, key=str))
def test_no_builder_takes_a_hyperparameter_it_ignores(builder):
    """Every hyperparameter a builder takes is read in its body (a pinned, unused argument is not)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(builder)))
    body = tree.body[0].body
    read = {node.id for statement in body for node in ast.walk(statement) if isinstance(node, ast.Name)}
    assert set(registry._signature(builder)) <= read, set(registry._signature(builder)) - read


def test_get_takes_hyperparameters_by_keyword_only():
    with pytest.raises(TypeError, match="positional"):
        zoo.get("dense_vae", 8)


def test_a_builder_that_returns_no_zoo_model_is_named(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def plain(latent_dim=2):
        return zoo.keras.Sequential([zoo.keras.layers.Dense(latent_dim)])

    zoo.register(plain)
    with pytest.raises(TypeError, match="returned a .*Sequential; a zoo builder returns a zoo.ZooModel"):
        zoo.get("plain")
