"""Command line: `python -m zoo list | train | evaluate | sample | compare` (also the `zoo` script).

Errors are one line on stderr, never a traceback: exit code 2 for bad input (model, --set, data, folder),
1 when training diverges (NaN/inf loss; the last good checkpoint is kept), 130 on Ctrl-C (rerun the same
command to resume).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import zoo
from zoo import checks, compare, plots, run_readme, training
from zoo.callbacks import checkpoint_epoch
from zoo.files import atomic_write, write_json

DEFAULT_DATA = "mnist"
VALIDATION_SPLIT = 0.1


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


def run_name(settings: dict[str, Any]) -> str:
    """The run folder's name for a `train` command: the model name and a digest of everything that defines
    the run except the number of epochs, e.g. "dense_vae-3f2a9c1e". The same command gives the same folder,
    so rerunning it resumes, and rerunning it with more --epochs trains further."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return f"{settings['model']}-{digest}"


def command_train(args: argparse.Namespace) -> None:
    hparams = dict(parse_assignment(item) for item in args.set)
    model = zoo.get(args.model, **hparams)  # fail on a bad model name or --set before loading data
    for option, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        checks.integer(option, value)
    x, labels = zoo.data.load(args.data, split="train")
    split_at = int(len(x) * (1 - VALIDATION_SPLIT))  # the last tenth is held out, as Keras' validation_split
    settings = {
        "model": args.model,
        "hparams": model.hparams,
        "data": args.data,
        "binarize": zoo.data.training_binarization(model),
        "batch_size": args.batch_size,
        "validation_split": VALIDATION_SPLIT,
        "seed": args.seed,
    }
    run_dir = Path(args.out) / run_name(settings)
    done = 0 if args.restart else checkpoint_epoch(run_dir)
    print(f"run folder {run_dir}{_progress(done, args.epochs)}", flush=True)
    # A resumed run draws other orders and binarizations than the epochs it has done.
    train = zoo.data.training_dataset(
        model, x[:split_at], labels[:split_at], args.batch_size, seed=args.seed + done
    )
    x_valid, y_valid = zoo.data.evaluation_images(model, x[split_at:], args.seed), labels[split_at:]
    callbacks = []
    if args.tensorboard:
        logs = run_dir / "logs"
        callbacks.append(zoo.callbacks.TensorBoard(logs, images=x_valid[:8], labels=y_valid[:8], seed=args.seed))
        print(f"TensorBoard logs in {logs}: tensorboard --logdir {logs}", flush=True)
    with warnings.catch_warnings():  # a NaN loss raises TrainingDiverged, printed as the one error line
        warnings.filterwarnings("ignore", message="The loss became NaN/inf", category=RuntimeWarning)
        run = training.train(
            run_dir,
            lambda: zoo.get(args.model, **hparams),
            train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=(model.inputs_for(x_valid, y_valid), x_valid),
            seed=args.seed,
            verbose=args.verbose,
            callbacks=callbacks,
            metadata=settings,
            restart=args.restart,
        )
    final = {key: values[-1] for key, values in run.history.items()}
    print("final " + ", ".join(f"{key}={value:.2f}" for key, value in final.items()))
    write_results(run, x_valid[-10:], model.labels_or_none(y_valid[-10:]), args.seed)
    run_readme.write(run_dir, settings, run.history)
    print(f"wrote {run_dir}")


def _progress(done: int, epochs: int) -> str:
    if not done:
        return ""
    return f", resuming after epoch {done}" if done < epochs else f", done ({done} epochs)"


def write_results(run: training.Run, x: np.ndarray, labels: np.ndarray | None, seed: int) -> None:
    """Write model.keras, history.json and the figures that apply to the model into the run folder, each
    atomically. x: [10, H, W, C] images to reconstruct (labels [10] for a conditional model)."""
    model = run.model
    atomic_write(run.directory / "model.keras", model.save)
    atomic_write(run.directory / "history.json", write_json(run.history))
    figures = {
        "reconstructions.png": lambda: plots.reconstructions(model, x, labels),
        "samples.png": lambda: plots.samples(model, seed=seed),
    }
    for filename, figure in figures.items():
        try:
            fig = figure()
        except ValueError as error:  # the figure does not apply, e.g. samples of a non-generative model
            print(f"no {filename}: {error}")
            continue
        atomic_write(run.directory / filename, lambda path, fig=fig: plots.save_png(fig, path))


def load_target(target: str) -> zoo.ZooModel:
    """A model file, or a run folder written by `zoo train` (its model.keras)."""
    path = Path(target)
    return zoo.load(path / "model.keras" if path.is_dir() else path)


