"""Which pixel likelihood for grey digits: `dense_vae` with Gaussian pixels against continuous-Bernoulli
pixels (Loaiza-Ganem & Cunningham 2019), trained and scored on the same grey levels in [0, 1].

Protocol: train on the 4,500 grey digits of the mnist-5k train split (never binarized: both likelihoods
are densities on grey levels; `zoo.data.training_dataset` does so for them), `--epochs` (10) epochs, batch
64, seed 0, `dense_vae`'s defaults but the `likelihood` (nothing is tuned here, so no validation split is
used). Test on the mnist-5k test split (500 digits), or with `--test-dir` on the official MNIST test set
(its MD5SUMS verified, `quality.load_test_set`), first `--iwae-examples` images: the IWAE bound with
k = `--iwae-k` (1000) importance samples and the negative ELBO (`zoo.evaluate`, seed 0). Both are negative
log-densities on [0, 1]^784 (nats per image, lower is better): comparable between these two likelihoods
on the same grey data, not with a Bernoulli model's numbers on binarized digits. Also reported: seconds
per epoch (median, first epoch excluded) and a grid of samples per likelihood (the mean of p(x|z), z ~ p(z),
as `zoo.sample` shows it; a Gaussian's mean may leave [0, 1] and is clipped for display).

MNIST's grey levels are 8-bit and 81 % of its pixels are exactly 0, so a density can gain without bound by
piling up there. `--dequantize` scores the discrete data fairly instead (Theis et al. 2016): the images
become (255 x + u) / 256 with u ~ U(0, 1) (one seeded draw for the training set, another for the test
set), and the report adds the bound on the discrete negative log-likelihood in bits per pixel,
(NLL + 784 ln 256) / (784 ln 2).

    python benchmarks/likelihoods.py --test-dir ../shared/data/mnist      # both likelihoods, 10 epochs
    python benchmarks/likelihoods.py --dequantize --name likelihoods-dequantized
    python benchmarks/likelihoods.py --smoke --out /tmp/l                # seconds: the CI smoke run

Writes `<name>.json` (updated after every likelihood), `<name>.md` and `<name>-<likelihood>.png` to --out.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import quality
from benchlib import RESULTS, argument_parser, log, machine, table, write_json, write_results

import zoo
from zoo.cli import parse_assignment

MODEL = "dense_vae"
LIKELIHOODS = ("gaussian", "continuous_bernoulli")
SAMPLES = 20  # images in each sample grid


def dequantize(x: np.ndarray, seed: int) -> np.ndarray:
    """8-bit grey levels x [N, H, W, C] in [0, 1] -> (255 x + u) / 256, u ~ U(0, 1): continuous data whose
    density bounds the probability of the discrete pixels (Theis et al. 2016)."""
    levels = np.round(np.asarray(x, np.float64) * 255)
    return ((levels + np.random.default_rng(seed).random(x.shape)) / 256).astype(np.float32)


def splits(test_dir: Path | None, dequantized: bool, seed: int) -> dict[str, np.ndarray]:
    """The grey training images, and the test images: mnist-5k's test split or the official test set."""
    x, _ = zoo.data.load("mnist-5k", split="train")
    x_test = quality.load_test_set(test_dir)[0] if test_dir else zoo.data.load("mnist-5k", split="test")[0]
    if dequantized:
        x, x_test = dequantize(x, seed), dequantize(x_test, seed + 1)
    return {"x": x, "x_test": x_test}


def run_likelihood(likelihood: str, data: dict[str, np.ndarray], args: argparse.Namespace) -> dict[str, Any]:
    """Train `dense_vae` with this pixel likelihood, score it, and draw its sample grid."""
    hparams = {**dict(parse_assignment(item) for item in args.set), "likelihood": likelihood}
    x = data["x"][: args.train_examples]
    steps = math.ceil(len(x) / args.batch_size)
    model = quality.build(MODEL, hparams, args.seed, "constant", args.epochs, steps)
    row: dict[str, Any] = {"likelihood": likelihood}
    row.update(
        quality.train(
            model, x, None, epochs=args.epochs, seconds=None, batch_size=args.batch_size, seed=args.seed
        )
    )
    x_test = zoo.data.evaluation_images(
        model, data["x_test"][: args.iwae_examples]
    )  # grey levels as they are
    scores = zoo.evaluate(model, x_test, k=args.iwae_k, seed=args.seed, verbose=0)
    row.update({key: value for key, value in scores.items() if not key.startswith("nll_iwae")})
    row["nll_iwae"] = scores[f"nll_iwae_{args.iwae_k}"]
    if args.dequantize:
        row["bits_per_pixel"] = (row["nll_iwae"] + x_test[0].size * math.log(256)) / (
            x_test[0].size * math.log(2)
        )
    images = zoo.sample(model, SAMPLES, seed=args.seed)  # the mean of p(x|z): what zoo.sample shows
    row["samples_outside_unit_interval"] = float(np.mean((images < 0) | (images > 1)))
    row["sample_mean_grey_level"] = float(images.mean())
    title = f"{MODEL}, likelihood={likelihood}: samples (mean of p(x|z)), {args.epochs} epochs"
    path = args.out / f"{args.name}-{likelihood}.png"
    zoo.plots.save_png(zoo.plots.image_grid(np.clip(images, 0, 1), ncols=10, title=title), path)
    row["samples_png"] = path.name
    return row


