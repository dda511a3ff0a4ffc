"""The command line, driven through `main(argv)` and once through `python -m zoo`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo import cli


def test_list_prints_every_model_with_its_description(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in zoo.list_models():
        assert name in out and zoo.describe(name) in out
    assert "latent_dim=8" in out


def train_argv(name: str, out, epochs: int = 2) -> list[str]:
    argv = ["train", name, "--data", "mnist-5k", "--epochs", str(epochs), "--batch-size", "256"]
    return argv + [
        "--out",
        str(out),
        "--set",
        "hidden_units=(32,)",
        "--set",
        "latent_dim=2",
        "--verbose",
        "0",
    ]


@pytest.mark.parametrize("name", ["dense_vae", "cvae"])
def test_train_writes_model_history_and_plots(name, tmp_path, capsys):
    assert cli.main(train_argv(name, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "final loss=" in out and "val_loss=" in out
    (run_dir,) = tmp_path.iterdir()
    assert run_dir.name.startswith(f"{name}-")
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    for png in ("reconstructions.png", "samples.png"):
        assert (run_dir / png).read_bytes()[:4] == b"\x89PNG"
    assert zoo.load(run_dir / "model.keras").hparams["latent_dim"] == 2
    assert not list(run_dir.glob(".tmp-*"))


def test_run_folder_names_depend_on_the_settings_not_on_their_order():
    settings = {"model": "dense_vae", "hparams": {"latent_dim": 2, "beta": 1.0}, "seed": 0}
    assert cli.run_name(settings).startswith("dense_vae-")
    assert cli.run_name(dict(reversed(settings.items()))) == cli.run_name(settings)
    assert cli.run_name({**settings, "seed": 1}) != cli.run_name(settings)


def test_a_nan_loss_exits_1_and_keeps_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    assert cli.main(train_argv("gaussian_vae", tmp_path, epochs=1)) == 0
    (run_dir,) = tmp_path.iterdir()
    load = zoo.data.load

    def unscaled(*args, **kwargs):  # pixel values of 1e20: the squared error overflows float32
        x, labels = load(*args, **kwargs)
        return x * 1e20, labels

    monkeypatch.setattr(zoo.data, "load", unscaled)
    capsys.readouterr()
    assert cli.main(train_argv("gaussian_vae", tmp_path, epochs=3)) == 1
    err = capsys.readouterr().err
    assert "NaN/inf in epoch 2" in err and "checkpoint after epoch 1 is kept" in err and err.count("\n") == 1
    assert json.loads((run_dir / "checkpoint.json").read_text())["epoch"] == 1
    assert len(json.loads((run_dir / "history.json").read_text())["loss"]) == 1  # the good run's results


def test_an_unwritable_out_folder_fails_before_training(tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    argv = train_argv("dense_vae", tmp_path / "a_file" / "runs")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Cannot write to the folder" in err and "a_file/runs" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "conv_vea"], "Did you mean 'conv_vae'"),
        (["train", "dense_vae", "--set", "latnt_dim=3"], "Did you mean 'latent_dim'"),
        (["train", "dense_vae", "--set", "latent_dim"], "key=value"),
        (["train", "dense_vae", "--set", "latent_dim=0"], "positive integer"),
        (["train", "dense_vae", "--data", "/no/such/file.npz"], "Unknown dataset"),
        (["train", "dense_vae", "--epochs", "0"], "--epochs must be at least 1"),
        (["train", "dense_vae", "--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_2(argv, message, tmp_path, capsys):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written for a failed command


def test_python_dash_m_zoo_runs():
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "list"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "conv_vae" in result.stdout


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A run folder of a small cvae trained for one epoch by `zoo train`."""
    out = tmp_path_factory.mktemp("runs")
    argv = ["train", "cvae", "--data", "mnist-5k", "--epochs", "1", "--out", str(out), "--verbose", "0"]
    assert cli.main([*argv, "--set", "hidden_units=(32,)", "--set", "latent_dim=2"]) == 0
    (run_dir,) = out.iterdir()
    return run_dir


def test_evaluate_prints_the_table_for_a_run_folder_or_a_model_file(trained_run, capsys):
    for target in (trained_run, trained_run / "model.keras"):
        argv = ["evaluate", str(target), "--data", "mnist-5k", "--k", "5", "--limit", "50"]
        assert cli.main(argv) == 0
        out = capsys.readouterr().out
        assert "cvae on 50 held-out images" in out
        for key in ("neg_elbo", "rate", "distortion", "nll_iwae_5", "active_units"):
            assert key in out


def test_sample_writes_a_png_of_the_requested_label(trained_run, tmp_path, capsys):
    png = tmp_path / "sevens.png"
    assert cli.main(["sample", str(trained_run), "-n", "12", "--label", "7", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["sample", str(trained_run), "--label", "12", "--out", str(png)]) == 2
    assert "[0, 10)" in capsys.readouterr().err


def test_compare_prints_and_writes_one_table(tmp_path, capsys):
    argv = ["compare", "bernoulli_mixture", "autoencoder", "--data", "mnist-5k", "--epochs", "1"]
    assert cli.main([*argv, "--k", "3", "--limit", "64", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| bernoulli_mixture |" in out and "| autoencoder |" in out
    assert (tmp_path / "comparison.md").read_text().startswith("| name |")
    assert (tmp_path / "comparison.csv").read_text().startswith("name,")
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "/no/such/run"], "No model file"),
        (["sample", "/no/such/model.keras", "--out", "x.png"], "No model file"),
        (["compare", "dense_vea", "--epochs", "1"], "Did you mean 'dense_vae'"),
    ],
)
def test_use_commands_fail_with_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
