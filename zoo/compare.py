"""Train registered models on the same data and budget, and tabulate their held-out metrics side by side.

>>> import zoo
>>> from zoo.compare import compare, to_markdown
>>> x_train, _ = zoo.data.load("mnist-5k", split="train")   # grey levels [4500, 28, 28, 1]
>>> x_test, _ = zoo.data.load("mnist-5k", split="test")     # [500, 28, 28, 1]
>>> rows, models = compare(["dense_vae", "bernoulli_mixture"], x_train, x_test, epochs=10)
>>> print(to_markdown(rows))
| name | likelihood | neg_elbo | rate | distortion | nll_iwae | active_units | mutual_information | params | sec_per_epoch |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| dense_vae | bernoulli | 138.3 | 11.1 | 127.2 | 134.4 | 8 | 4.5 | 1,080,636 | 1.00 |
| bernoulli_mixture | bernoulli | 177.5 | — | — | 177.5 | — | — | 15,700 | 0.86 |

Every number comes from `zoo.evaluate` on the test images, in nats per example; a model gets the numbers it
defines and "—" (NaN, or None for `active_units`) for the others:

- a VAE gets all of them; `nll_iwae` is the k-sample importance weighted bound on -log p(x);
- the plain `autoencoder` (a deterministic code and no prior, so no ELBO and no likelihood) gets only
  `distortion` and `active_units`;
- a model with no latent code (`bernoulli_mixture`) gets its exact negative log-likelihood as both
  `neg_elbo` and `nll_iwae` (its bound is tight), and no rate, distortion or active units;
- a conditional model (`cvae`, `conv_cvae`) is given the labels, so its numbers are about -log p(x | y),
  which can be up to log(number of classes) nats below -log p(x).

Nats compare only between models scored on the same kind of data: Bernoulli pixel models score
probabilities of binary images; Gaussian and continuous-Bernoulli pixel models score densities of grey
levels (comparable with each other on the same grey images), which are not comparable with (and can go far
below) those probabilities.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zoo import checks, data, registry
from zoo._tf import keras
from zoo.evaluation import evaluate
from zoo.model import ZooModel

COLUMNS = (
    "name",
    "likelihood",
    "neg_elbo",
    "rate",
    "distortion",
    "nll_iwae",
    "active_units",
    "mutual_information",
    "params",
    "sec_per_epoch",
)
MISSING = "—"


class _EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of each training epoch."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _likelihood(model: ZooModel) -> str:
    """The pixel model: "bernoulli" for binary pixels (the mixture included), else its `likelihood` setting."""
    return "bernoulli" if model.has_bernoulli_likelihood else str(model.hparams.get("likelihood", "other"))


def _row(name: str, model: ZooModel, results: Mapping[str, float], k: int, seconds: list[float]) -> dict:
    """One table row from `zoo.evaluate`'s results: a key the model does not define becomes NaN/None."""
    exact = results.get("nll", math.nan)  # a model with no latent code: its exact NLL is its bound
    return {
        "name": name,
        "likelihood": _likelihood(model),
        "neg_elbo": float(results.get("neg_elbo", exact)),
        "rate": float(results.get("rate", math.nan)),
        "distortion": float(results.get("distortion", math.nan)),
        "nll_iwae": float(results.get(f"nll_iwae_{k}", exact)),
        "active_units": int(results["active_units"]) if "active_units" in results else None,
        "mutual_information": float(results.get("mutual_information", math.nan)),
        "params": int(sum(np.prod(weight.shape) for weight in model.trainable_weights)),
        "sec_per_epoch": float(statistics.median(seconds)),
    }


def _check_arguments(
    names: Sequence[str], hparams: Mapping[str, Mapping[str, Any]], labels_train: Any, labels_test: Any
) -> None:
    if isinstance(names, str):
        raise TypeError(f"names must be a list of model names, e.g. [{names!r}]; got the string {names!r}.")
    if not names:
        raise ValueError("names is empty; pass model names, e.g. zoo.list_models().")
    if len(set(names)) != len(names):
        raise ValueError(f"names lists a model twice: {list(names)}.")
    for name in names:
        registry.describe(name)  # raises KeyError with the closest known name
    unused = sorted(set(hparams) - set(names))
    if unused:
        raise ValueError(f"hparams has entries for {unused}, which are not in names {list(names)}.")
    if (labels_train is None) != (labels_test is None):
        raise ValueError("Pass both labels_train and labels_test, or neither.")


