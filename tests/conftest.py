"""Shared fixtures: small real MNIST digits (mnist-5k, offline), small hyperparameters per model, one small
trained model per registered name, and the digits as an .npz file for the command line."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import zoo

sys.path.append(str(Path(__file__).resolve().parents[1] / "benchmarks"))
from benchlib import small_hparams  # noqa: E402, F401  (tests import it from here: one set of small sizes)

SECONDS = {"slow": 15, "other": 1}  # what a test marked slow, and any other, costs roughly


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The costliest files first (by SECONDS, a file's tests staying in their order). pytest-xdist gives a
    worker that frees up the next file (`--dist=loadfile --no-loadscope-reorder`), so the long files start
    first and the short ones fill the end, instead of one long file running alone on one worker at the end."""
    cost = Counter()
    for item in items:
        cost[item.path] += SECONDS["slow" if item.get_closest_marker("slow") else "other"]
    items.sort(key=lambda item: -cost[item.path])


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """512 binarized real MNIST training digits [512, 28, 28, 1] and their labels [512]."""
    x, y = zoo.data.load("mnist-5k", split="train", binarize=True)
    return x[:512], y[:512]


@pytest.fixture(autouse=True)
def _seed():
    zoo.keras.utils.set_random_seed(0)


class SharedModels:
    """One small model per registered name (`small_hparams`), fitted for EPOCHS epochs of BATCH on the 512
    `digits` the first time it is asked for, then kept for the session."""

    EPOCHS, BATCH = 3, 64

    def __init__(self, digits: tuple[np.ndarray, np.ndarray]):
        self.digits, self.models, self.histories = digits, {}, {}

    def unchanged(self) -> bool:
        """True if no shared model took an optimizer step after its own fit."""
        steps = self.EPOCHS * -(-len(self.digits[0]) // self.BATCH)
        return all(int(model.optimizer.iterations.numpy()) == steps for model in self.models.values())

    def __call__(self, name: str) -> zoo.ZooModel:
        if name not in self.models:
            zoo.keras.utils.set_random_seed(0)
            x, y = self.digits
            model = zoo.get(name, **small_hparams(name))
            history = model.fit(
                model.inputs_for(x, y), x, epochs=self.EPOCHS, batch_size=self.BATCH, verbose=0
            )
            self.models[name], self.histories[name] = model, history
            zoo.keras.utils.set_random_seed(0)
        return self.models[name]

    def history(self, name: str) -> zoo.keras.callbacks.History:
        """The History of that fit (`model.history` is replaced by every later evaluate or predict)."""
        self(name)
        return self.histories[name]


@pytest.fixture(scope="session")
def _shared_models(digits) -> SharedModels:
    return SharedModels(digits)


@pytest.fixture
def trained(_shared_models) -> Iterator[SharedModels]:
    """`trained(name)`: the session's small trained model `name`; `trained.history(name)`: its History.

    Shared by every test that asks for it: read it (call, encode, evaluate, save), never fit it or change
    its weights; a test that does needs a model of its own. Fitting it fails the test (its optimizer steps
    are checked at teardown). Building it reseeds to 0 after training, so call it before drawing anything
    random: the test then sees the same random state whether the model was cached or not."""
    yield _shared_models
    assert _shared_models.unchanged(), "a test fitted a shared model: give it a model of its own"


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory) -> Path:
    """256 grey-level mnist-5k training digits (and 64 test digits) with their labels, as an .npz file that
    `--data PATH` takes: every command-line run trains on little data."""
    x_train, y_train = zoo.data.load("mnist-5k", split="train")
    x_test, y_test = zoo.data.load("mnist-5k", split="test")
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x_train=x_train[:256], y_train=y_train[:256], x_test=x_test[:64], y_test=y_test[:64])
    return path
