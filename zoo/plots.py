"""Figures for a trained model. Each function returns a matplotlib `Figure`; `save_png(fig, path)` writes it.

The figures use matplotlib's object API (no `pyplot`, no global state), so they work headless (PNGs are
rendered by Agg) and leave no figures open; in a notebook, a returned Figure displays itself.

>>> fig = samples(model, n=40, seed=0)
>>> save_png(fig, "samples.png")

Images are shown as one tiled picture per figure (white gaps between images), grey for one channel, RGB
for three; values are clipped to [0, 1] (a Gaussian decoder's means may leave it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from zoo import checks, inference
from zoo.model import ZooModel

PROJECTIONS = ("pca", "first")
_INCHES_PER_IMAGE = 0.6


def _tile(grid: np.ndarray) -> np.ndarray:
    """Images [R, C, H, W, ch] -> one picture [R * (H + 1) - 1, C * (W + 1) - 1(, ch)], 1-pixel white gaps."""
    grid = np.clip(np.asarray(grid, dtype=np.float32), 0, 1)
    rows, cols, height, width, channels = grid.shape
    padded = np.pad(grid, ((0, 0), (0, 0), (0, 1), (0, 1), (0, 0)), constant_values=1.0)
    picture = padded.transpose(0, 2, 1, 3, 4).reshape(rows * (height + 1), cols * (width + 1), channels)
    picture = picture[:-1, :-1]
    return picture[..., 0] if channels == 1 else picture


def _centres(count: int, size: int) -> np.ndarray:
    """Where the centres of `count` tiles of `size` pixels (plus a 1-pixel gap) fall in the picture."""
    return np.arange(count) * (size + 1) + size / 2


def _tiled_figure(
    grid: np.ndarray,
    title: str | None = None,
    column_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """A figure showing images [R, C, H, W, ch] as an R x C grid, with optional labels per row/column."""
    rows, cols, height, width = grid.shape[:4]
    fig = Figure(
        figsize=(cols * _INCHES_PER_IMAGE + (1.6 if row_labels else 0.6), rows * _INCHES_PER_IMAGE + 0.8),
        layout="constrained",
    )
    ax = fig.add_subplot()
    ax.imshow(_tile(grid), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(_centres(cols, width) if column_labels else [], column_labels or [])
    ax.set_yticks(_centres(rows, height) if row_labels else [], row_labels or [])
    ax.xaxis.tick_top()
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def _as_batch(images: np.ndarray) -> np.ndarray:
    """[N, H, W] or [N, H, W, C] -> [N, H, W, C]."""
    images = np.asarray(images)
    return images[..., None] if images.ndim == 3 else images


def image_grid(images: np.ndarray, ncols: int = 10, title: str | None = None) -> Figure:
    """A grid of images [N, H, W, C] (or [N, H, W]) with values in [0, 1], ncols per row."""
    ncols = checks.integer("ncols", ncols)
    images = _as_batch(images)
    nrows = -(-len(images) // ncols)
    blank = np.ones((nrows * ncols - len(images), *images.shape[1:]), images.dtype)
    grid = np.concatenate([images, blank]).reshape(nrows, ncols, *images.shape[1:])
    return _tiled_figure(grid, title)


def _first(labels: Any, n: int) -> Any:
    """The labels of the first n images: one label stays as it is."""
    return labels if labels is None or np.ndim(labels) == 0 else np.asarray(labels)[:n]


def reconstructions(model: ZooModel, x: np.ndarray, labels: Any = None, n: int = 10) -> Figure:
    """Top row: the first n images of x [N, H, W, C]; bottom row: their reconstructions (decoded posterior
    means, shown as pixel probabilities). Conditional models need `labels`."""
    n = checks.integer("n", n)
    x = np.asarray(x)[:n]
    recon = inference.reconstruct(model, x, _first(labels, n))
    return _tiled_figure(
        np.stack([x, recon]),
        title=f"{model.zoo_name}: reconstructions",
        row_labels=["original", "reconstruction"],
    )


def samples(model: ZooModel, n: int = 40, labels: Any = None, seed: int = 0) -> Figure:
    """n images decoded from z ~ p(z), 10 per row; conditional models cycle through the classes unless
    given labels (one, or n)."""
    n = checks.integer("n", n)
    if model.is_conditional and labels is None:
        labels = np.arange(n) % model.num_classes
    images = inference.sample(model, n, labels=labels, seed=seed)
    return image_grid(images, ncols=10, title=f"{model.zoo_name}: samples from the prior")


def _project(means: np.ndarray, projection: str) -> tuple[np.ndarray, list[str]]:
    """Codes [N, D] -> points [N, 2] and the names of the two axes."""
    if means.shape[1] == 2 or projection == "first":
        return means[:, :2], ["z[0]", "z[1]"]
    centred = means - means.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    share = singular**2 / max(float((singular**2).sum()), np.finfo(np.float32).tiny)
    return centred @ components[:2].T, [f"PC {i + 1} ({share[i]:.0%} of variance)" for i in range(2)]


def latent_scatter(model: ZooModel, x: np.ndarray, labels: Any = None, projection: str = "pca") -> Figure:
    """The posterior means E_q[z] of images x [N, H, W, C], one dot each, coloured by `labels` [N] if given.

    A 2-D code is drawn as is. A larger one is projected: "pca" onto its first two principal components
    (the axis labels give the share of variance each explains), "first" onto z[0] and z[1]. A conditional
    model also encodes x with `labels` (required there).
    """
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}; got {projection!r}.")
    if inference.latent_dim(model) < 2:
        raise ValueError(
            f"latent_scatter needs latent_dim >= 2; {model.zoo_name} has {inference.latent_dim(model)}."
        )
    means = inference.encode(model, x, model.labels_or_none(labels)).mean().numpy()
    points, axis_names = _project(means, projection)
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.7)
    else:
        colours = inference.labels_for(model, labels, len(means)) if model.is_conditional else labels
        dots = ax.scatter(points[:, 0], points[:, 1], c=np.asarray(colours).reshape(-1), cmap="tab10", s=6)
        ax.legend(*dots.legend_elements(), title="label", loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(f"{model.zoo_name}: posterior means of {len(points)} images")
    return fig


def _prior_quantiles(model: ZooModel, probabilities: np.ndarray, seed: int) -> np.ndarray:
    """The prior's marginal inverse CDF at `probabilities` [n], per latent dimension: [n, latent_dim].

    Estimated from 20,000 seeded draws of p(z), so it holds for any prior, a learned mixture too.
    """
    draws = inference.prior(model).sample(20_000, seed=inference.stateless_seeds(seed, 1)[0]).numpy()
    return np.quantile(draws, probabilities, axis=0)


def latent_manifold(model: ZooModel, n: int = 15, labels: Any = None, seed: int = 0) -> Figure:
    """For a 2-D code: an n x n grid of images decoded from z on the prior's quantiles 5%..95% per
    dimension (Kingma & Welling 2014, fig. 4): z[0] grows left to right, z[1] bottom to top. A conditional
    model decodes every z with `labels` (one class id)."""
    n = checks.integer("n", n, 2)
    if inference.latent_dim(model) != 2:
        raise ValueError(
            f"latent_manifold needs a 2-D code; {model.zoo_name} has latent_dim={inference.latent_dim(model)}. "
            f"Build it with zoo.get('{model.zoo_name}', latent_dim=2), or use latent_scatter."
        )
    grid = _prior_quantiles(model, np.linspace(0.05, 0.95, n), seed)  # [n, 2]
    z = np.stack(np.meshgrid(grid[:, 0], grid[::-1, 1]), axis=-1).reshape(-1, 2)  # row-major, top row first
    images = inference.decode(model, z, labels).mean().numpy()
    return _tiled_figure(
        images.reshape(n, n, *images.shape[1:]),
        title=f"{model.zoo_name}: decoded latent grid",
        xlabel="z[0] (prior quantiles 5% to 95%)",
        ylabel="z[1] (95% at the top to 5%)",
    )


def label_style_grid(
    model: ZooModel, n: int = 8, x: np.ndarray | None = None, labels: Any = None, seed: int = 0
) -> Figure:
    """A conditional model's label x style grid: each row keeps one z (a handwriting style) and decodes it
    with every class in turn (Kingma et al. 2014, fig. 1).

    The n styles are drawn from the prior (seeded), or, given images x [N, H, W, C] and their `labels`, are
    the posterior means of the first n images, which are shown in a first column.
    """
    if not model.is_conditional:
        raise ValueError(
            f"label_style_grid needs a conditional model such as zoo.get('cvae'); {model.zoo_name} is not."
        )
    n = checks.integer("n", n)
    classes = model.num_classes
    if x is None:
        z = inference.prior(model).sample(n, seed=inference.stateless_seeds(seed, 1)[0]).numpy()
    else:
        x = np.asarray(x)[:n]
        z = inference.encode(model, x, _first(labels, n)).mean().numpy()
    images = inference.decode(
        model, np.repeat(z, classes, axis=0), np.tile(np.arange(classes), len(z))
    ).mean()
    grid = images.numpy().reshape(len(z), classes, *images.shape[1:])
    column_labels = [str(c) for c in range(classes)]
    if x is not None:
        grid, column_labels = np.concatenate([x[:, None], grid], axis=1), ["input", *column_labels]
    return _tiled_figure(
        grid,
        title=f"{model.zoo_name}: same z per row, each label",
        column_labels=column_labels,
        ylabel="style",
    )


def interpolations(
    model: ZooModel, x_a: np.ndarray, x_b: np.ndarray, steps: int = 10, labels: Any = None
) -> Figure:
    """One strip per pair: x_a[i], then `steps` images decoded along the line between the posterior means
    of x_a[i] and x_b[i], then x_b[i]. x_a, x_b: images [N, H, W, C] (or one image [H, W, C] each)."""
    strips = inference.interpolate(model, x_a, x_b, steps=steps, labels=labels)
    x_a, x_b = (np.asarray(x).reshape(-1, *strips.shape[-3:]) for x in (x_a, x_b))
    strips = strips.reshape(len(x_a), steps, *strips.shape[-3:])
    grid = np.concatenate([x_a[:, None], strips, x_b[:, None]], axis=1)
    column_labels = ["x_a", *(f"{t:.2g}" for t in np.linspace(0, 1, steps)), "x_b"]
    return _tiled_figure(grid, title=f"{model.zoo_name}: latent interpolations", column_labels=column_labels)


def training_curves(history: Any) -> Figure:
    """One panel per metric of a Keras `History` (or its `.history` dict, e.g. from history.json): the
    training curve, and the validation curve (`val_` + name) dashed when there is one, against the epoch."""
    curves: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    names = [name for name in curves if not name.startswith("val_")]
    if not names or not all(len(curves[name]) for name in names):
        raise ValueError("training_curves needs a History (or dict) with at least one epoch of a metric.")
    fig = Figure(figsize=(4 * len(names), 3.2), layout="constrained")
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        epochs = np.arange(1, len(curves[name]) + 1)
        ax.plot(epochs, curves[name], marker=".", label="train")
        if f"val_{name}" in curves:
            ax.plot(epochs, curves[f"val_{name}"], marker=".", linestyle="--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    return fig


def comparison(
    rows: Sequence[Mapping[str, Any]], metrics: Sequence[str] = ("neg_elbo", "nll_iwae")
) -> Figure:
    """Horizontal bars of each model's held-out `metrics` (nats per example; lower is better) from
    `zoo.compare.compare`'s rows; a metric a model does not define (NaN) gets no bar."""
    if not rows:
        raise ValueError("comparison needs at least one row from zoo.compare.compare.")
    names = [str(row["name"]) for row in rows]
    fig = Figure(figsize=(6.5, 0.45 * len(rows) * len(metrics) + 1.2), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        values = np.array([float(row.get(metric, np.nan)) for row in rows])
        ax.barh(
            np.arange(len(rows)) + i * height, np.nan_to_num(values, nan=0.0), height=height, label=metric
        )
    ax.set_yticks(np.arange(len(rows)) + height * (len(metrics) - 1) / 2, names)
    ax.invert_yaxis()
    ax.set_xlabel("nats per example (lower is better)")
    ax.legend()
    return fig


def confusion_matrix(
    confusion: np.ndarray,
    title: str | None = None,
    xlabel: str = "digit the classifier read",
    ylabel: str = "requested digit",
) -> Figure:
    """A confusion matrix as a heat map, each cell showing its count: counts [K, K] (rows = the requested
    label, columns = the label read, as `zoo.classifier.label_accuracy` returns them). Colours are each
    row's fractions, so rows of different sizes compare; the title gives the overall accuracy."""
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or confusion.shape[0] == 0:
        raise ValueError(
            f"confusion_matrix needs a square matrix of counts [K, K]; got shape {confusion.shape}."
        )
    if not np.all(np.isfinite(confusion)) or confusion.min() < 0 or confusion.sum() == 0:
        raise ValueError("confusion_matrix needs non-negative, finite counts, not all zero.")
    classes = confusion.shape[0]
    fractions = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(0.45 * classes + 2.2, 0.45 * classes + 1.2), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for row in range(classes):
        for col in range(classes):
            if confusion[row, col]:
                colour = "white" if fractions[row, col] > 0.5 else "black"
                ax.text(
                    col, row, f"{confusion[row, col]:g}", ha="center", va="center", fontsize=7, color=colour
                )
    ax.set_xticks(np.arange(classes), [str(c) for c in range(classes)])
    ax.set_yticks(np.arange(classes), [str(c) for c in range(classes)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(image, ax=ax, label="fraction of the row")
    accuracy = np.trace(confusion) / confusion.sum()
    ax.set_title(f"{title + ': ' if title else ''}{accuracy:.1%} read as requested", fontsize=10)
    return fig


def save_png(fig: Figure, path: str | os.PathLike) -> str:
    """Write `fig` as a PNG at `path` and return the path."""
    fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
    return os.fspath(path)
