"""Smoke runs of the benchmark scripts in benchmarks/ (tiny data, seconds), so they cannot rot.

The benchmarks themselves are scripts, not tests: their numbers are in benchmarks/README.md. Here they run
on a few hundred mnist-5k digits and a tiny IDX folder written on the spot, never on /work/shared data.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo._tf import tf, tfd

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    """Imports a benchmark script by name (they live in benchmarks/, which is not a package)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture
def idx_folder(tmp_path: Path) -> Path:
    """A tiny MNIST-like IDX folder (64 train, 32 test real digits) with an MD5SUMS of its test files."""
    x, y = zoo.data.load("mnist-5k", split="test")
    images, labels = (x[..., 0] * 255).round().astype(np.uint8), y.astype(np.uint8)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, rows in (("train", slice(0, 64)), ("t10k", slice(64, 96))):
        _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images[rows])
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels[rows])
    sums = [
        f"{hashlib.md5((folder / name).read_bytes()).hexdigest()}  {name}"
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    ]
    (folder / "MD5SUMS").write_text("\n".join(sums) + "\n")
    return folder


def test_hand_written_twin_computes_the_zoo_loss(bench, digits):
    # The throughput baseline must be the same network and the same loss, or the ratio means nothing.
    x = digits[0][:16]
    model = zoo.get("dense_vae", latent_dim=4, hidden_units=(32,))
    hand = bench("handwritten").HandWritten(model, batch_size=16, learning_rate=1e-3)
    posterior = model.encoder(x)
    kl, z = hand.kl_and_sample(hand.encoder(x), tf.zeros([16, 4]))  # zero noise: z is the posterior mean
    prior = tfd.MultivariateNormalDiag(loc=tf.zeros(4))
    np.testing.assert_allclose(z, posterior.mean(), atol=1e-5)
    np.testing.assert_allclose(kl, tfd.kl_divergence(posterior, prior), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(hand.distortion(x, z), -model.decoder(z).log_prob(x), rtol=1e-5)


@pytest.mark.slow
def test_hand_written_twin_trains_under_xla(bench, digits):
    model = zoo.get("dense_vae", latent_dim=4, hidden_units=(32,))
    hand = bench("handwritten").HandWritten(model, batch_size=16, learning_rate=1e-3, jit_compile=True)
    before = [v.numpy().copy() for v in hand.variables]
    assert np.isfinite(float(hand.step(digits[0][:16])))
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before, hand.variables, strict=True))


def test_xla_break_even_counts_epochs_until_compilation_is_repaid(bench):
    throughput = bench("throughput")
    first = {"zoo": 3.0, "zoo_xla": 10.0}  # XLA compiles 7.5 s more than the plain model traces
    assert throughput.xla_break_even(first, {"zoo": [1.0, 1.0], "zoo_xla": [0.5, 0.5]}) == 15.0
    assert throughput.xla_break_even(first, {"zoo": [1.0], "zoo_xla": [1.2]}) is None


def test_the_report_of_the_recorded_run_is_the_recorded_report(bench):
    # report.py describes the tables as data; the committed results must still read the same.
    results = BENCHMARKS / "results"
    recorded = json.loads((results / "throughput.json").read_text())
    assert bench("report").report(recorded) + "\n" == (results / "throughput.md").read_text()


@pytest.mark.slow  # every part traces a few training functions: ~30 s alone, ~60 s on a loaded machine
def test_throughput_smoke(bench, tmp_path):
    throughput = bench("throughput")
    argv = [
        "--smoke",
        "--models",
        "dense_vae",
        "--variants",
        "--xla-models",
        "bernoulli_mixture",  # the fastest to compile; tests/test_models.py trains VAEs under XLA
        "--out",
        str(tmp_path),
    ]
    results = throughput.main(argv)
    ratio = results["ratio"][0]
    assert ratio["zoo_over_hand"] > 0 and ratio["hand_images_per_s"] > 0
    assert results["flops"]["rows"][0]["train_mflop_per_example"] > 1
    assert [row["examples"] for row in results["scaling"][0]["rows"]] == [128, 256]
    assert len(results["memory"][0]["rss_per_epoch_one_fit_mb"]) == 2
    calls = results["calls"][0]
    assert [row["call"] for row in calls["feeding"]] == ["fit_tail", "evaluate", "predict"]
    assert [row["steps_per_execution"] for row in calls["tracing"]] == [1, "auto", 8]
    assert all(row["fit_first"] > 0 and row["predict_second"] > 0 for row in calls["tracing"])
    assert results["xla"][0]["model"] == "bernoulli_mixture" and results["xla"][0]["predict"] == "ok"
    assert json.loads((tmp_path / "throughput.json").read_text())["machine"]["cores"] >= 1
    assert "hand-written" in (tmp_path / "throughput.md").read_text()


