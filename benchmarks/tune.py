"""Search for the zoo's default hyperparameters at the 30-epoch budget, on a validation split.

Trains a model (default `dense_vae`; every VAE variant shares its builder's defaults) for a fixed number of
epochs under each configuration: one change at a time from the current defaults (learning rate and
schedule, batch size, latent size, widths, KL warm-up, dropout, posterior), or the configurations given with
--config. Scores each on held-out data with `zoo.evaluate`: the official test set is never used
for tuning. Training uses mnist-5k's 4,500 "train" digits with dynamic binarization; validation its other
500 digits, binarized once with a fixed seed.

    python benchmarks/tune.py                                   # the one-at-a-time sweep, dense_vae
    python benchmarks/tune.py --model conv_vae --config base --config lr=3e-3 --config batch=64
    python benchmarks/tune.py --smoke --out /tmp/t              # seconds: the CI smoke run

A configuration is `name` from the sweep, or comma-separated changes: `lr=3e-3,batch=64,latent_dim=32,
warmup=5,schedule=cosine` (lr, batch, warmup in epochs and schedule are training settings; anything else a
hyperparameter). Writes `<name>.json` and `<name>.md` (name: tune) to --out.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import RESULTS, argument_parser, log, machine, table, write_json, write_results
from quality import TEST_BINARIZATION_SEED, build, score, train

import zoo
from zoo.cli import parse_assignment

SWEEP = {
    "base": "",
    "lr=3e-3": "lr=3e-3",
    "lr=3e-4": "lr=3e-4",
    "cosine": "schedule=cosine",
    "lr=3e-3+cosine": "lr=3e-3,schedule=cosine",
    "batch=64": "batch=64",
    "batch=256": "batch=256",
    "latent=8": "latent_dim=8",
    "latent=32": "latent_dim=32",
    "widths=256,128": "hidden_units=(256,128)",
    "widths=1024,512": "hidden_units=(1024,512)",
    "warmup=5": "warmup=5",
    "dropout=0.1": "dropout=0.1",
    "diag": "posterior='diag'",
}
TRAINING = {"lr", "batch", "warmup", "schedule"}


def parse_config(text: str) -> dict[str, Any]:
    """ "lr=3e-3,batch=64" -> {"lr": 0.003, "batch": 64}; commas inside parentheses stay in the value."""
    changes, depth, current = {}, 0, ""
    for char in text + ",":
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            if current.strip():
                key, value = parse_assignment(current.strip())
                changes[key] = value
            current = ""
        else:
            current += char
    return changes


def run_config(
    model_name: str,
    label: str,
    changes: dict[str, Any],
    data: dict[str, Any],
    args: argparse.Namespace,
    seed: int,
) -> dict[str, Any]:
    hparams = {k: v for k, v in changes.items() if k not in TRAINING}
    if "lr" in changes:
        hparams["learning_rate"] = float(changes["lr"])
    batch = int(changes.get("batch", args.batch_size))
    schedule = str(changes.get("schedule", "constant"))
    steps = math.ceil(len(data["x_train"]) / batch)
    model = build(model_name, hparams, seed, schedule, args.epochs, steps)
    row: dict[str, Any] = {"config": label, "seed": seed, "batch": batch}
    row.update({k: str(v) for k, v in changes.items()})
    row.update(
        train(
            model,
            data["x_train"],
            data["y_train"],
            epochs=args.epochs,
            seconds=None,
            batch_size=batch,
            seed=seed,
            warmup_epochs=float(changes.get("warmup", 0)),
        )
    )
    row.update(
        score(
            model,
            zoo.data.evaluation_images(model, data["x_val"], TEST_BINARIZATION_SEED),
            data["y_val"],
            elbo_k=1,
            iwae_k=args.iwae_k,
            iwae_examples=len(data["x_val"]),
            seed=seed,
        )
    )
    row["params"] = model.count_params()
    return row


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argument_parser(__doc__)
    parser.add_argument("--model", default="dense_vae")
    parser.add_argument(
        "--config", action="append", default=None, help="a sweep name or changes (repeatable)"
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64, help="the zoo's default batch size")
    parser.add_argument(
        "--iwae-k", type=int, default=500, help="importance samples on the 500 validation digits"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="train every config once per seed")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="tune", help="file stem of the outputs")
    parser.add_argument("--smoke", action="store_true", help="one config, one epoch, 64 images, k = 4")
    args = parser.parse_args(argv)
    configs = args.config or list(SWEEP)

    x_train, y_train = zoo.data.load("mnist-5k", split="train")
    x_val, y_val = zoo.data.load("mnist-5k", split="test")
    if args.smoke:
        args.epochs, args.iwae_k, configs = 1, 4, configs[:1]
        x_train, y_train, x_val, y_val = x_train[:64], y_train[:64], x_val[:16], y_val[:16]
    data = {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {"model": args.model, "epochs": args.epochs, "iwae_k": args.iwae_k, "seeds": args.seeds},
        "rows": [],
    }
    started = time.perf_counter()
    for seed in args.seeds:
        for label in configs:
            changes = parse_config(SWEEP.get(label, label))
            log(f"{args.model} [{label}], seed {seed}: {args.epochs} epochs")
            row = run_config(args.model, label, changes, data, args, seed)
            results["rows"].append(row)
            log(
                f"{args.model} [{label}], seed {seed}: val neg_elbo {row['neg_elbo']:.2f}, "
                f"IWAE {row.get('nll_iwae') or math.nan:.2f}, {row['seconds_per_epoch']:.2f} s/epoch"
            )
            write_json(args.out / f"{args.name}.json", results)
    results["summary"] = summarize(results["rows"])
    results["seconds"] = time.perf_counter() - started
    write_json(args.out / f"{args.name}.json", results)
    text = (
        f"{args.model}, {args.epochs} epochs on mnist-5k train (4,500, dynamic binarization); validation: "
        f"mnist-5k test (500, fixed binarization), IWAE k = {args.iwae_k}. Nats, lower is better.\n\n"
        + table(
            results["rows"],
            [
                ("config", "config"),
                ("seed", "seed"),
                ("neg_elbo", "val neg_elbo"),
                ("nll_iwae", f"val IWAE NLL (k={args.iwae_k})"),
                ("rate", "rate"),
                ("active_units", "active units"),
                ("final_train_loss", "train loss (last epoch)"),
                ("seconds_per_epoch", "s/epoch"),
                ("params", "params"),
            ],
        )
    )
    if len(args.seeds) > 1:
        text += "\n\nOver the seeds (mean, sample standard deviation):\n\n" + table(
            results["summary"],
            [
                ("config", "config"),
                ("seeds", "seeds"),
                ("neg_elbo_mean", "val neg_elbo"),
                ("neg_elbo_sd", "sd"),
                ("nll_iwae_mean", f"val IWAE NLL (k={args.iwae_k})"),
                ("nll_iwae_sd", "sd"),
                ("seconds_per_epoch_mean", "s/epoch"),
            ],
        )
    write_results(args.out, args.name, results, text)
    return results


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per config: mean and sample standard deviation over its seeds of the validation scores."""
    summary = []
    for config in dict.fromkeys(row["config"] for row in rows):
        runs = [row for row in rows if row["config"] == config]
        entry: dict[str, Any] = {"config": config, "seeds": len(runs)}
        for key in ("neg_elbo", "nll_iwae", "seconds_per_epoch"):
            values = [row[key] for row in runs if row.get(key) is not None]
            if values:
                entry[f"{key}_mean"] = statistics.fmean(values)
                entry[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else None
        summary.append(entry)
    return summary


if __name__ == "__main__":
    main()