COLUMNS = [
    ("likelihood", "likelihood"),
    ("nll_iwae", "test IWAE NLL"),
    ("bits_per_pixel", "discrete bits/pixel"),
    ("neg_elbo", "test neg ELBO"),
    ("rate", "rate (KL)"),
    ("distortion", "distortion"),
    ("active_units", "active units"),
    ("seconds_per_epoch", "s/epoch"),
    ("final_train_loss", "final train loss"),
    ("sample_mean_grey_level", "samples' mean grey"),
    ("samples_outside_unit_interval", "sample pixels outside [0, 1]"),
    ("samples_png", "samples"),
]


def report(results: dict[str, Any]) -> str:
    s = results["settings"]
    data = "dequantized, (255 x + u) / 256" if s["dequantize"] else "grey levels as they are"
    columns = [column for column in COLUMNS if s["dequantize"] or column[0] != "bits_per_pixel"]
    return "\n".join([
        f"`{MODEL}` (defaults but `likelihood`), trained on {s['train_examples']} mnist-5k digits ({data}; "
        f"{s['zero_fraction']:.0%} of the training pixels exactly 0) for {s['epochs']} epochs, batch "
        f"{s['batch_size']}, seed {s['seed']}; tested on {s['test_examples']} images of {s['test']}: IWAE "
        f"bound (k = {s['iwae_k']}) and neg ELBO, nats per image of a density on [0, 1]^784, lower is better "
        "(comparable between these rows, not with Bernoulli NLLs on binarized digits). s/epoch: median, first "
        "epoch excluded, on a core shared with other work.",
        "",
        table(results["rows"], columns),
    ])  # fmt: skip


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argument_parser(__doc__)
    parser.add_argument("--likelihoods", nargs="+", choices=LIKELIHOODS, default=list(LIKELIHOODS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iwae-k", type=int, default=1000)
    parser.add_argument("--iwae-examples", type=int, default=2000, help="test images scored")
    parser.add_argument(
        "--test-dir",
        type=Path,
        default=None,
        help="the official test set (t10k-*.gz, MD5SUMS); default: mnist-5k's",
    )
    parser.add_argument("--dequantize", action="store_true", help="score the 8-bit data as discrete, fairly")
    parser.add_argument(
        "--train-examples", type=int, default=None, help="use only the first N training digits"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a dense_vae hyperparameter"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="likelihoods", help="file stem of the outputs")
    parser.add_argument("--smoke", action="store_true", help="tiny models, 1 epoch on 128 digits: for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.iwae_k, args.iwae_examples, args.train_examples = 1, 4, 16, 128
        args.set = [*args.set, "latent_dim=2", "hidden_units=(32,)"]
    args.out.mkdir(parents=True, exist_ok=True)

    data = splits(args.test_dir, args.dequantize, args.seed)
    x = data["x"][: args.train_examples]
    settings = {
        "train_examples": len(x),
        "test": f"the official MNIST test set ({args.test_dir})"
        if args.test_dir
        else "the mnist-5k test split",
        "test_examples": min(args.iwae_examples, len(data["x_test"])),
        "zero_fraction": float(np.mean(x == 0)),
        **{
            key: getattr(args, key) for key in ("epochs", "batch_size", "iwae_k", "dequantize", "seed", "set")
        },
    }
    results: dict[str, Any] = {"machine": machine(), "settings": settings, "rows": []}
    for likelihood in args.likelihoods:
        log(f"{likelihood}: training {args.epochs} epochs on {len(x)} digits")
        row = run_likelihood(likelihood, data, args)
        results["rows"].append(row)
        log(f"{likelihood}: IWAE {row['nll_iwae']:.1f} nats, {row['seconds_per_epoch']:.2f} s/epoch")
        write_json(args.out / f"{args.name}.json", results)
    write_results(args.out, args.name, results, report(results))
    return results


if __name__ == "__main__":
    main()
