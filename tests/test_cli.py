"""The command line, driven through `main(argv)` and once through `python -m zoo`."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import cli
from zoo.hparams import run_identity


@pytest.fixture(scope="module", autouse=True)
def python_dash_m_zoo_list() -> Iterator[subprocess.Popen]:
    """`python -m zoo list` in a new interpreter, started with this module's first test so that its seconds
    of importing TensorFlow pass beside the tests before `test_python_dash_m_zoo_runs`, which reads it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "zoo", "list"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    yield process
    if process.poll() is None:  # that test was not selected
        process.kill()
    process.communicate()


def test_list_prints_every_model_with_its_description(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in zoo.list_models():
        assert name in out and zoo.describe(name) in out
    assert "latent_dim=8" in out


def train_argv(name: str, out, data: Path, epochs: int = 2) -> list[str]:
    argv = ["train", name, "--data", str(data), "--epochs", str(epochs), "--batch-size", "64"]
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


@pytest.fixture(scope="module")
def cli_run(digits_npz, tmp_path_factory) -> Callable[[str], tuple[Path, str]]:
    """`cli_run(name)`: the run folder and the printed output of `zoo train name` for 2 epochs on the 256
    digits (`train_argv`), run once per module."""
    runs = {}

    def run(name: str) -> tuple[Path, str]:
        if name not in runs:
            out, printed = tmp_path_factory.mktemp("runs"), io.StringIO()
            with contextlib.redirect_stdout(printed):
                assert cli.main([*train_argv(name, out, digits_npz), "--tensorboard"]) == 0
            (run_dir,) = out.iterdir()
            runs[name] = run_dir, printed.getvalue()
        return runs[name]

    return run


@pytest.mark.parametrize("name", ["gaussian_vae", "cvae"])  # grey-level images; binary images and labels
def test_train_writes_model_history_and_plots(name, cli_run):
    run_dir, out = cli_run(name)
    assert "final loss=" in out and "val_loss=" in out
    assert run_dir.name.startswith(f"{name}-")
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    for png in ("reconstructions.png", "samples.png"):
        assert (run_dir / png).read_bytes()[:4] == b"\x89PNG"
    assert zoo.load(run_dir / "model.keras").hparams["latent_dim"] == 2
    assert not list(run_dir.glob(".tmp-*"))
    readme = (run_dir / "README.md").read_text()  # the run explains itself
    assert (
        readme.startswith(f"# {name}: a zoo run\n\n{zoo.describe(name)}")
        and "| `latent_dim` | `2` |" in readme
    )
    assert "![samples](samples.png)" in readme and "| loss | " in readme
    assert f"TensorBoard logs in {run_dir / 'logs'}" in out  # --tensorboard: numbers and images per epoch
    for part in ("train", "validation", "images"):
        assert list((run_dir / "logs" / part).glob("events.out.tfevents.*")), part


def test_the_command_in_a_run_readme_reruns_that_run(cli_run, capsys, monkeypatch):
    run_dir, _ = cli_run("gaussian_vae")
    command = re.search(r"```bash\n(.*)\n```", (run_dir / "README.md").read_text()).group(1)
    assert (
        "--set latent_dim=2" in command and "likelihood" not in command and "input_shape" not in command
    )  # defaults stay out
    built = []
    monkeypatch.setattr(
        zoo, "get", lambda *args, get=zoo.get, **kwargs: built.append(args) or get(*args, **kwargs)
    )
    assert cli.main([*shlex.split(command)[3:], "--out", str(run_dir.parent)]) == 0  # after `python -m zoo`
    assert f"run folder {run_dir}, done (2 epochs)" in capsys.readouterr().out
    # the check of --set before loading data, and training's seeded build: no third for data of the model's shape
    assert len(built) == 2


def test_run_folder_names_depend_on_the_settings_not_on_their_order():
    settings = {"model": "dense_vae", "hparams": {"latent_dim": 2, "beta": 1.0}, "seed": 0}
    assert cli.run_name(settings).startswith("dense_vae-")
    assert cli.run_name(dict(reversed(settings.items()))) == cli.run_name(settings)
    assert cli.run_name({**settings, "seed": 1}) != cli.run_name(settings)


def test_a_nan_loss_exits_1_and_keeps_the_last_good_checkpoint(
    cli_run, digits_npz, tmp_path, capsys, monkeypatch
):
    good_run, _ = cli_run("gaussian_vae")  # 2 epochs
    run_dir = shutil.copytree(good_run, tmp_path / good_run.name)  # the same command resumes it
    load = zoo.data.load

    def unscaled(*args, **kwargs):  # pixel values of 1e20: the squared error overflows float32
        x, labels = load(*args, **kwargs)
        return x * 1e20, labels

    monkeypatch.setattr(zoo.data, "load", unscaled)
    assert cli.main(train_argv("gaussian_vae", tmp_path, digits_npz, epochs=3)) == 1
    err = capsys.readouterr().err
    assert "NaN/inf in epoch 3" in err and "checkpoint after epoch 2 is kept" in err and err.count("\n") == 1
    assert json.loads((run_dir / "checkpoint.json").read_text())["epoch"] == 2
    assert len(json.loads((run_dir / "history.json").read_text())["loss"]) == 2  # the good run's results


def test_an_unwritable_out_folder_fails_before_training(digits_npz, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    argv = train_argv("dense_vae", tmp_path / "a_file" / "runs", digits_npz)
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
        (["train", "dense_vae", "--epochs", "0"], "--epochs must be a positive integer"),
        (["train", "dense_vae", "--batch-size", "0"], "--batch-size must be a positive integer"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_2(argv, message, tmp_path, capsys):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written for a failed command


def test_python_dash_m_zoo_runs(python_dash_m_zoo_list):
    stdout, _ = python_dash_m_zoo_list.communicate(timeout=120)
    assert python_dash_m_zoo_list.returncode == 0 and "conv_vae" in stdout


@pytest.fixture
def trained_run(cli_run) -> Path:
    """The run folder of the small cvae that `zoo train` wrote."""
    return cli_run("cvae")[0]


def test_evaluate_prints_the_table_for_a_run_folder_or_a_model_file(trained_run, digits_npz, capsys):
    for target in (trained_run, trained_run / "model.keras"):
        argv = ["evaluate", str(target), "--data", str(digits_npz), "--k", "5", "--limit", "50"]
        assert cli.main(argv) == 0
        out = capsys.readouterr().out
        assert "cvae on 50 held-out images" in out and "50/50" in out  # Keras' progress bar, at its end
        for key in ("neg_elbo", "rate", "distortion", "nll_iwae_5", "active_units"):
            assert key in out
    readme = (trained_run / "README.md").read_text()  # a run folder's README gets the results, once
    assert readme.count("held-out images of") == 1 and "| nll_iwae_5 |" in readme


def test_sample_writes_a_png_of_the_requested_label(trained_run, tmp_path, capsys):
    png = tmp_path / "sevens.png"
    assert cli.main(["sample", str(trained_run), "-n", "12", "--label", "7", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["sample", str(trained_run), "--label", "12", "--out", str(png)]) == 2
    assert "[0, 10)" in capsys.readouterr().err


def test_compare_prints_and_writes_one_table(digits_npz, tmp_path, capsys):
    argv = ["compare", "bernoulli_mixture", "autoencoder", "--data", str(digits_npz), "--epochs", "1"]
    assert cli.main([*argv, "--k", "3", "--limit", "64", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| bernoulli_mixture |" in out and "| autoencoder |" in out
    assert out.count("/epoch") == 2 and out.count("64/64") == 2  # progress: each model's epoch and test
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


# ---- tables: a .csv or an .npz of vectors ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory) -> Path:
    """scikit-learn's wine table as a .csv: a header, 13 numeric columns and a column of cultivar names."""
    from sklearn.datasets import load_wine

    wine = load_wine()
    names = np.array(["barolo", "grignolino", "barbera"])[wine.target]
    lines = [",".join([*wine.feature_names, "cultivar"])]
    lines += [",".join([*map(str, row), name]) for row, name in zip(wine.data, names, strict=True)]
    path = tmp_path_factory.mktemp("tables") / "wine.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_train_on_a_csv_table_standardizes_and_draws_what_vectors_have(wine_csv, tmp_path, capsys):
    argv = ["train", "dense_vae", "--data", str(wine_csv), "--label-column", "cultivar", "--epochs", "2"]
    argv += ["--out", str(tmp_path / "runs"), "--set", "hidden_units=(32,)", "--set", "latent_dim=2"]
    assert cli.main([*argv, "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "likelihood=gaussian: the table is not binary" in out and "standardized the 13 features" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    model = zoo.load(run_dir / "model.keras")
    assert tuple(model.hparams["input_shape"]) == (13,) and model.hparams["likelihood"] == "gaussian"
    x, _ = zoo.data.load(str(wine_csv), label_column="cultivar")
    scaler = zoo.data.Standardizer.load(run_dir / "standardizer.json")  # the training rows' (9 in 10)
    np.testing.assert_allclose(scaler.mean, x[: int(len(x) * 0.9)].mean(axis=0), rtol=1e-5)
    assert sorted(p.name for p in run_dir.glob("*.png")) == [
        "latent.png",
        "reconstructions.png",
        "training_curves.png",
    ]
    readme = (run_dir / "README.md").read_text()
    assert "nats per row" in readme and "standardizer.json" in readme and "image" not in readme
    assert f"--data {wine_csv} --epochs 2 --label-column cultivar" in readme  # the command

    argv = ["evaluate", str(run_dir), "--data", str(wine_csv), "--label-column", "cultivar", "--k", "3"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "standardized with the standardizer.json" in out and "dense_vae on 36 held-out rows" in out

    assert cli.main(["sample", str(run_dir), "-n", "50", "--out", str(tmp_path / "rows.csv")]) == 0
    drawn = np.loadtxt(tmp_path / "rows.csv", delimiter=",", skiprows=1)
    assert drawn.shape == (50, 13)  # in the table's units: magnesium near 100, proline near 750
    assert np.all(np.abs(drawn.mean(axis=0) - x.mean(axis=0)) < x.std(axis=0)), drawn.mean(axis=0)
    assert cli.main(["sample", str(run_dir), "--out", str(tmp_path / "rows.png")]) == 2
    assert "draws vectors, not images: write them to a table with --out FILE.csv" in capsys.readouterr().err


@pytest.mark.slow
def test_train_on_an_npz_of_binary_vectors_keeps_bernoulli_and_conv_models_refuse(tmp_path, capsys):
    x, _ = zoo.data.load("breast_cancer")
    binary = (zoo.data.Standardizer().fit(x).transform(x) > 0).astype(np.float32)  # 30 binary features
    path = tmp_path / "binary.npz"
    np.savez(path, x_train=binary[:256], x_test=binary[256:320])
    argv = ["train", "dense_vae", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "runs")]
    assert cli.main([*argv, "--set", "hidden_units=(32,)", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "likelihood=" not in out.split("final")[0] and "standardized" not in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    model = zoo.load(run_dir / "model.keras")
    assert tuple(model.hparams["input_shape"]) == (30,) and model.hparams["likelihood"] == "bernoulli"
    assert not (run_dir / "standardizer.json").exists() and (run_dir / "reconstructions.png").exists()
    assert cli.main(["train", "conv_vae", "--data", str(path), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "needs images (height, width, channels). For vectors [N, D] use a dense model" in err
    assert err.count("\n") == 1


def test_a_run_folder_named_before_auto_steps_per_execution_keeps_its_name():
    """The CLI names folders by the settings; "auto" counts as the 1 that runs recorded before it."""
    today, before = (zoo.get("dense_vae", **hparams).hparams for hparams in ({}, {"steps_per_execution": 1}))
    settings = {"model": "dense_vae", "seed": 0}
    named = [cli.run_name({**settings, "hparams": run_identity(h)}) for h in (today, before)]
    assert today["steps_per_execution"] == "auto" and named[0] == named[1]