@pytest.mark.slow
def test_quality_smoke(bench, idx_folder, tmp_path):
    quality = bench("quality")
    argv = ["--smoke", "--data", str(idx_folder), "--test-dir", str(idx_folder), "--out", str(tmp_path)]
    results = quality.main([*argv, "--models", "dense_vae", "cvae", "autoencoder"])
    rows = {(row["model"], row["budget"]): row for row in results["rows"]}
    assert set(rows) == {(m, b) for m in ("dense_vae", "cvae") for b in ("epochs", "seconds")}
    assert "autoencoder" in results["skipped"]
    for row in rows.values():
        assert np.isfinite(row["neg_elbo"]) and np.isfinite(row["nll_iwae"]) and row["iwae_k"] == 4
        assert row["nll_iwae"] <= row["neg_elbo_iwae_subset"] + 1.0  # the IWAE bound is the tighter one
    assert rows[("dense_vae", "epochs")]["epochs_run"] == 1
    assert 0.0 <= rows[("cvae", "epochs")]["label_accuracy"] <= 1.0  # conditional models only
    assert "label_accuracy" not in rows[("dense_vae", "epochs")]
    assert "IWAE NLL" in (tmp_path / "quality.md").read_text()
    assert "label accuracy" in (tmp_path / "quality.md").read_text()


def test_quality_refuses_a_damaged_test_set(bench, idx_folder):
    quality = bench("quality")
    with gzip.open(idx_folder / "t10k-labels-idx1-ubyte.gz", "ab") as f:
        f.write(b"\x00")
    with pytest.raises(ValueError, match="MD5"):
        quality.load_test_set(idx_folder)


@pytest.mark.slow
def test_conditional_smoke(bench, tmp_path):
    conditional = bench("conditional")
    assert conditional.parse_config("cvae:latent_dim=4,hidden_units=(64,32)") == (
        "cvae",
        {"latent_dim": 4, "hidden_units": (64, 32)},
    )
    results = conditional.main(["--smoke", "--out", str(tmp_path)])
    (row,) = results["rows"]
    assert 0.0 <= row["accuracy"] <= 1.0 and np.isfinite(row["nll_iwae"])
    assert np.asarray(row["confusion"]).shape == (10, 10)
    assert "label accuracy" in (tmp_path / "conditional.md").read_text()


def test_tune_smoke(bench, tmp_path):
    tune = bench("tune")
    assert tune.parse_config("lr=3e-3,hidden_units=(256,128)") == {"lr": 3e-3, "hidden_units": (256, 128)}
    results = tune.main(["--smoke", "--out", str(tmp_path)])
    assert results["rows"][0]["config"] == "base" and np.isfinite(results["rows"][0]["neg_elbo"])


@pytest.mark.slow
def test_recipe_smoke(bench, idx_folder, tmp_path):
    recipe = bench("recipe")
    argv = [
        "--smoke",
        "--final",
        "--data",
        str(idx_folder),
        "--test-dir",
        str(idx_folder),
        "--out",
        str(tmp_path),
    ]
    results = recipe.main(
        [
            *argv,
            "--config", "net=hand,residual_blocks=0,lr=1e-3",  # the baseline
            "--config", "net=deep,act=elu,lr=3e-3,schedule=cosine,warmup=1",
        ]
    )  # fmt: skip
    hand, deep = results["rows"]
    for row in (hand, deep):
        assert np.isfinite(row["neg_elbo"]) and np.isfinite(row["nll_iwae"]) and row["iwae_k"] == 4
        assert row["seconds_per_epoch"] > 0
    assert hand["params"] == zoo.get("conv_vae", residual_blocks=0).count_params() < deep["params"]
    assert (
        results["settings"]["eval_examples"] == 16
        and "official MNIST test set" in (tmp_path / "recipe.md").read_text()
    )


def test_recipe_schedules_and_settings(bench):
    recipe = bench("recipe")
    settings = {**recipe.DEFAULTS, "lr": 4e-3, "schedule": "cosine", "warmup": 1.0}
    rate = recipe.learning_rate(settings, steps_per_epoch=10, epochs=5)
    assert float(rate(0)) == 0 and float(rate(10)) == pytest.approx(4e-3) and float(rate(50)) < 1e-5
    with pytest.raises(ValueError, match="unknown settings"):
        recipe.run("learning_rate=3e-3", None, None, None, 0)


def test_dequantization_keeps_each_grey_level_in_its_bin(bench):
    x, _ = zoo.data.load("mnist-5k", split="test")
    continuous = bench("likelihoods").dequantize(x[:8], seed=0)
    levels = np.round(x[:8] * 255)
    offsets = continuous.astype(np.float64) * 256 - levels  # u ~ U(0, 1) within each 8-bit level's bin
    assert offsets.min() > -1e-4 and offsets.max() < 1 and 0.4 < offsets.mean() < 0.6
    assert continuous.min() >= 0 and continuous.max() < 1


@pytest.mark.slow
def test_likelihoods_smoke(bench, tmp_path):
    # One likelihood (the Gaussian path is the same code) keeps the smoke run to seconds.
    argv = ["--smoke", "--likelihoods", "continuous_bernoulli", "--dequantize", "--out", str(tmp_path)]
    results = bench("likelihoods").main(argv)
    (row,) = results["rows"]
    assert row["likelihood"] == "continuous_bernoulli" and np.isfinite(row["nll_iwae"])
    assert np.isfinite(row["bits_per_pixel"]) and row["samples_outside_unit_interval"] == 0.0
    assert row["nll_iwae"] <= row["neg_elbo"] + 1.0 and row["seconds_per_epoch"] > 0
    assert (tmp_path / "likelihoods-continuous_bernoulli.png").stat().st_size > 0
    assert json.loads((tmp_path / "likelihoods.json").read_text())["settings"]["dequantize"] is True
    assert "discrete bits/pixel" in (tmp_path / "likelihoods.md").read_text()
