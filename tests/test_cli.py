"""The command line, driven through `main(argv)` and once through `python -m zoo`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import zoo
from zoo import cli


def test_list_prints_every_model_with_its_description(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in zoo.list_models():
        assert name in out and zoo.describe(name) in out
    assert "latent_dim=16" in out


@pytest.mark.parametrize("name", ["dense_vae", "cvae"])
def test_train_writes_model_history_and_plots(name, tmp_path, capsys):
    argv = [
        "train",
        name,
        "--data",
        "mnist-5k",
        "--epochs",
        "2",
        "--batch-size",
        "256",
        "--out",
        str(tmp_path),
    ]
    argv += ["--set", "hidden_units=(32,)", "--set", "latent_dim=2", "--verbose", "0"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "final loss=" in out and "val_loss=" in out
    (run_dir,) = tmp_path.iterdir()
    assert run_dir.name.startswith(f"{name}-")
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    for png in ("reconstructions.png", "samples.png"):
        assert (run_dir / png).read_bytes()[:4] == b"\x89PNG"
    assert zoo.load(run_dir / "model.keras").hparams["latent_dim"] == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "conv_vea"], "Did you mean 'conv_vae'"),
        (["train", "dense_vae", "--set", "latnt_dim=3"], "Did you mean 'latent_dim'"),
        (["train", "dense_vae", "--set", "latent_dim"], "key=value"),
        (["train", "dense_vae", "--set", "latent_dim=0"], "positive integer"),
        (["train", "dense_vae", "--data", "/no/such/file.npz"], "Unknown dataset"),
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
