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
from zoo.hparams import check, run_identity
from zoo.registry import recorded

DEFAULT_DATA = "mnist"
VALIDATION_SPLIT = 0.1
STANDARDIZER = "standardizer.json"


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


def _fit_to_data(name: str, hparams: dict[str, Any], x: np.ndarray) -> dict[str, Any]:
    """The hyperparameters for data x: input_shape from the data unless --set gives one, and for a table of
    real values a Gaussian likelihood where the model would take Bernoulli ones (`--set likelihood=...`
    chooses another)."""
    defaults = zoo.defaults(name)
    if "input_shape" in defaults:
        hparams = {"input_shape": tuple(x.shape[1:]), **hparams}
    default = defaults.get("likelihood")
    if x.ndim == 2 and "likelihood" not in hparams and default == "bernoulli":
        likelihood = zoo.data.table_likelihood(x)
        if likelihood != default:
            hparams["likelihood"] = likelihood
            print(f"likelihood={likelihood}: the table is not binary (--set likelihood=... to choose)")
    return hparams


def _standardize(x: np.ndarray, split_at: int) -> tuple[np.ndarray, zoo.data.Standardizer]:
    """x standardized with the mean and std of its training rows x[:split_at], and that Standardizer."""
    scaler = zoo.data.Standardizer().fit(x[:split_at])
    print(
        f"standardized the {x.shape[1]} features with the mean and std of the {split_at} training rows "
        f"(saved as {STANDARDIZER} in the run folder)",
        flush=True,
    )
    return scaler.transform(x), scaler


def command_train(args: argparse.Namespace) -> None:
    hparams = dict(parse_assignment(item) for item in args.set)
    model = zoo.get(args.model, **hparams)  # fail on a bad model name or --set before loading data
    for option, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        checks.integer(option, value)
    x, labels = zoo.data.load(args.data, split="train", label_column=args.label_column)
    hparams = _fit_to_data(args.model, hparams, x)
    if any(model.hparams[key] != value for key, value in recorded(check(hparams)).items()):  # a table's shape
        model = zoo.get(args.model, **hparams)
    if model.is_conditional and labels is None:
        raise ValueError(
            f"{args.model} is conditional and {args.data} has no labels: name the label column with "
            "--label-column NAME (a .csv), or train an unconditional model."
        )
    split_at = int(len(x) * (1 - VALIDATION_SPLIT))  # the last tenth is held out, as Keras' validation_split
    settings = {
        "model": args.model,
        "hparams": run_identity(model.hparams),
        "data": args.data,
        "binarize": zoo.data.training_binarization(model),
        "batch_size": args.batch_size,
        "validation_split": VALIDATION_SPLIT,
        "seed": args.seed,
    }
    vectors = zoo.data.takes_vectors(model)
    scaler = None
    if vectors:  # new keys for tables only, so image runs keep their folder names
        settings["label_column"] = args.label_column
        settings["standardize"] = model.hparams.get("likelihood") == "gaussian"
        if settings["standardize"]:
            x, scaler = _standardize(x, split_at)
    run_dir = Path(args.out) / run_name(settings)
    done = 0 if args.restart else checkpoint_epoch(run_dir)
    print(f"run folder {run_dir}{_progress(done, args.epochs)}", flush=True)
    # A resumed run draws other orders and binarizations than the epochs it has done.
    y_train, y_valid = (None, None) if labels is None else (labels[:split_at], labels[split_at:])
    train = zoo.data.training_dataset(model, x[:split_at], y_train, args.batch_size, seed=args.seed + done)
    x_valid = zoo.data.evaluation_images(model, x[split_at:], args.seed)
    callbacks = []
    if args.tensorboard:
        logs = run_dir / "logs"
        pictures = {"images": None, "samples": 0} if vectors else {"images": x_valid[:8]}
        labels_shown = None if y_valid is None else y_valid[:8]
        callbacks.append(zoo.callbacks.TensorBoard(logs, labels=labels_shown, seed=args.seed, **pictures))
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
    write_results(run, x_valid, y_valid, args.seed, scaler)
    run_readme.write(run_dir, {**settings, "hparams": run.model.hparams}, run.history)
    print(f"wrote {run_dir}")


def _progress(done: int, epochs: int) -> str:
    if not done:
        return ""
    return f", resuming after epoch {done}" if done < epochs else f", done ({done} epochs)"


