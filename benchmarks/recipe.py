"""A training recipe for `conv_vae` that beats a hand-written loop of today's network (issue #14).

The target: at `latent_dim` 16, 30 epochs, batch 128, dynamic binarization, the default `conv_vae` must score
an IWAE NLL (k >= 1000) on the official MNIST test set at least 2.5 nats below a hand-written TensorFlow loop
(`handwritten.HandWritten`) of today's default network (3x3 32/64 stride-2 convolutions, Adam 1e-3) trained
the same way.

Tuning (the default): every candidate trains on the first 4,000 digits of mnist-5k's 4,500 "train" digits
with dynamic binarization (`zoo.data.dataset(..., binarize="dynamic")`) and is scored on the last 500
(binarized once with a fixed seed): neg ELBO, rate, IWAE NLL with `--iwae-k` samples, seconds per epoch.
The official test set is never read while tuning. `--final` trains on all 4,500 and scores on the official
test set (`quality.load_test_set`, checksums verified), IWAE k = 1000 on the first `--iwae-examples` images.

A candidate is comma-separated settings (commas inside parentheses stay in the value):

    net=zoo        the zoo's builder, `zoo.get("conv_vae", ...)` at its defaults (default); since this
                   search, one residual block per level (`residual_blocks=1`)
    net=hand       the zoo's network trained by the hand-written tf.function loop (Adam, constant lr only);
                   `net=hand,residual_blocks=0,lr=1e-3` is the network and rate of the issue's baseline
    net=plain      today's layer stack built here, with `act` (relu, elu, swish) as its activation
    net=deep       a stride-1 3x3 convolution after every stride-2 one, in the encoder and the decoder
    net=tfp5       a 5x5 stack: two convolutions per level (stride 1, stride 2), a 7x7 last one
    net=res        a `zoo.layers.ResidualBlock` after each stride-2 convolution and before each transposed
                   one (what `residual_blocks=1` builds); resenc / resdec: in the encoder / decoder only
    net=gated      gated convolutions (conv_a(x) * sigmoid(conv_b(x)), as in the VampPrior paper's nets)
    net=bn         batch normalization after every convolution
    residual_blocks=N   the zoo's `residual_blocks` (net=zoo and net=hand; default: the zoo's default)
    lr=...         Adam's peak learning rate (default: the zoo's default for conv_vae);
                   schedule=constant|cosine|exponential
    alpha=0.0      the final learning rate / peak for the cosine and exponential schedules
    warmup=0       epochs of linear learning-rate warm-up from 0 (cosine only)
    kl_warmup=0    epochs of linear KL warm-up (`zoo.callbacks.KLAnnealing`)
    wd=0           decoupled weight decay (AdamW);  filters=(32,64); act=relu; batch=128; latent_dim=16

    python benchmarks/recipe.py --config net=hand --config net=zoo --config lr=3e-3,schedule=cosine
    python benchmarks/recipe.py --final --config net=hand --config lr=3e-3,schedule=cosine --name recipe-test
    python benchmarks/recipe.py --smoke --out /tmp/r          # seconds: the CI smoke run
    python benchmarks/recipe.py --collect recipe-round1 recipe-round2   # one table of several runs

Writes `<name>.json` (every number, updated after each candidate) and `<name>.md` to --out (name: recipe).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import RESULTS, argument_parser, log, machine, median, table, write_json, write_results
from handwritten import HandWritten, _deterministic_prefix
from quality import DEFAULT_TEST_DIR, TEST_BINARIZATION_SEED, load_test_set, score, train
from tune import parse_config

import zoo
from zoo import blocks
from zoo import layers as zl
from zoo._tf import keras, tf
from zoo.model import assemble

INPUT_SHAPE = (28, 28, 1)
VALIDATION = 500  # the last 500 of mnist-5k's 4,500 train digits
DEFAULTS = {
    "net": "zoo", "lr": None, "schedule": "constant", "alpha": 0.0, "warmup": 0.0, "kl_warmup": 0.0,
    "wd": 0.0, "filters": (32, 64), "act": "relu", "batch": 128, "latent_dim": 16, "residual_blocks": None,
}  # fmt: skip
NETS = ("zoo", "hand", "plain", "deep", "tfp5", "res", "resdec", "resenc", "gated", "bn")


# ---- networks ---------------------------------------------------------------------------------------------


def _conv(filters: int, size: int, stride: int, act: str) -> keras.layers.Layer:
    return keras.layers.Conv2D(filters, size, strides=stride, padding="same", activation=act)


def _deconv(filters: int, size: int, stride: int, act: str) -> keras.layers.Layer:
    return keras.layers.Conv2DTranspose(filters, size, strides=stride, padding="same", activation=act)


def _to_map(start: tuple[int, int, int], act: str) -> list[keras.layers.Layer]:
    """The decoder's first layers: [N, latent] -> a Dense layer -> [N, *start], the map the convolutions grow."""
    return [keras.layers.Dense(math.prod(start), activation=act), keras.layers.Reshape(start)]


