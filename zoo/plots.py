"""Figures for a trained model. Each function returns a matplotlib `Figure`; `save_png(fig, path)` writes it.

The figures use matplotlib's object API (no `pyplot`, no global state), so they work headless (PNGs are
rendered by Agg) and leave no figures open; in a notebook, a returned Figure displays itself.

>>> fig = samples(model, n=40, seed=0)
>>> save_png(fig, "samples.png")

Every function also draws into a figure of yours: a one-panel figure takes `ax=` (a matplotlib Axes), a
multi-panel one `fig=` (a Figure, or a SubFigure from `fig.subfigures`); it then returns the Figure that
holds them, so one figure composes several plots:

>>> fig = Figure(figsize=(12, 3), layout="constrained")
>>> left, right = fig.subplots(1, 2)
>>> samples(model, n=20, ax=left) is interpolations(model, x[0], x[1], ax=right) is fig
True

Images are shown as one tiled picture per figure (white gaps between images), grey for one channel, RGB
for three; values are clipped to [0, 1] (a Gaussian decoder's means may leave it).

A model built on vectors [N, D] (a table's rows, `input_shape=(D,)`) has `latent_scatter`,
`feature_reconstructions` and `training_curves`; the plots that draw images raise a ValueError naming
themselves.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from zoo import checks, data, inference
from zoo import layers as zl
from zoo.model import ZooModel, layers_of_type

PROJECTIONS = ("pca", "first")
_INCHES_PER_IMAGE = 0.6


def _root(artist: Axes | Figure | SubFigure) -> Figure:
    """The Figure that holds an Axes, a SubFigure or a Figure (a SubFigure's `.figure` is its root)."""
    parent = artist if isinstance(artist, SubFigure) else artist.figure
    return parent.figure if isinstance(parent, SubFigure) else parent


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Where a one-panel plot draws: `ax` and the Figure holding it, or a new Figure of `figsize` inches."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    return _root(ax), ax


def _panels(
    fig: Figure | SubFigure | None, figsize: tuple[float, float]
) -> tuple[Figure | SubFigure, Figure]:
    """Where a multi-panel plot adds its panels (`fig`, or a new Figure of `figsize` inches), and the Figure
    it returns."""
    if fig is None:
        fig = Figure(figsize=figsize, layout="constrained")
    return fig, _root(fig)


def _needs_images(model: ZooModel, plot: str) -> None:
    """Raise a ValueError naming `plot` if `model` takes vectors, not images."""
    if data.takes_vectors(model):
        raise ValueError(
            f"{plot} draws images, and {model.zoo_name} takes vectors [N, {model.inputs[0].shape[-1]}]. For "
            "vectors use zoo.plots.feature_reconstructions, latent_scatter or training_curves."
        )


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
    ax: Axes | None = None,
) -> Figure:
    """Images [R, C, H, W, ch] as an R x C grid in one panel (`ax`, or a new figure sized to the grid), with
    optional labels per row/column; returns the Figure."""
    rows, cols, height, width = grid.shape[:4]
    figsize = (cols * _INCHES_PER_IMAGE + (1.6 if row_labels else 0.6), rows * _INCHES_PER_IMAGE + 0.8)
    fig, ax = _axes(ax, figsize)
    ax.imshow(_tile(grid), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(_centres(cols, width) if column_labels else [], column_labels or [])
    ax.set_yticks(_centres(rows, height) if row_labels else [], row_labels or [])
    ax.xaxis.tick_top()
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return fig


def _as_batch(images: np.ndarray) -> np.ndarray:
    """[N, H, W] or [N, H, W, C] -> [N, H, W, C]."""
    images = np.asarray(images)
    return images[..., None] if images.ndim == 3 else images


def image_grid(
    images: np.ndarray, ncols: int = 10, title: str | None = None, ax: Axes | None = None
) -> Figure:
    """A grid of images [N, H, W, C] (or [N, H, W]) with values in [0, 1], ncols per row."""
    ncols = checks.integer("ncols", ncols)
    images = _as_batch(images)
    if images.ndim != 4:
        raise ValueError(
            f"image_grid draws images [N, H, W] or [N, H, W, C]; got an array of shape {images.shape}. Rows "
            "of a table (vectors) are no images: see zoo.plots.feature_reconstructions."
        )
    nrows = -(-len(images) // ncols)
    blank = np.ones((nrows * ncols - len(images), *images.shape[1:]), images.dtype)
    grid = np.concatenate([images, blank]).reshape(nrows, ncols, *images.shape[1:])
    return _tiled_figure(grid, title, ax=ax)


def _first(labels: Any, n: int) -> Any:
    """The labels of the first n images: one label stays as it is."""
    return labels if labels is None or np.ndim(labels) == 0 else np.asarray(labels)[:n]


def reconstructions(
    model: ZooModel, x: np.ndarray, labels: Any = None, n: int = 10, ax: Axes | None = None
) -> Figure:
    """Top row: the first n images of x [N, H, W, C]; bottom row: their reconstructions (decoded posterior
    means, shown as pixel probabilities). Conditional models need `labels`."""
    n = checks.integer("n", n)
    _needs_images(model, "reconstructions")
    x = np.asarray(x)[:n]
    recon = inference.reconstruct(model, x, _first(labels, n))
    return _tiled_figure(
        np.stack([x, recon]),
        title=f"{model.zoo_name}: reconstructions",
        row_labels=["original", "reconstruction"],
        ax=ax,
    )


def _labels_to_draw(model: ZooModel, n: int, labels: Any) -> Any:
    """The labels n new images are drawn with: `labels` (one, or n), or for a conditional model given none
    the classes in turn (0, 1, ..., 9, 0, ...)."""
    if model.is_conditional and labels is None:
        return np.arange(n) % model.num_classes
    return labels


def samples(
    model: ZooModel, n: int = 40, labels: Any = None, seed: int = 0, ax: Axes | None = None
) -> Figure:
    """n images decoded from z ~ p(z), 10 per row; conditional models cycle through the classes unless
    given labels (one, or n)."""
    n = checks.integer("n", n)
    _needs_images(model, "samples")
    images = inference.sample(model, n, labels=_labels_to_draw(model, n, labels), seed=seed)
    return image_grid(images, ncols=10, title=f"{model.zoo_name}: samples from the prior", ax=ax)


def _project(means: np.ndarray, projection: str) -> tuple[np.ndarray, list[str]]:
    """Codes [N, D] -> points [N, 2] and the names of the two axes."""
    if means.shape[1] == 2 or projection == "first":
        return means[:, :2], ["z[0]", "z[1]"]
    centred = means - means.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    share = singular**2 / max(float((singular**2).sum()), np.finfo(np.float32).tiny)
    return centred @ components[:2].T, [f"PC {i + 1} ({share[i]:.0%} of variance)" for i in range(2)]


def latent_scatter(
    model: ZooModel, x: np.ndarray, labels: Any = None, projection: str = "pca", ax: Axes | None = None
) -> Figure:
    """The posterior means E_q[z] of images x [N, H, W, C] (or vectors [N, D]), one dot each, coloured by
    `labels` [N] if given.

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
    fig, ax = _axes(ax, (5.5, 4.5))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.7)
    else:
        colours = inference.labels_for(model, labels, len(means)) if model.is_conditional else labels
        dots = ax.scatter(points[:, 0], points[:, 1], c=np.asarray(colours).reshape(-1), cmap="tab10", s=6)
        ax.legend(*dots.legend_elements(), title="label", loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    examples = "rows" if data.takes_vectors(model) else "images"
    ax.set_title(f"{model.zoo_name}: posterior means of {len(points)} {examples}")
    return fig


def _prior_quantiles(model: ZooModel, probabilities: np.ndarray, seed: int) -> np.ndarray:
    """The prior's marginal inverse CDF at `probabilities` [n], per latent dimension: [n, latent_dim].

    Estimated from 20,000 seeded draws of p(z), so it holds for any prior, a learned mixture too.
    """
    return np.quantile(_prior_codes(model, 20_000, seed), probabilities, axis=0)


def _prior_codes(model: ZooModel, n: int, seed: int) -> np.ndarray:
    """n seeded draws z ~ p(z) from the model's own prior: [n, latent_dim]."""
    return inference.prior(model).sample(n, seed=inference.stateless_seeds(seed, 1)[0]).numpy()


def latent_manifold(
    model: ZooModel, n: int = 15, labels: Any = None, seed: int = 0, ax: Axes | None = None
) -> Figure:
    """For a 2-D code: an n x n grid of images decoded from z on the prior's quantiles 5%..95% per
    dimension (Kingma & Welling 2014, fig. 4): z[0] grows left to right, z[1] bottom to top. A conditional
    model decodes every z with `labels` (one class id)."""
    n = checks.integer("n", n, 2)
    _needs_images(model, "latent_manifold")
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
        ax=ax,
    )


def label_style_grid(
    model: ZooModel,
    n: int = 8,
    x: np.ndarray | None = None,
    labels: Any = None,
    seed: int = 0,
    ax: Axes | None = None,
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
    _needs_images(model, "label_style_grid")
    classes = model.num_classes
    if x is None:
        z = _prior_codes(model, n, seed)
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
        ax=ax,
    )


def interpolations(
    model: ZooModel,
    x_a: np.ndarray,
    x_b: np.ndarray,
    steps: int = 10,
    labels: Any = None,
    path: str = "slerp",
    ax: Axes | None = None,
) -> Figure:
    """One strip per pair: x_a[i], then `steps` images decoded along the path between the posterior means
    of x_a[i] and x_b[i], then x_b[i]. x_a, x_b: images [N, H, W, C] (or one image [H, W, C] each). `path`
    is "slerp" (the great circle, White 2016) or "linear", as in `zoo.interpolate`."""
    _needs_images(model, "interpolations")
    strips = inference.interpolate(model, x_a, x_b, steps=steps, labels=labels, path=path)
    x_a, x_b = (np.asarray(x).reshape(-1, *strips.shape[-3:]) for x in (x_a, x_b))
    strips = strips.reshape(len(x_a), steps, *strips.shape[-3:])
    grid = np.concatenate([x_a[:, None], strips, x_b[:, None]], axis=1)
    column_labels = ["x_a", *(f"{t:.2g}" for t in np.linspace(0, 1, steps)), "x_b"]
    title = f"{model.zoo_name}: latent interpolations ({path})"
    return _tiled_figure(grid, title=title, column_labels=column_labels, ax=ax)


def attribute_walk(
    model: ZooModel,
    x: np.ndarray,
    vector: np.ndarray,
    steps: int = 6,
    scale: float = 1.5,
    labels: Any = None,
    ax: Axes | None = None,
) -> Figure:
    """Latent attribute arithmetic (White 2016, sec. 2.3): one row per image of x [N, H, W, C] (or one
    image [H, W, C]): the image, then its posterior-mean code z moved to z + a * vector for `steps` amounts
    a from 0 to `scale` (negative: away from the attribute), decoded (mean images).

    vector: a direction [latent_dim], e.g. `zoo.attribute_vector(model, x_with, x_without)`. A
    conditional model encodes and decodes x with `labels`.
    """
    steps = checks.integer("steps", steps, 2)
    scale = checks.number("scale", scale, low=-math.inf)
    _needs_images(model, "attribute_walk")
    vector = np.asarray(vector, dtype=np.float32)
    size = inference.latent_dim(model)
    if vector.shape != (size,):
        raise ValueError(
            f"attribute_walk needs a vector of shape [latent_dim] = [{size}] for {model.zoo_name}; got shape "
            f"{vector.shape}. Make one with zoo.attribute_vector(model, x_with, x_without)."
        )
    x = _as_batch(np.asarray(x)[None] if np.ndim(x) == len(model.inputs[0].shape) - 1 else x)
    labels = inference.labels_for(model, _first(labels, len(x)), len(x))  # class ids [N], or None
    codes = inference.encode(model, x, labels).mean().numpy()  # [N, latent_dim]
    amounts = np.linspace(0.0, scale, steps, dtype=np.float32)
    moved = (codes[:, None] + amounts[None, :, None] * vector).reshape(-1, size)  # [N * steps, latent_dim]
    moved_labels = None if labels is None else np.repeat(labels, steps)
    images = inference.decode(model, moved, moved_labels).mean().numpy()
    grid = np.concatenate([x[:, None], images.reshape(len(x), steps, *images.shape[1:])], axis=1)
    return _tiled_figure(
        grid,
        title=f"{model.zoo_name}: z + a × attribute vector",
        column_labels=["input", *(f"a={a:.2g}" for a in amounts)],
        ax=ax,
    )


def decoder_outputs(
    model: ZooModel, n: int = 10, labels: Any = None, seed: int = 0, fig: Figure | SubFigure | None = None
) -> Figure:
    """The decoder's three outputs for the same n codes z ~ p(z), one titled row each: a sample x ~ p(x|z),
    its mean E[x|z] (pixel probabilities for Bernoulli pixels) and its mode (the most probable image):
    what `zoo.sample(model, n, mode=...)` returns for "sample", "mean" and "mode" with one seed. A
    conditional model draws with `labels` (one, or n; the classes in turn when None).
    """
    n = checks.integer("n", n)
    if not model.has_latent_code:
        raise ValueError(
            f"decoder_outputs shows p(x|z) for codes z ~ p(z); {model.zoo_name} has no latent code z (nor a "
            "decoder). For a bernoulli_mixture use zoo.plots.prototypes(model)."
        )
    _needs_images(model, "decoder_outputs")
    labels = _labels_to_draw(model, n, labels)
    fig, root = _panels(fig, (n * _INCHES_PER_IMAGE + 0.6, 3 * _INCHES_PER_IMAGE + 1.9))
    titles = {
        "sample": "a sample x ~ p(x|z)",
        "mean": "its mean E[x|z]",
        "mode": "its mode (the most probable x)",
    }
    for ax, (mode, title) in zip(fig.subplots(3, 1), titles.items(), strict=True):
        images = inference.sample(model, n, labels=labels, mode=mode, seed=seed)  # same seed: the same z
        _tiled_figure(images[None], title=title, ax=ax)
    fig.suptitle(f"{model.zoo_name}: the decoder's three outputs for the same {n} codes z ~ p(z)")
    return root


def prototypes(
    model: ZooModel, n: int = 10, seed: int = 0, ncols: int = 10, fig: Figure | SubFigure | None = None
) -> Figure:
    """A `bernoulli_mixture`'s K component means (prototype images of pixel probabilities), heaviest first
    and ncols per row, each titled with its mixture weight pi_k (the weights sum to 1), above n samples
    x ~ p(x) (Bishop 2006, fig. 9.10). K + 1 panels: one per component, one for the samples."""
    n, ncols = checks.integer("n", n), checks.integer("ncols", ncols)
    layers = layers_of_type(model, zl.BernoulliMixture)
    if not layers:
        raise ValueError(
            f"prototypes draws the components of a mixture model such as zoo.get('bernoulli_mixture'); "
            f"{getattr(model, 'zoo_name', type(model).__name__)} has no mixture components."
        )
    _needs_images(model, "prototypes")
    mixture = layers[0].mixture()
    weights = mixture.mixture_distribution.probs_parameter().numpy()  # [K]
    means = mixture.components_distribution.mean().numpy()  # [K, H, W, C]
    ncols = min(ncols, len(weights))
    nrows = -(-len(weights) // ncols)
    fig, root = _panels(fig, (ncols * 0.9 + 0.4, (nrows + 1) * 1.1 + 0.6))
    grid = fig.add_gridspec(nrows + 1, ncols)
    for panel, k in enumerate(np.argsort(-weights, kind="stable")):
        ax = fig.add_subplot(grid[panel // ncols, panel % ncols])
        _tiled_figure(means[k][None, None], ax=ax)
        ax.set_title(f"π = {weights[k]:.3f}", fontsize=8)
    drawn = inference.sample(model, n, mode="sample", seed=seed)
    _tiled_figure(drawn[None], title=f"{n} samples x ~ p(x)", ax=fig.add_subplot(grid[nrows, :]))
    fig.suptitle(f"{model.zoo_name}: {len(weights)} component means and their mixture weights")
    return root


def nearest_training_images(images: np.ndarray, x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each image [N, H, W, C], the index of the closest image of x_train [M, H, W, C] (Euclidean in
    pixel space) and that distance: int64 [N], float64 [N]."""
    flat, train = (np.asarray(a, dtype=np.float32).reshape(len(a), -1) for a in (images, x_train))
    train_norms = np.einsum("ij,ij->i", train, train)
    index = np.empty(len(flat), np.int64)
    for start in range(0, len(flat), 64):  # squared distances up to a constant, [64, M] at a time
        index[start : start + 64] = (train_norms - 2 * flat[start : start + 64] @ train.T).argmin(axis=1)
    distance = np.linalg.norm(flat.astype(np.float64) - train[index], axis=1)  # exact: 0 for a copy
    return index, distance


def nearest_neighbours(
    model_or_samples: ZooModel | np.ndarray,
    x_train: np.ndarray,
    n: int = 10,
    labels: Any = None,
    seed: int = 0,
    ncols: int = 5,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """A memorization check: each of n generated images (left) beside its nearest training image (right,
    Euclidean distance in pixel space, given in the panel's title), one panel per pair, ncols per row.

    model_or_samples: a generative model (n images are drawn as in `samples`: mean images, seeded; a
    conditional model with `labels`, or the classes in turn) or images [N, H, W, C] (the first n are used).
    x_train: the images it trained on [M, H, W, C]. A copy of a training image shows d = 0.
    """
    n, ncols = checks.integer("n", n), checks.integer("ncols", ncols)
    if isinstance(model_or_samples, ZooModel):
        _needs_images(model_or_samples, "nearest_neighbours")
        name = model_or_samples.zoo_name
        drawn = inference.sample(
            model_or_samples, n, labels=_labels_to_draw(model_or_samples, n, labels), seed=seed
        )
    else:
        name, drawn = "samples", _as_batch(model_or_samples)[:n]
    x_train = _as_batch(x_train)
    if len(drawn) == 0 or len(x_train) == 0 or drawn.shape[1:] != x_train.shape[1:] or drawn.ndim != 4:
        raise ValueError(
            "nearest_neighbours compares non-empty batches of images of one shape [N, H, W, C]; got "
            f"samples of shape {drawn.shape} and x_train of shape {x_train.shape}."
        )
    index, distance = nearest_training_images(drawn, x_train)
    ncols = min(ncols, len(drawn))
    nrows = -(-len(drawn) // ncols)
    fig, root = _panels(fig, (ncols * 1.3 + 0.4, nrows * 1.0 + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(drawn) :]:  # the last row's empty places
        ax.remove()
    for ax, image, neighbour, d in zip(axes, drawn, x_train[index], distance, strict=False):
        _tiled_figure(np.stack([image, neighbour])[None], ax=ax)
        ax.set_title(f"d = {d:.2f}", fontsize=8)
    fig.suptitle(f"{name}: each sample (left) beside its nearest training image (right)")
    return root


def feature_reconstructions(
    model: ZooModel,
    x: np.ndarray,
    labels: Any = None,
    n: int = 4,
    feature_names: Sequence[str] | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """Reconstructions of vectors, one panel per row of x [N, D] (the first n): the row's features as bars,
    its reconstruction (the mean of p(x|z) at the posterior mean z, as `zoo.reconstruct` gives it) as a
    line, with +- one standard deviation of p(x|z) as error bars. Values as the model sees them (standardized
    features: `Standardizer.inverse_transform` maps them back). `feature_names` [D] label the x axis;
    conditional models need `labels`.
    """
    n = checks.integer("n", n)
    if not data.takes_vectors(model):
        raise ValueError(
            f"feature_reconstructions draws vectors, and {model.zoo_name} takes images: use "
            "zoo.plots.reconstructions(model, x)."
        )
    x = np.asarray(x)[:n]
    if feature_names is not None and len(feature_names) != model.inputs[0].shape[-1]:
        raise ValueError(
            f"feature_reconstructions got {len(feature_names)} feature_names for "
            f"{model.inputs[0].shape[-1]} features."
        )
    labels = inference.labels_for(model, _first(labels, len(x)), len(x))
    codes = inference.encode(model, x, labels).mean()
    likelihood = inference.decode(model, codes, labels)
    means, spreads = likelihood.mean().numpy(), likelihood.stddev().numpy()
    features = np.arange(x.shape[1])
    fig, root = _panels(fig, (max(6.0, 0.3 * len(features) + 2.0), 1.7 * len(x) + 1.2))
    axes = fig.subplots(len(x), 1, sharex=True, squeeze=False)[:, 0]
    for i, ax in enumerate(axes):
        ax.bar(features, x[i], color="lightgrey", label="original")
        ax.errorbar(features, means[i], yerr=spreads[i], marker=".", capsize=2, label="reconstruction ± sd")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_ylabel(f"row {i}" + ("" if labels is None else f", label {labels[i]}"))
    axes[0].legend(fontsize=8)
    names = [str(name) for name in feature_names] if feature_names is not None else None
    axes[-1].set_xticks(features, names or [str(f) for f in features], rotation=90 if names else 0)
    axes[-1].set_xlabel("feature")
    fig.suptitle(f"{model.zoo_name}: rows (bars) and their reconstructions")
    return root


def training_curves(history: Any, fig: Figure | SubFigure | None = None) -> Figure:
    """One panel per metric of a Keras `History` (or its `.history` dict, e.g. from history.json): the
    training curve, and the validation curve (`val_` + name) dashed when there is one, against the epoch."""
    curves: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    names = [name for name in curves if not name.startswith("val_")]
    if not names or not all(len(curves[name]) for name in names):
        raise ValueError("training_curves needs a History (or dict) with at least one epoch of a metric.")
    fig, root = _panels(fig, (4 * len(names), 3.2))
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        epochs = np.arange(1, len(curves[name]) + 1)
        ax.plot(epochs, curves[name], marker=".", label="train")
        if f"val_{name}" in curves:
            ax.plot(epochs, curves[f"val_{name}"], marker=".", linestyle="--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    return root


def comparison(
    rows: Sequence[Mapping[str, Any]],
    metrics: Sequence[str] = ("neg_elbo", "nll_iwae"),
    ax: Axes | None = None,
) -> Figure:
    """Horizontal bars of each model's held-out `metrics` (nats per example; lower is better) from
    `zoo.compare.compare`'s rows; a metric a model does not define (NaN) gets no bar."""
    if not rows:
        raise ValueError("comparison needs at least one row from zoo.compare.compare.")
    names = [str(row["name"]) for row in rows]
    fig, ax = _axes(ax, (6.5, 0.45 * len(rows) * len(metrics) + 1.2))
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
    ax: Axes | None = None,
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
    fig, ax = _axes(ax, (0.45 * classes + 2.2, 0.45 * classes + 1.2))
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
    ax.figure.colorbar(image, ax=ax, label="fraction of the row")
    accuracy = np.trace(confusion) / confusion.sum()
    ax.set_title(f"{title + ': ' if title else ''}{accuracy:.1%} read as requested", fontsize=10)
    return fig


def save_png(fig: Figure, path: str | os.PathLike) -> str:
    """Write `fig` as a PNG at `path` and return the path."""
    fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
    return os.fspath(path)
