"""The README.md that `zoo train` writes into its run folder, so a run explains itself: which model and
paper, with which hyperparameters and data, for how many epochs, the final and held-out losses, its figures
and the command that reproduces it. `zoo evaluate` on the folder appends its results.

A student can hand the folder in, or read it months later, without the notebook or shell that made it.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zoo import registry
from zoo.files import atomic_write, write_text

FILENAME = "README.md"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _number(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def command(settings: Mapping[str, Any], epochs: int) -> str:
    """The `python -m zoo train` command that makes (or resumes) this run: its settings, with `--set` for
    each hyperparameter that differs from the model's registered default."""
    name = settings["model"]
    defaults = _plain(registry.defaults(name))  # compared as JSON holds them: tuples become lists
    changed = {key: value for key, value in settings["hparams"].items() if defaults.get(key) != _plain(value)}
    parts = [
        "python -m zoo train",
        name,
        f"--data {shlex.quote(str(settings['data']))}",
        f"--epochs {epochs}",
    ]
    if settings.get("label_column") is not None:
        parts.append(f"--label-column {shlex.quote(str(settings['label_column']))}")
    parts += [f"--batch-size {settings['batch_size']}", f"--seed {settings['seed']}"]
    for key, value in changed.items():  # the literal `--set` parses back: 2, (64,32), 'gaussian' as gaussian
        parts.append(
            "--set "
            + shlex.quote(f"{key}={value if isinstance(value, str) else repr(value).replace(' ', '')}")
        )
    return " ".join(parts)


def render(
    settings: Mapping[str, Any], history: Mapping[str, Sequence[float]], figures: Sequence[str]
) -> str:
    """The README text. settings: the run's metadata (model, hparams, data, binarize, batch_size,
    validation_split, seed; for a table also label_column and standardize); history: Keras' per-epoch logs
    ("loss", "val_loss", ...); figures: PNG file names in the folder."""
    name, epochs = settings["model"], len(history.get("loss", []))
    binarize = settings.get("binarize")
    vectors = "standardize" in settings  # a table's run
    examples = "row" if vectors else "image"
    data = f"{settings['data']}" + (
        f" (a fresh binarization of every {examples} in every epoch)" if binarize else ""
    )
    if settings.get("standardize"):
        data += " (features standardized with the training rows' mean and std: standardizer.json)"
    lines = [f"# {name}: a zoo run", "", registry.describe(name), ""]
    lines += _table(
        ["setting", "value"],
        [
            ["data", data],
            [
                "held out",
                f"the last {settings['validation_split']:.0%}" + (", binarized once" if binarize else ""),
            ],
            ["epochs", epochs],
            ["batch size", settings["batch_size"]],
            ["seed", settings["seed"]],
        ],
    )
    lines += ["", "## Hyperparameters", ""]
    lines += _table(
        ["name", "value"], [[f"`{key}`", f"`{value!r}`"] for key, value in settings["hparams"].items()]
    )
    metrics = sorted(key for key in history if not key.startswith("val_"))
    lines += ["", f"## Losses after epoch {epochs} (nats per {examples})", ""]
    lines += _table(
        ["", "training", "held out"],
        [[key, _number(history[key][-1]), _number(history.get(f"val_{key}", ["-"])[-1])] for key in metrics],
    )
    if figures:
        lines += ["", "## Figures", ""] + [f"![{Path(png).stem}]({png})" for png in figures]
    lines += [
        "",
        "## Files and how to go on",
        "",
        "`model.keras`: the model with its optimizer state, `zoo.load(path)`; `history.json`: the losses of",
        "every epoch; `checkpoint.json` with `epoch-*.keras`: what a rerun resumes from. The same command",
        "resumes, a larger `--epochs` trains further:",
        "",
        "```bash",
        command(settings, epochs),
        "```",
        "",
    ]
    if settings.get("standardize"):
        lines += [
            "`standardizer.json`: the features' training mean and std. The model sees",
            "`zoo.data.Standardizer.load(path).transform(x)`; `inverse_transform` maps its outputs back.",
            "",
        ]
    return "\n".join(lines)


def write(
    directory: str | os.PathLike, settings: Mapping[str, Any], history: Mapping[str, Sequence[float]]
) -> None:
    """Write the run folder's README.md (atomically), embedding the PNG figures found there."""
    directory = Path(directory)
    figures = sorted(path.name for path in directory.glob("*.png"))
    text = render(settings, history, figures)
    atomic_write(directory / FILENAME, write_text(text))


def append_evaluation(
    directory: str | os.PathLike,
    data: str,
    images: int,
    k: int,
    results: Mapping[str, Any],
    examples: str = "images",
) -> None:
    """Append a `zoo evaluate` result (nats per example) on `images` held-out `examples` ("images", "rows")
    to the run folder's README.md, if it has one."""
    path = Path(directory) / FILENAME
    if not path.exists():
        return
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = ["", f"## zoo evaluate, {when}: {images} held-out {examples} of {data}, k = {k}", ""]
    lines += _table(["metric", "value"], [[key, _number(value)] for key, value in results.items()])
    text = path.read_text() + "\n".join(lines) + "\n"
    atomic_write(path, write_text(text))