def compare(
    names: Sequence[str],
    x_train: np.ndarray,
    x_test: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    labels_train: np.ndarray | None = None,
    labels_test: np.ndarray | None = None,
    k: int = 100,
    seed: int = 0,
    hparams: Mapping[str, Mapping[str, Any]] | None = None,
    run_eagerly: bool = False,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, ZooModel]]:
    """Build each model with `zoo.get`, `fit` it on x_train for `epochs`, and `zoo.evaluate` it on x_test.

    Args:
        names: registered model names, e.g. `zoo.list_models()`; one row each, in this order.
        x_train: training images [N, H, W, C] float32 in [0, 1], grey levels (or already binary): models with
            Bernoulli pixels train on a fresh binarization of every image in every epoch, the others on the
            grey levels (`zoo.data.training_dataset`).
        x_test: held-out images [M, H, W, C] in [0, 1], scored by `zoo.evaluate` as
            `zoo.data.evaluation_images` gives them (one fixed binarization, seeded by `seed`, for
            Bernoulli pixels).
        epochs: training epochs for every model (the same budget for all).
        batch_size: training batch size for every model. Default value: 64.
        labels_train: integer class ids [N]; needed if a model is conditional (`cvae`, `conv_cvae`),
            ignored by the others. Default value: None.
        labels_test: integer class ids [M], likewise. Default value: None.
        k: importance samples per test example for `nll_iwae` (papers report k = 5000). Default value: 100.
        seed: seeds each model's initialization, training and evaluation (set again before each model, so a
            row does not depend on the models before it). Default value: 0.
        hparams: hyperparameter overrides per model name, e.g. `{"dense_vae": {"latent_dim": 2}}`.
            Default value: None (each model's defaults).
        run_eagerly: train without building a TensorFlow graph (Keras' `model.run_eagerly`): slower per
            step, but it skips the seconds of graph building per model, so it is faster for a smoke test
            of an epoch or two on a few batches. Default value: False.
        progress: print a line per epoch, a progress bar over the test images and a line per model when
            it is done; False prints nothing. Default value: True.

    Returns:
        rows: one dict per model with the keys of `COLUMNS`: "name" and "likelihood" (str; "bernoulli" or
            "gaussian" pixels), "neg_elbo", "rate", "distortion", "nll_iwae" (floats, nats per test
            example, NaN where the model does not define the number; see the module docstring),
            "active_units" (int, None without a latent code), "mutual_information" (float, nats: I_q(x; z),
            NaN without a prior; see `zoo.evaluate`), "params" (int, trainable parameters) and
            "sec_per_epoch" (float: the median wall-clock seconds of an epoch; the first one includes
            building the training graph).
        models: the trained models by name; `model.history` holds each one's Keras History.

    Raises:
        KeyError: an unknown model name. TypeError/ValueError: bad hyperparameters, data or arguments,
            e.g. a conditional model without labels; all raised before any model trains.
    """
    hparams = dict(hparams or {})
    _check_arguments(names, hparams, labels_train, labels_test)
    epochs = checks.integer("epochs", epochs)
    models: dict[str, ZooModel] = {}
    for name in names:  # build all first, so bad hyperparameters or missing labels fail before training
        keras.utils.set_random_seed(seed)
        models[name] = registry.get(name, **hparams.get(name, {}))
        models[name].run_eagerly = run_eagerly
        if models[name].is_conditional and labels_train is None:
            raise ValueError(
                f"{name} is conditional: pass labels_train and labels_test (integer class ids [N])."
            )
    rows = []
    for name, model in models.items():
        keras.utils.set_random_seed(seed)
        timer = _EpochTimer()
        train = data.training_dataset(model, x_train, labels_train, batch_size, seed=seed)
        model.fit(train, epochs=epochs, verbose=2 if progress else 0, callbacks=[timer])  # a line per epoch
        x_scored = data.evaluation_images(model, x_test, seed)
        labels = model.labels_or_none(labels_test)
        results = evaluate(model, x_scored, labels=labels, k=k, seed=seed, verbose=int(progress))
        rows.append(_row(name, model, results, k, timer.seconds))
        if progress:
            scores = ", ".join(f"{c} {_format(rows[-1], c)}" for c in ("neg_elbo", "nll_iwae", "distortion"))
            print(f"{name}: {epochs} epochs in {sum(timer.seconds):.1f} s; {scores}")
    return rows, models


def _format(row: Mapping[str, Any], column: str) -> str:
    """A cell: "—" for None/NaN, thousands separators for ints, 2 decimals for seconds, 1 for nats."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:.2f}" if column == "sec_per_epoch" else f"{value:.1f}"
    return str(value)


def to_markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = COLUMNS) -> str:
    """The rows as a Markdown table (one line per row), with "—" where a model has no such number.

    In a notebook, `IPython.display.Markdown(to_markdown(rows))` renders it.
    """
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(_format(row, column) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def to_csv(
    rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, columns: Sequence[str] = COLUMNS
) -> str:
    """Write the rows to a CSV file at `path` (full precision, empty cells where a number is missing, so
    `pandas.read_csv` reads them as NaN) and return the path."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            cells = [row.get(column) for column in columns]
            writer.writerow(
                ["" if _format(row, c) == MISSING else v for c, v in zip(columns, cells, strict=True)]
            )
    return os.fspath(path)