def _test_data(
    model: zoo.ZooModel, name: str, limit: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-out images [N, H, W, C] as the model is scored on them (`zoo.data.evaluation_images`: one fixed
    binarization for Bernoulli models) and labels [N] if conditional."""
    x, labels = zoo.data.load(name, split="test")
    return zoo.data.evaluation_images(model, x[:limit], seed), model.labels_or_none(labels[:limit])


def command_evaluate(args: argparse.Namespace) -> None:
    model = load_target(args.target)
    x, labels = _test_data(model, args.data, args.limit, args.seed)
    results = zoo.evaluate(model, x, labels=labels, k=args.k, seed=args.seed)
    if Path(args.target).is_dir():
        run_readme.append_evaluation(args.target, args.data, len(x), args.k, results)
    print(f"{model.zoo_name} on {len(x)} held-out images of {args.data} (nats per example, k={args.k})")
    for key, value in results.items():
        print(f"  {key:14s} {value:10.2f}" if isinstance(value, float) else f"  {key:14s} {value:10d}")


def command_sample(args: argparse.Namespace) -> None:
    model = load_target(args.target)
    images = zoo.sample(model, args.n, labels=args.label, seed=args.seed)
    title = f"{model.zoo_name}: samples" + ("" if args.label is None else f" of label {args.label}")
    print(f"wrote {plots.save_png(plots.image_grid(images, title=title), args.out)}")


def command_compare(args: argparse.Namespace) -> None:
    for name in args.models:
        zoo.defaults(name)  # fail on an unknown name before loading data
    x_train, y_train = zoo.data.load(args.data, split="train")  # grey levels: compare binarizes per model
    x_test, y_test = zoo.data.load(args.data, split="test")
    rows, models = compare.compare(
        args.models,
        x_train,
        x_test[: args.limit],
        epochs=args.epochs,
        batch_size=args.batch_size,
        labels_train=y_train,
        labels_test=y_test[: args.limit],
        k=args.k,
        seed=args.seed,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = compare.to_markdown(rows)
    (out / "comparison.md").write_text(table + "\n")
    compare.to_csv(rows, out / "comparison.csv")
    plots.save_png(plots.comparison(rows), out / "comparison.png")
    print(table)
    print(f"wrote {out / 'comparison.md'}, comparison.csv and comparison.png")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A model zoo of probabilistic autoencoders.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="the registered models, with defaults").set_defaults(run=command_list)

    train = commands.add_parser(
        "train",
        help="train a model and write it, its history and plots; rerun the same command to resume",
        description="Train a model, checkpointing every epoch to OUT/MODEL-DIGEST, where DIGEST identifies the "
        "model, --set values, --data, --batch-size and --seed. Rerunning the same command resumes from the "
        "last complete epoch (weights, optimizer state, history); rerunning it with more --epochs trains "
        "further; --restart starts over. The folder ends with model.keras, history.json and the plots. Exit "
        "codes: 0 done, 2 bad input, 1 the loss became NaN/inf (the last good checkpoint is kept), 130 "
        "interrupted.",
    )
    train.add_argument("model", help="a registered model name (see `zoo list`)")
    train.add_argument("--data", default=DEFAULT_DATA, help="mnist, fashion_mnist, mnist-5k, or a path")
    train.add_argument("--epochs", type=int, default=5, help="total epochs, a resumed run's included")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a hyperparameter")
    train.add_argument("--out", default="runs", help="parent folder of the run folder MODEL-DIGEST")
    train.add_argument(
        "--restart", action="store_true", help="discard the run folder's checkpoint and start over"
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="log the losses, the KL, beta and images of each epoch to RUN_FOLDER/logs for TensorBoard",
    )
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras progress: 1 = bar")
    train.set_defaults(run=command_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a trained model on held-out data (nats)")
    evaluate.add_argument("target", help="a run folder written by `zoo train`, or a .keras model file")
    evaluate.add_argument("--data", default=DEFAULT_DATA, help="dataset whose test split to use")
    evaluate.add_argument("--k", type=int, default=100, help="importance samples for the IWAE bound")
    evaluate.add_argument("--limit", type=int, default=None, help="evaluate only the first N test images")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.set_defaults(run=command_evaluate)

    sample = commands.add_parser("sample", help="draw images from a trained model's prior into a PNG")
    sample.add_argument("target", help="a run folder written by `zoo train`, or a .keras model file")
    sample.add_argument("-n", type=int, default=40, help="number of images")
    sample.add_argument("--label", type=int, default=None, help="the class to draw (conditional models)")
    sample.add_argument("--out", required=True, help="the PNG file to write")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(run=command_sample)

    comparison = commands.add_parser("compare", help="train several models on the same data, tabulate them")
    comparison.add_argument("models", nargs="+", help="registered model names")
    comparison.add_argument("--data", default=DEFAULT_DATA)
    comparison.add_argument("--epochs", type=int, default=5)
    comparison.add_argument("--batch-size", type=int, default=64)
    comparison.add_argument("--k", type=int, default=100, help="importance samples for the IWAE bound")
    comparison.add_argument("--limit", type=int, default=None, help="evaluate on the first N test images")
    comparison.add_argument("--out", default="runs/compare", help="folder for comparison.md/.csv/.png")
    comparison.add_argument("--seed", type=int, default=0)
    comparison.set_defaults(run=command_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except training.TrainingDiverged as error:
        print(f"zoo {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130
    except (KeyError, TypeError, ValueError, OSError, RuntimeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"zoo {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0
