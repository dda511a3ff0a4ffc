"""zoo.compare: one real small run over a conditional VAE, the plain autoencoder and the mixture of
Bernoullis (the three ways a row is filled), then the table helpers and the argument checks."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest import small_hparams

from zoo.compare import COLUMNS, compare, to_csv, to_markdown

NAMES = ["cvae", "autoencoder", "bernoulli_mixture"]
K = 3


@pytest.fixture(scope="module")
def table(digits):
    x, y = digits
    return compare(
        NAMES,
        x[:256],
        x[256:384],
        epochs=1,
        labels_train=y[:256],
        labels_test=y[256:384],
        k=K,
        hparams={name: small_hparams(name) for name in NAMES},
        run_eagerly=True,  # 4 steps each: no graph to build (test_cli.py runs `zoo compare` with graphs)
        progress=False,
    )


def test_one_row_per_model_with_every_column(table):
    rows, models = table
    assert [row["name"] for row in rows] == NAMES
    assert all(list(row) == list(COLUMNS) for row in rows)
    assert list(models) == NAMES
    assert all(len(model.history.history["loss"]) == 1 for model in models.values())


def test_a_vae_row_has_every_number(table):
    row = table[0][0]
    for column in ("neg_elbo", "rate", "distortion", "nll_iwae"):
        assert isinstance(row[column], float) and math.isfinite(row[column]), column
    assert row["neg_elbo"] == pytest.approx(row["rate"] + row["distortion"], rel=1e-9)
    assert row["rate"] >= 0 and row["distortion"] > 0
    assert isinstance(row["active_units"], int) and 0 <= row["active_units"] <= 2  # latent_dim = 2
    assert 0 < row["mutual_information"] <= math.log(100) + 1e-6  # at most log(evaluate's batch_size)
    assert isinstance(row["params"], int) and row["params"] > 0
    assert isinstance(row["sec_per_epoch"], float) and row["sec_per_epoch"] > 0
    assert row["likelihood"] == "bernoulli"


def test_the_autoencoder_has_only_a_distortion_and_a_code(table):
    row = table[0][1]
    assert all(math.isnan(row[column]) for column in ("neg_elbo", "rate", "nll_iwae"))
    assert math.isfinite(row["distortion"]) and isinstance(row["active_units"], int)
    assert math.isnan(row["mutual_information"])  # a deterministic code has no density q(z|x)


def test_the_mixture_reports_its_exact_nll_as_both_bounds(table):
    row = table[0][2]
    assert math.isfinite(row["neg_elbo"]) and row["nll_iwae"] == row["neg_elbo"]
    assert math.isnan(row["rate"]) and math.isnan(row["distortion"])
    assert row["active_units"] is None and math.isnan(row["mutual_information"])
    assert row["params"] == 20 * 28 * 28 + 20  # K prototypes and K mixture logits


def test_markdown_table(table):
    lines = to_markdown(table[0]).splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert len(lines) == 2 + len(NAMES)
    autoencoder = lines[3].split(" | ")
    assert autoencoder[0] == "| autoencoder" and autoencoder[2] == "—"
    assert to_markdown(table[0], columns=("name", "nll_iwae")).splitlines()[0] == "| name | nll_iwae |"


def test_markdown_formats_cells():
    row = {"name": "m", "neg_elbo": 101.234, "rate": math.nan, "active_units": None, "params": 1234567}
    row["sec_per_epoch"] = 0.123
    line = to_markdown([row], columns=list(row)).splitlines()[2]
    assert line == "| m | 101.2 | — | — | 1,234,567 | 0.12 |"


def test_csv_round_trip(table, tmp_path):
    rows = table[0]
    path = to_csv(rows, tmp_path / "compare.csv")
    with open(path, newline="") as f:
        read = list(csv.DictReader(f))
    assert [row["name"] for row in read] == NAMES and list(read[0]) == list(COLUMNS)
    assert float(read[0]["neg_elbo"]) == rows[0]["neg_elbo"]  # full precision
    assert read[1]["neg_elbo"] == "" and read[2]["active_units"] == ""  # missing: empty cells


def test_bad_arguments_fail_before_any_training(digits):
    x, y = digits
    small = x[:8]
    with pytest.raises(KeyError, match="dense_vae"):
        compare(["dense_vea"], small, small, epochs=1)
    with pytest.raises(TypeError, match="list of model names"):
        compare("dense_vae", small, small, epochs=1)
    with pytest.raises(ValueError, match="not in names"):
        compare(["dense_vae"], small, small, epochs=1, hparams={"cvae": {"latent_dim": 2}})
    with pytest.raises(ValueError, match="cvae is conditional"):
        compare(["cvae"], small, small, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        compare(["dense_vae"], small, small, epochs=0)
    with pytest.raises(ValueError, match="both"):
        compare(["cvae"], small, small, epochs=1, labels_train=np.asarray(y[:8]))
