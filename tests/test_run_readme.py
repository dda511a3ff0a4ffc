"""The README.md of a run folder: what `zoo train` writes there and `zoo evaluate` appends (the command-line
runs themselves are in tests/test_cli.py)."""

from __future__ import annotations

import shlex

from zoo import cli, run_readme

SETTINGS = {
    "model": "gaussian_vae",
    "hparams": {
        "input_shape": [28, 28, 1],
        "latent_dim": 2,
        "hidden_units": [64, 32],
        "likelihood": "gaussian",
    },
    "data": "my digits.npz",
    "binarize": False,
    "batch_size": 32,
    "validation_split": 0.1,
    "seed": 3,
}
HISTORY = {"loss": [300.0, 250.5], "kl": [2.0, 3.25], "val_loss": [290.0, 260.0], "val_kl": [2.5, 3.0]}


def test_the_command_sets_what_differs_from_the_defaults_and_parses_back():
    argv = shlex.split(run_readme.command(SETTINGS, epochs=7))
    assert argv[:4] == ["python", "-m", "zoo", "train"]
    args = cli.build_parser().parse_args(argv[3:])
    assert (args.model, args.data, args.epochs, args.batch_size, args.seed) == (
        "gaussian_vae",
        "my digits.npz",
        7,
        32,
        3,
    )
    assert dict(map(cli.parse_assignment, args.set)) == {"latent_dim": 2, "hidden_units": [64, 32]}


def test_the_readme_holds_the_settings_losses_and_figures(tmp_path):
    (tmp_path / "samples.png").write_bytes(b"")
    run_readme.write(tmp_path, SETTINGS, HISTORY)
    text = (tmp_path / "README.md").read_text()
    assert "| epochs | 2 |" in text and "| `hidden_units` | `[64, 32]` |" in text
    assert "| loss | 250.50 | 260.00 |" in text and "| kl | 3.25 | 3.00 |" in text
    assert "![samples](samples.png)" in text and "reconstructions" not in text
    run_readme.append_evaluation(tmp_path, "mnist-5k", 500, 10, {"neg_elbo": 99.123, "active_units": 7})
    assert text in (tmp_path / "README.md").read_text()  # appended after, nothing rewritten
    assert "500 held-out images of mnist-5k, k = 10" in (tmp_path / "README.md").read_text()


def test_evaluating_a_folder_without_a_readme_writes_none(tmp_path):
    run_readme.append_evaluation(tmp_path, "mnist-5k", 5, 1, {"nll": 1.0})
    assert not (tmp_path / "README.md").exists()
