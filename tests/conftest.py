"""Shared fixtures: small real MNIST digits (mnist-5k, offline) and small hyperparameters per model."""

from __future__ import annotations

import numpy as np
import pytest

import zoo

SMALL = {"latent_dim": 2, "hidden_units": (64,), "filters": (8, 16)}


def small_hparams(name: str) -> dict:
    """Hyperparameters that make model `name` small enough to fit in a few seconds."""
    return {key: value for key, value in SMALL.items() if key in zoo.defaults(name)}


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """512 binarized real MNIST training digits [512, 28, 28, 1] and their labels [512]."""
    x, y = zoo.data.load("mnist-5k", split="train", binarize=True)
    return x[:512], y[:512]


@pytest.fixture(autouse=True)
def _seed():
    zoo.keras.utils.set_random_seed(0)


def model_inputs(model: zoo.ZooModel, x: np.ndarray, y: np.ndarray):
    """What `fit` takes as x for this model: images, or [images, labels] for conditional models."""
    return [x, y] if model.is_conditional else x