def write_results(
    run: training.Run,
    x: np.ndarray,
    labels: np.ndarray | None,
    seed: int,
    standardizer: zoo.data.Standardizer | None = None,
) -> None:
    """Write model.keras, history.json, the standardizer (if any) and the figures that apply to the model
    into the run folder, each atomically. x: held-out images [N, H, W, C] (the last 10 are reconstructed,
    with labels [N] for a conditional model) or vectors [N, D] (a latent scatter of all of them, coloured by
    labels if any; the last 4 reconstructed per feature; the training curves)."""
    model = run.model
    atomic_write(run.directory / "model.keras", model.save)
    atomic_write(run.directory / "history.json", write_json(run.history))
    if standardizer is not None:
        standardizer.save(run.directory / STANDARDIZER)
    if zoo.data.takes_vectors(model):
        last = None if labels is None else labels[-4:]
        figures = {
            "reconstructions.png": lambda: plots.feature_reconstructions(
                model, x[-4:], model.labels_or_none(last)
            ),
            "latent.png": lambda: plots.latent_scatter(model, x, labels),
            "training_curves.png": lambda: plots.training_curves(run.history),
        }
    else:
        last = None if labels is None else labels[-10:]
        figures = {
            "reconstructions.png": lambda: plots.reconstructions(model, x[-10:], model.labels_or_none(last)),
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


def load_standardizer(target: str) -> zoo.data.Standardizer | None:
    """The Standardizer kept beside a model (a run folder's standardizer.json), or None."""
    path = Path(target)
    saved = (path if path.is_dir() else path.parent) / STANDARDIZER
    return zoo.data.Standardizer.load(saved) if saved.exists() else None


def _test_data(
    model: zoo.ZooModel,
    name: str,
    limit: int | None,
    seed: int,
    label_column: str | None = None,
    standardizer: zoo.data.Standardizer | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-out images [N, H, W, C] (or vectors [N, D], standardized as in training) as the model is scored
    on them (`zoo.data.evaluation_images`: one fixed binarization for Bernoulli models) and labels [N] if
    conditional."""
    x, labels = zoo.data.load(name, split="test", label_column=label_column)
    x = x[:limit] if standardizer is None else standardizer.transform(x[:limit])
    if model.is_conditional and labels is None:
        raise ValueError(
            f"{model.zoo_name} is conditional and {name} has no labels: pass --label-column NAME."
        )
    labels = None if labels is None else labels[:limit]
    return zoo.data.evaluation_images(model, x, seed), model.labels_or_none(labels)


def command_evaluate(args: argparse.Namespace) -> None:
    model = load_target(args.target)
    standardizer = load_standardizer(args.target) if zoo.data.takes_vectors(model) else None
    if standardizer is not None:
        print(f"standardized with the {STANDARDIZER} beside the model")
    x, labels = _test_data(model, args.data, args.limit, args.seed, args.label_column, standardizer)
    results = zoo.evaluate(model, x, labels=labels, k=args.k, seed=args.seed)
    examples = "rows" if zoo.data.takes_vectors(model) else "images"
    if Path(args.target).is_dir():
        run_readme.append_evaluation(args.target, args.data, len(x), args.k, results, examples)
    print(f"{model.zoo_name} on {len(x)} held-out {examples} of {args.data} (nats per example, k={args.k})")
    for key, value in results.items():
        print(f"  {key:14s} {value:10.2f}" if isinstance(value, float) else f"  {key:14s} {value:10d}")


def command_sample(args: argparse.Namespace) -> None:
    model = load_target(args.target)
    if zoo.data.takes_vectors(model):
        _sample_rows(model, args)
        return
    images = zoo.sample(model, args.n, labels=args.label, seed=args.seed)
    title = f"{model.zoo_name}: samples" + ("" if args.label is None else f" of label {args.label}")
    print(f"wrote {plots.save_png(plots.image_grid(images, title=title), args.out)}")


def _sample_rows(model: zoo.ZooModel, args: argparse.Namespace) -> None:
    """`zoo sample` for a model of vectors: the rows as a .csv, in the table's units if a standardizer is
    kept beside the model."""
    if Path(args.out).suffix.lower() != ".csv":
        raise ValueError(
            f"{model.zoo_name} draws vectors, not images: write them to a table with --out FILE.csv."
        )
    rows = zoo.sample(model, args.n, labels=args.label, seed=args.seed)
    standardizer = load_standardizer(args.target)
    if standardizer is not None:
        rows = standardizer.inverse_transform(rows)
    header = ",".join(f"x{i}" for i in range(rows.shape[1]))
    np.savetxt(args.out, rows, delimiter=",", header=header, comments="", fmt="%.6g")
    units = ", mapped back to the table's units" if standardizer is not None else ""
    print(f"wrote {args.out}: {len(rows)} rows{units}")


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
    train.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help="mnist, fashion_mnist, mnist-5k, photo-patches, a table (wine, breast_cancer, diabetes), or a "
        "path (.npz, .csv, IDX folder). A table's features are standardized for a Gaussian likelihood.",
    )
    train.add_argument("--label-column", default=None, metavar="NAME", help="a .csv's column of class labels")
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
    evaluate.add_argument("--label-column", default=None, metavar="NAME", help="a .csv's column of labels")
    evaluate.add_argument("--k", type=int, default=100, help="importance samples for the IWAE bound")
    evaluate.add_argument("--limit", type=int, default=None, help="evaluate only the first N test images")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.set_defaults(run=command_evaluate)

    sample = commands.add_parser("sample", help="draw images from a trained model's prior into a PNG")
    sample.add_argument("target", help="a run folder written by `zoo train`, or a .keras model file")
    sample.add_argument("-n", type=int, default=40, help="number of images")
    sample.add_argument("--label", type=int, default=None, help="the class to draw (conditional models)")
    sample.add_argument("--out", required=True, help="the PNG file to write (a .csv for a model of vectors)")
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
