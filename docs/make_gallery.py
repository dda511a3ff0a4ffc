"""Draw every figure of docs/gallery.md and measure the two interpolation paths behind `zoo.interpolate`'s
default.

    taskset -c 0 python docs/make_gallery.py                # docs/gallery/*.png; about 100 s on an idle core
    python docs/make_gallery.py --smoke --out /tmp/gallery  # seconds: tiny models and data, same figures

At full size it trains, with seed 0 on mnist-5k's 4,500 training digits (binarized at 0.5, batch 64), a
`dense_vae` at its defaults (latent_dim 8) for 5 epochs, a `bernoulli_mixture` (K = 20) for 30 epochs and
`zoo.classifier`'s small CNN of grey-level digits for 3 epochs, then prints the measurement (a Markdown
table, copied into docs/gallery.md) and writes the PNGs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import zoo
from zoo import inference, plots
from zoo._tf import tf
from zoo.classifier import train_classifier

GALLERY = Path(__file__).resolve().parent / "gallery"
SIZES = {  # training digits, epochs (VAE, mixture, classifier: 0 for none), model sizes, test pairs measured
    "full": {"train": 4500, "epochs": (5, 30, 3), "vae": {}, "mixture": {}, "pairs": 250},
    "smoke": {
        "train": 256,
        "epochs": (1, 1, 0),
        "vae": {"hidden_units": (32,)},
        "mixture": {"components": 6},
        "pairs": 8,
    },
}
PAIRS = ((0, 1), (2, 7), (4, 9))  # interpolate from the first test digit of each class to the second's
STEPS = 9  # points per path, the ends included: the midpoint is step 4


def trained(name: str, x: np.ndarray, epochs: int, **hparams) -> zoo.ZooModel:
    """`zoo.get(name, **hparams)` fitted on binary images x for `epochs` epochs of batch 64, seed 0."""
    zoo.keras.utils.set_random_seed(0)
    model = zoo.get(name, **hparams)
    model.fit(x, x, epochs=epochs, batch_size=64, verbose=0)
    return model


def aggregate_log_density(model: zoo.ZooModel, codes: np.ndarray, x_train: np.ndarray) -> np.ndarray:
    """log q(z) = log mean_n q(z | x_n) over the training images, the density of the codes the decoder
    was trained on (the aggregate posterior), at codes [N, latent_dim]: [N]."""
    posteriors = zoo.encode(model, x_train, batch_size=len(x_train))  # batch shape [M]
    chunks = np.array_split(codes, -(-len(codes) // 128))  # [128, M] log-densities at a time
    log_q = [posteriors.log_prob(chunk[:, None]).numpy() for chunk in chunks]
    return tf.reduce_logsumexp(np.concatenate(log_q), axis=1).numpy() - np.log(len(x_train))


def measure_paths(
    model: zoo.ZooModel,
    x_test: np.ndarray,
    x_train: np.ndarray,
    classifier: zoo.keras.Model | None,
    pairs: int,
) -> dict[str, dict[str, float]]:
    """Codes along both paths between the posterior means of `pairs` pairs of test digits (digit i to digit
    pairs + i), against the encoded test digits themselves: per row, the mean over the path's inner points
    and over its midpoints of the prior log-density log p(z), the norm |z|, the share of midpoints more
    probable under p(z) than 99% of the encoded digits, the aggregate-posterior log-density log q(z), and
    two readings of the decoded mean images: a classifier's confidence (its largest class probability; not
    without a classifier) and sharpness (mean |2p - 1| over pixels: 1 for black and white, 0 for grey)."""
    prior = inference.prior(model)
    z = zoo.encode(model, x_test[: 2 * pairs]).mean().numpy()
    log_p_digits = prior.log_prob(z).numpy()

    def row(inner: np.ndarray, middle: np.ndarray) -> dict[str, float]:
        decoded = zoo.decode(model, middle).mean().numpy()
        readings = {
            "log q(z), midpoints": float(aggregate_log_density(model, middle, x_train).mean()),
            "sharpness, midpoints": float(np.abs(2 * decoded - 1).mean()),
        }
        if classifier is not None:
            confidence = classifier.predict(decoded, verbose=0).max(axis=1).mean()
            readings["classifier confidence, midpoints"] = float(confidence)
        return {
            "log p(z), inner points": float(prior.log_prob(inner).numpy().mean()),
            "log p(z), midpoints": float(prior.log_prob(middle).numpy().mean()),
            "norm of z, midpoints": float(np.linalg.norm(middle, axis=1).mean()),
            "midpoints above 99% of digits": float(
                np.mean(prior.log_prob(middle).numpy() > np.percentile(log_p_digits, 99))
            ),
            **readings,
        }

    rows = {"encoded test digits": row(z, z)}
    for path in ("linear", "slerp"):
        codes = inference.interpolate_codes(z[:pairs], z[pairs : 2 * pairs], STEPS, path)
        rows[path] = row(codes[:, 1:-1].reshape(-1, z.shape[1]), codes[:, STEPS // 2])
    return rows


def markdown(rows: dict[str, dict[str, float]]) -> str:
    """The measurement as a Markdown table, one column per row of `measure_paths`."""
    names = list(rows)
    lines = ["| | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for key in rows[names[0]]:
        lines.append(f"| {key} | " + " | ".join(f"{rows[name][key]:.3g}" for name in names) + " |")
    return "\n".join(lines)


def first_of(y: np.ndarray, digits: list[int]) -> np.ndarray:
    """The index of the first image of each digit in labels y [N]."""
    return np.array([int(np.flatnonzero(y == digit)[0]) for digit in digits])


def ink_quartiles(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks [N] of the boldest and the thinnest quarter of each digit class (ink = pixel sum), so
    that both sets hold every class in the same proportion and only the stroke width tells them apart."""
    ink = x.reshape(len(x), -1).sum(axis=1)
    bold, thin = np.zeros(len(x), bool), np.zeros(len(x), bool)
    for digit in np.unique(y):
        mine = y == digit
        low, high = np.percentile(ink[mine], [25, 75])
        bold |= mine & (ink >= high)
        thin |= mine & (ink <= low)
    return bold, thin


