"""Command line: `python -m zoo list`, `python -m zoo train MODEL [options]`.

Errors are one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import zoo
from zoo import plots

DEFAULT_DATA = "mnist"


def parse_assignment(text: str) -> tuple[str, Any]:
    """ "latent_dim=8" -> ("latent_dim", 8); values are Python literals, else strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--set expects key=value (e.g. --set latent_dim=8); got {text!r}.")
    try:
        return key.strip(), ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        return key.strip(), raw.strip()


def command_list(args: argparse.Namespace) -> None:
    for name in zoo.list_models():
        print(f"{name:14s} {zoo.describe(name)}")
        print(f"{'':14s} defaults: {', '.join(f'{k}={v}' for k, v in zoo.defaults(name).items())}")


def command_train(args: argparse.Namespace) -> None:
    hparams = dict(parse_assignment(item) for item in args.set)
    model = zoo.get(args.model, **hparams)  # fail on a bad model name or --set before loading data
    zoo.keras.utils.set_random_seed(args.seed)
    model = zoo.get(args.model, **hparams)
    x, labels = zoo.data.load(args.data, split="train", binarize=model.has_bernoulli_likelihood)
    inputs = [x, labels] if model.is_conditional else x
    run_dir = Path(args.out) / f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)

    history = model.fit(
        inputs, x, epochs=args.epochs, batch_size=args.batch_size, validation_split=0.1, verbose=args.verbose
    )
    final = {key: values[-1] for key, values in history.history.items()}
    print("final " + ", ".join(f"{key}={value:.2f}" for key, value in final.items()))

    model.save(run_dir / "model.keras")
    (run_dir / "history.json").write_text(json.dumps(history.history, indent=2))
    plots.save_png(
        plots.reconstructions(model, x[-10:], None if not model.is_conditional else labels[-10:]),
        run_dir / "reconstructions.png",
    )
    if model.zoo_name != "autoencoder":
        plots.save_png(plots.samples(model, seed=args.seed), run_dir / "samples.png")
    print(f"wrote {run_dir}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A model zoo of probabilistic autoencoders.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="the registered models, with defaults").set_defaults(run=command_list)

    train = commands.add_parser("train", help="train a model and write it, its history and plots")
    train.add_argument("model", help="a registered model name (see `zoo list`)")
    train.add_argument("--data", default=DEFAULT_DATA, help="mnist, fashion_mnist, mnist-5k, or a path")
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a hyperparameter")
    train.add_argument("--out", default="runs", help="parent folder of the run folder")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras progress: 1 = bar")
    train.set_defaults(run=command_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (KeyError, TypeError, ValueError, FileNotFoundError, OSError, RuntimeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"zoo {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0
