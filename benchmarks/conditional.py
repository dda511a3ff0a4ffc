"""Do the conditional models obey the label? Each configuration trains on mnist-5k and is scored by how
often a classifier of real digits reads its samples as the requested digit (`zoo.classifier.label_accuracy`),
beside its held-out IWAE bound.

Protocol: the mnist-5k train split (4,500 digits) is cut into a tuning part (the first 4,000) and a
validation part (the last 500); configurations train on the tuning part for `--epochs` (15) epochs, batch
128, with dynamic binarization (`zoo.data.dataset`), and are scored on the validation part (binarized once,
`binarize_images(x, "stochastic", seed=0)`): the IWAE bound with k = `--iwae-k`. The classifier trains on
the tuning part's grey images; its accuracy on the validation part is reported. `--final` instead trains on
the whole train split and scores on the mnist-5k test split: only for the chosen defaults, once.

A configuration is `MODEL` or `MODEL:key=value,key=value` (hyperparameters of `zoo.get`):

    python benchmarks/conditional.py --configs cvae "cvae:label_every_layer=True" "conv_cvae:beta=2.0"
    python benchmarks/conditional.py --smoke --out /tmp/c        # seconds: the CI smoke run

Writes `<name>.json` (updated after every configuration) and `<name>.md` to --out.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tune
from benchlib import RESULTS, argument_parser, log, machine, table, write_json, write_results

import zoo

VALIDATION = 500  # the last images of the mnist-5k train split


def parse_config(text: str) -> tuple[str, dict[str, Any]]:
    """ "cvae:latent_dim=4,hidden_units=(512,256)" -> ("cvae", {"latent_dim": 4, "hidden_units": (512, 256)})."""
    name, _, changes = text.partition(":")
    return name.strip(), tune.parse_config(changes)


def splits(final: bool) -> dict[str, np.ndarray]:
    """Grey training images and labels, and the scored images (fixed binarization) and labels."""
    x, y = zoo.data.load("mnist-5k", split="train")
    if final:
        x_eval, y_eval = zoo.data.load("mnist-5k", split="test")
    else:
        x, x_eval, y, y_eval = x[:-VALIDATION], x[-VALIDATION:], y[:-VALIDATION], y[-VALIDATION:]
    return {"x": x, "y": y, "x_eval_grey": x_eval, "y_eval": y_eval,
            "x_eval": zoo.data.binarize_images(x_eval, "stochastic", seed=0)}  # fmt: skip


def run_config(
    text: str, data: dict[str, np.ndarray], reader: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """Train one configuration, then score its label accuracy and its IWAE bound."""
    name, changes = parse_config(text)
    zoo.keras.utils.set_random_seed(args.seed)
    model = zoo.get(name, **changes)
    x, y = data["x"][: args.train_examples], data["y"][: args.train_examples]
    start = time.perf_counter()
    model.fit(
        zoo.data.dataset(x, y, batch_size=128, binarize="dynamic", seed=args.seed),
        epochs=args.epochs,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    accuracy, confusion = zoo.classifier.label_accuracy(model, reader, args.samples_per_label, seed=args.seed)
    scores = zoo.evaluate(model, data["x_eval"], labels=data["y_eval"], k=args.iwae_k, seed=args.seed)
    return {
        "config": text,
        "accuracy": accuracy,
        "worst_label": int(np.argmin(np.diag(confusion))),
        "worst_label_accuracy": float(np.diag(confusion).min() / args.samples_per_label),
        "nll_iwae": scores[f"nll_iwae_{args.iwae_k}"],
        "neg_elbo": scores["neg_elbo"],
        "rate": scores["rate"],
        "active_units": scores["active_units"],
        "train_seconds": seconds,
        "confusion": confusion.tolist(),
    }


COLUMNS = [
    ("config", "configuration"),
    ("accuracy", "label accuracy"),
    ("worst_label_accuracy", "worst digit"),
    ("nll_iwae", "IWAE NLL"),
    ("neg_elbo", "neg ELBO"),
    ("rate", "rate (KL)"),
    ("active_units", "active units"),
    ("train_seconds", "train s"),
]


def report(results: dict[str, Any]) -> str:
    s = results["settings"]
    where = (
        "the mnist-5k test split"
        if s["final"]
        else f"the last {VALIDATION} digits of the mnist-5k train split"
    )
    return "\n".join([
        f"Train: {s['train_examples']} mnist-5k digits, {s['epochs']} epochs, batch 128, dynamic binarization, "
        f"seed {s['seed']}. Label accuracy: {s['samples_per_label']} mean-image samples per digit read by a "
        f"CNN trained on real digits (its accuracy on the scored digits: {s['classifier_accuracy']:.3f}). "
        f"IWAE NLL (k = {s['iwae_k']}), neg ELBO and rate on {where}, binarized once (seed 0); nats.",
        "",
        table(results["rows"], COLUMNS),
    ])  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argument_parser(__doc__)
    parser.add_argument("--configs", nargs="+", default=["cvae", "conv_cvae"], help="MODEL[:key=value,...]")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--iwae-k", type=int, default=200)
    parser.add_argument("--samples-per-label", type=int, default=100)
    parser.add_argument("--classifier-epochs", type=int, default=5)
    parser.add_argument(
        "--classifier",
        type=Path,
        default=None,
        help="a .keras file: loaded if it exists, else trained and saved there",
    )
    parser.add_argument(
        "--train-examples", type=int, default=None, help="use only the first N training digits"
    )
    parser.add_argument("--final", action="store_true", help="train on all 4,500, score on the test split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="conditional", help="file stem of the outputs")
    parser.add_argument("--smoke", action="store_true", help="tiny models, 1 epoch on 256 digits: for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.iwae_k, args.samples_per_label, args.classifier_epochs = 1, 4, 4, 1
        args.train_examples = 256
        args.configs = ["cvae:latent_dim=2,hidden_units=(32,),label_every_layer=True"]

    data = splits(args.final)
    n = args.train_examples or len(data["x"])
    if args.classifier and args.classifier.exists():
        reader = zoo.keras.models.load_model(args.classifier)
    else:
        reader = zoo.classifier.train_classifier(data["x"][:n], data["y"][:n], epochs=args.classifier_epochs)
        if args.classifier:
            reader.save(args.classifier)
    read = zoo.classifier.read_labels(reader, data["x_eval_grey"])
    settings = {
        "train_examples": n, "final": args.final, "classifier_accuracy": float(np.mean(read == data["y_eval"])),
        **{key: getattr(args, key) for key in ("epochs", "iwae_k", "samples_per_label", "classifier_epochs", "seed")},
    }  # fmt: skip
    log(f"classifier accuracy on the scored digits: {settings['classifier_accuracy']:.4f}")
    results: dict[str, Any] = {"machine": machine(), "settings": settings, "rows": []}
    for text in args.configs:
        row = run_config(text, data, reader, args)
        results["rows"].append(row)
        log(
            f"{text}: accuracy {row['accuracy']:.3f}, IWAE {row['nll_iwae']:.2f}, {row['train_seconds']:.0f} s"
        )
        write_json(args.out / f"{args.name}.json", results)
    write_results(args.out, args.name, results, report(results))
    return results


if __name__ == "__main__":
    main()