def interpolations(vae: zoo.ZooModel, x_test: np.ndarray, y_test: np.ndarray) -> Figure:
    """Both paths between the same pairs of test digits, linear above slerp: one figure from two calls
    of `plots.interpolations` (`ax=`)."""
    x_a = x_test[first_of(y_test, [a for a, _ in PAIRS])]
    x_b = x_test[first_of(y_test, [b for _, b in PAIRS])]
    fig = Figure(figsize=(7.4, 5.0), layout="constrained")
    for ax, path in zip(fig.subplots(2, 1), ("linear", "slerp"), strict=True):
        plots.interpolations(vae, x_a, x_b, steps=STEPS, path=path, ax=ax)
    return fig


def main(argv: list[str] | None = None) -> dict[str, Path]:
    """Train, measure, draw; returns the PNGs written, by figure name."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny models and data: a check that it runs")
    parser.add_argument("--out", type=Path, default=GALLERY, help=f"folder of the PNGs (default {GALLERY})")
    args = parser.parse_args(argv)
    size = SIZES["smoke" if args.smoke else "full"]
    start = time.perf_counter()
    x_grey, y_train = (a[: size["train"]] for a in zoo.data.load("mnist-5k", split="train"))
    x_train = zoo.data.binarize_images(x_grey)
    x_test, y_test = zoo.data.load("mnist-5k", split="test", binarize=True)
    vae_epochs, mixture_epochs, classifier_epochs = size["epochs"]
    vae = trained("dense_vae", x_train, vae_epochs, **size["vae"])
    mixture = trained("bernoulli_mixture", x_train, mixture_epochs, **size["mixture"])
    classifier = train_classifier(x_grey, y_train, classifier_epochs) if classifier_epochs else None

    print(f"Paths between {size['pairs']} pairs of encoded mnist-5k test digits ({STEPS} points each):\n")
    print(markdown(measure_paths(vae, x_test, x_train, classifier, size["pairs"])) + "\n")

    bold, thin = ink_quartiles(x_train, y_train)
    bolder = zoo.attribute_vector(vae, x_train[bold], x_train[thin])
    test_thin = np.flatnonzero(ink_quartiles(x_test, y_test)[1])[:5]
    figures = {
        "decoder_outputs": plots.decoder_outputs(vae, n=10, seed=0),
        "interpolations": interpolations(vae, x_test, y_test),
        "attribute_walk": plots.attribute_walk(vae, x_test[test_thin], bolder, steps=6, scale=2.0),
        "prototypes": plots.prototypes(mixture, n=10, seed=0),
        "nearest_neighbours": plots.nearest_neighbours(vae, x_train, n=10, seed=0),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    written = {name: Path(plots.save_png(fig, args.out / f"{name}.png")) for name, fig in figures.items()}
    print(f"wrote {len(written)} figures to {args.out} in {time.perf_counter() - start:.0f} s")
    return written


if __name__ == "__main__":
    main()