class Gated(keras.layers.Layer):
    """A gated convolution (Dauphin et al. 2017, VampPrior's GatedConv2d): conv_a(x) * sigmoid(conv_b(x))."""

    def __init__(self, filters: int, size: int, stride: int, transpose: bool = False, **kwargs):
        super().__init__(**kwargs)
        kind = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
        self.conv = kind(2 * filters, size, strides=stride, padding="same")

    def call(self, x):
        a, b = tf.split(self.conv(x), 2, axis=-1)
        return a * tf.sigmoid(b)


def _stacks(net: str, filters: Sequence[int], act: str, latent_dim: int) -> tuple[list, list]:
    """The deterministic encoder [N, 28, 28, 1] -> [N, F] and decoder [N, latent] -> logits [N, 28, 28, 1]."""
    start = (INPUT_SHAPE[0] // 2 ** len(filters), INPUT_SHAPE[1] // 2 ** len(filters), filters[-1])
    if net == "gated":
        encoder = [Gated(f, 3, 2) for f in filters]
        decoder = _to_map(start, act)
        decoder += [Gated(f, 3, 2, transpose=True) for f in filters[::-1]]
        return [*encoder, keras.layers.Flatten()], [*decoder, keras.layers.Conv2D(1, 3, padding="same")]
    if net in ("res", "resdec", "resenc"):
        enc, dec = net != "resdec", net != "resenc"
        encoder = [
            layer
            for f in filters
            for layer in [_conv(f, 3, 2, act)] + ([zl.ResidualBlock(act)] if enc else [])
        ]
        decoder = _to_map(start, act)
        decoder += [
            layer
            for f in filters[::-1]
            for layer in ([zl.ResidualBlock(act)] if dec else []) + [_deconv(f, 3, 2, act)]
        ]
        return [*encoder, keras.layers.Flatten()], [*decoder, keras.layers.Conv2D(1, 3, padding="same")]
    if net == "bn":
        encoder = [
            layer
            for f in filters
            for layer in (
                keras.layers.Conv2D(f, 3, strides=2, padding="same"),
                keras.layers.BatchNormalization(),
                keras.layers.Activation(act),
            )
        ]
        decoder = _to_map(start, act)
        for f in filters[::-1]:
            decoder += [
                keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same"),
                keras.layers.BatchNormalization(),
                keras.layers.Activation(act),
            ]
        return [*encoder, keras.layers.Flatten()], [*decoder, keras.layers.Conv2D(1, 3, padding="same")]
    if net == "tfp5":
        encoder = [layer for f in filters for layer in (_conv(f, 5, 1, act), _conv(f, 5, 2, act))]
        encoder += [keras.layers.Conv2D(4 * latent_dim, 7, padding="valid", activation=act)]
        decoder = [keras.layers.Reshape((1, 1, latent_dim))]
        decoder += [keras.layers.Conv2DTranspose(filters[-1], 7, padding="valid", activation=act)]
        decoder += [layer for f in filters[::-1] for layer in (_deconv(f, 5, 1, act), _deconv(f, 5, 2, act))]
        decoder += [_conv(filters[0], 5, 1, act), keras.layers.Conv2D(1, 5, padding="same")]
        return [*encoder, keras.layers.Flatten()], decoder
    deep = net == "deep"
    encoder = [
        layer for f in filters for layer in ([_conv(f, 3, 1, act)] if deep else []) + [_conv(f, 3, 2, act)]
    ]
    decoder = _to_map(start, act)
    for f in filters[::-1]:
        decoder += [_deconv(f, 3, 2, act)] + ([_conv(f, 3, 1, act)] if deep else [])
    return [*encoder, keras.layers.Flatten()], [*decoder, keras.layers.Conv2D(1, 3, padding="same")]


def learning_rate(settings: dict[str, Any], steps_per_epoch: int, epochs: int) -> Any:
    """`lr`, constant or as a schedule decayed over the whole run (cosine optionally after a linear warm-up)."""
    peak, total = float(settings["lr"]), max(1, epochs * steps_per_epoch)
    warm = int(float(settings["warmup"]) * steps_per_epoch)
    alpha = float(settings["alpha"])
    if settings["schedule"] == "cosine" and warm:
        return keras.optimizers.schedules.CosineDecay(
            0.0, total - warm, alpha=alpha, warmup_target=peak, warmup_steps=warm
        )
    if settings["schedule"] == "cosine":
        return keras.optimizers.schedules.CosineDecay(peak, total, alpha=alpha)
    if settings["schedule"] == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(peak, total, max(alpha, 1e-3))
    if settings["schedule"] != "constant":
        raise ValueError(f"schedule must be constant, cosine or exponential; got {settings['schedule']!r}.")
    return peak


def optimizer(settings: dict[str, Any], steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    """Adam (AdamW when wd > 0) at `learning_rate(...)`."""
    rate = learning_rate(settings, steps_per_epoch, epochs)
    if float(settings["wd"]) > 0:
        return keras.optimizers.AdamW(rate, weight_decay=float(settings["wd"]))
    return keras.optimizers.Adam(rate)


def build(settings: dict[str, Any], steps_per_epoch: int, epochs: int, seed: int) -> zoo.ZooModel:
    """The candidate's model, compiled with its optimizer: `zoo.get("conv_vae", ...)` for net=zoo and
    net=hand (whose weights the hand-written loop clones), else the stack built from zoo's layers."""
    keras.utils.set_random_seed(seed)
    net, latent_dim, filters = settings["net"], int(settings["latent_dim"]), tuple(settings["filters"])
    if net not in NETS:
        raise ValueError(f"net must be one of {NETS}; got {net!r}.")
    if net in ("zoo", "hand"):
        blocks_given = settings["residual_blocks"] is not None
        extra = {"residual_blocks": int(settings["residual_blocks"])} if blocks_given else {}
        model = zoo.get("conv_vae", latent_dim=latent_dim, filters=filters, **extra)
    else:
        encoder, decoder = _stacks(net, filters, settings["act"], latent_dim)
        encoder += [*blocks.gaussian_posterior(latent_dim), blocks.kl_term("normal", 10, 1.0, "auto", 1, 0.0)]
        model = assemble(INPUT_SHAPE, latent_dim, encoder, [*decoder, blocks.likelihood(INPUT_SHAPE)])
        model.zoo_name = f"conv_vae[{net}]"
    model.compile(optimizer=optimizer(settings, steps_per_epoch, epochs), loss=zl.negative_log_likelihood)
    return model


# ---- training ---------------------------------------------------------------------------------------------


def train_hand(model: zoo.ZooModel, x: np.ndarray, settings: dict[str, Any], epochs: int, seed: int) -> dict:
    """Train `model`'s network with the hand-written loop on dynamically binarized batches of the grey
    images x, then copy the trained weights back into `model` so that `zoo.evaluate` scores it."""
    if settings["schedule"] != "constant" or float(settings["wd"]) > 0 or float(settings["kl_warmup"]) > 0:
        raise ValueError("net=hand is the plain hand-written loop: constant lr, no weight decay, no warm-up.")
    batch = int(settings["batch"])
    hand = HandWritten(model, batch_size=batch, learning_rate=float(settings["lr"]))
    data = zoo.data.dataset(x, batch_size=batch, binarize="dynamic", seed=seed).map(lambda images, _: images)
    seconds, loss, start = [], math.nan, time.perf_counter()
    for _ in range(epochs):
        epoch_start, total, count = time.perf_counter(), 0.0, 0
        for images in data:
            total += float(hand.step(images)) * int(images.shape[0])
            count += int(images.shape[0])
        seconds.append(time.perf_counter() - epoch_start)
        loss = total / count
    for network, clone in ((model.encoder, hand.encoder), (model.decoder, hand.decoder)):
        for source, target in zip(clone.layers, _deterministic_prefix(network), strict=True):
            target.set_weights(source.get_weights())
    return {
        "epochs_run": epochs,
        "train_seconds": time.perf_counter() - start,
        "seconds_per_epoch": median(seconds[1:] or seconds),
        "first_epoch_seconds": seconds[0] if seconds else None,
        "final_train_loss": loss,
    }


def run(
    label: str, x_train: np.ndarray, x_eval: np.ndarray, args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    """Train one candidate on the grey images x_train and score it on the binary images x_eval."""
    settings = {**DEFAULTS, **parse_config(label)}
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)} in {label!r}; known: {', '.join(DEFAULTS)}.")
    if settings["lr"] is None:
        settings["lr"] = zoo.defaults("conv_vae")["learning_rate"]
    batch = int(settings["batch"])
    steps = math.ceil(len(x_train) / batch)
    model = build(settings, steps, args.epochs, seed)
    row: dict[str, Any] = {
        "config": label,
        "seed": seed,
        "epochs": args.epochs,
        "params": model.count_params(),
    }
    if settings["net"] == "hand":
        row.update(train_hand(model, x_train, settings, args.epochs, seed))
    else:
        labels = np.zeros(len(x_train), dtype=np.int64)
        row.update(
            train(
                model, x_train, labels, epochs=args.epochs, seconds=None, batch_size=batch, seed=seed,
                warmup_epochs=float(settings["kl_warmup"]),
            )
        )  # fmt: skip
    row.update(
        score(
            model, x_eval, np.zeros(len(x_eval), dtype=np.int64), elbo_k=1, iwae_k=args.iwae_k,
            iwae_examples=args.iwae_examples, seed=seed,
        )
    )  # fmt: skip
    return row


# ---- the report -------------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    s = results["settings"]
    where = (
        f"the official MNIST test set ({s['eval_examples']} images, binarized once), IWAE on the first "
        f"{s['iwae_examples']}"
        if s["final"]
        else f"validation: the last {s['eval_examples']} of mnist-5k's train split (binarized once), IWAE on "
        f"the first {s['iwae_examples']} of them"
    )
    lines = [
        f"`conv_vae` candidates, latent 16, {s['epochs']} epochs on {s['train_examples']} mnist-5k digits "
        f"(dynamic binarization); {where}, k = {s['iwae_k']}. Nats, lower is better. Command: "
        f"`{s['command']}`",
        "",
        table(
            results["rows"],
            [
                ("config", "candidate"),
                ("seed", "seed"),
                ("nll_iwae", f"IWAE NLL (k={s['iwae_k']})"),
                ("neg_elbo", "neg ELBO"),
                ("rate", "rate"),
                ("distortion", "distortion"),
                ("active_units", "active units"),
                ("final_train_loss", "train loss (last epoch)"),
                ("seconds_per_epoch", "s/epoch"),
                ("params", "params"),
            ],
        ),
    ]
    return "\n".join(lines)


def collect(out: Path, names: Sequence[str], name: str) -> dict[str, Any]:
    """One table of every candidate in the runs out/<names>.json (each row with its run's command and
    evaluation), written as out/<name>.json and .md."""
    rows = []
    for run_name in names:
        found = json.loads((out / f"{run_name}.json").read_text())
        s = found["settings"]
        where = "test" if s["final"] else "validation"
        for row in found["rows"]:
            evaluation = f"{where}, k={s['iwae_k']} on {s['iwae_examples']}"
            rows.append({**row, "run": run_name, "evaluation": evaluation, "command": s["command"]})
    text = (
        "`conv_vae` candidates, latent 16, batch 128, dynamic binarization. validation: trained on the first "
        "4,000 of mnist-5k's train split, scored on its last 500 (binarized once); test: trained on all 4,500, "
        "scored on the official MNIST test set (binarized once). Nats, lower is better.\n\n"
        + table(
            rows,
            [
                ("config", "candidate"),
                ("epochs", "epochs"),
                ("seed", "seed"),
                ("evaluation", "scored on (IWAE)"),
                ("nll_iwae", "IWAE NLL"),
                ("neg_elbo", "neg ELBO"),
                ("rate", "rate"),
                ("seconds_per_epoch", "s/epoch"),
                ("params", "params"),
                ("run", "run"),
            ],
        )
        + "\n\nCommands (from the repository root):\n\n"
        + "\n".join(
            f"- {run_name}: `{json.loads((out / f'{run_name}.json').read_text())['settings']['command']}`"
            for run_name in names
        )
    )
    results = {"machine": machine(), "runs": list(names), "rows": rows}
    write_results(out, name, results, text)
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argument_parser(__doc__)
    parser.add_argument("--config", action="append", default=None, help="a candidate (repeatable)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--iwae-k", type=int, default=200, help="importance samples (1000 with --final)")
    parser.add_argument("--iwae-examples", type=int, default=500, help="images scored by the IWAE bound")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--final", action="store_true", help="train on all 4,500; score on the official test set"
    )
    parser.add_argument(
        "--test-dir", type=Path, default=DEFAULT_TEST_DIR, help="folder with t10k-*.gz and MD5SUMS"
    )
    parser.add_argument("--data", default="mnist-5k", help="training set: mnist-5k or a local path")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="recipe", help="file stem of the outputs")
    parser.add_argument(
        "--smoke", action="store_true", help="net=hand and net=zoo, one epoch, 64 images, k = 4"
    )
    parser.add_argument("--collect", nargs="+", metavar="RUN", help="merge these runs' json into --name")
    args = parser.parse_args(argv)
    if args.collect:
        return collect(args.out, args.collect, args.name)
    configs = args.config or ["net=hand", "net=zoo"]
    if args.smoke:
        args.epochs, args.iwae_k, args.iwae_examples = 1, 4, 8

    x_all, _ = zoo.data.load(args.data, split="train")
    if args.final:
        x_train = x_all
        x_eval = load_test_set(args.test_dir)[0]
    else:
        x_train, x_eval = x_all[:-VALIDATION], x_all[-VALIDATION:]
    if args.smoke:
        x_train, x_eval = x_train[:64], x_eval[:16]
    x_eval = zoo.data.binarize_images(x_eval, "stochastic", seed=TEST_BINARIZATION_SEED)  # as quality.py
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            "final": args.final, "epochs": args.epochs, "iwae_k": args.iwae_k,
            "iwae_examples": min(args.iwae_examples, len(x_eval)), "train_examples": len(x_train),
            "eval_examples": len(x_eval), "seeds": args.seeds, "data": args.data,
            "command": shlex.join(["python", "benchmarks/recipe.py", *(sys.argv[1:] if argv is None else argv)]),
        },
        "rows": [],
    }  # fmt: skip
    for seed in args.seeds:
        for label in configs:
            log(f"[{label}] seed {seed}: {args.epochs} epochs on {len(x_train)} images")
            row = run(label, x_train, x_eval, args, seed)
            results["rows"].append(row)
            log(
                f"[{label}] seed {seed}: IWAE {row.get('nll_iwae') or math.nan:.2f}, neg_elbo "
                f"{row['neg_elbo']:.2f}, {row['seconds_per_epoch']:.2f} s/epoch"
            )
            write_json(args.out / f"{args.name}.json", results)
    write_results(args.out, args.name, results, report(results))
    return results


if __name__ == "__main__":
    main()
