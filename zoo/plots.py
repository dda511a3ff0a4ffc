"""Figures. Each function returns a matplotlib Figure; `save_png(fig, path)` writes it."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from zoo import inference
from zoo.model import ZooModel


def image_grid(images: np.ndarray, ncols: int = 10, title: str | None = None) -> Figure:
    """A grid of grey-level images [N, H, W, 1] (or [N, H, W]) with values in [0, 1]."""
    images = np.asarray(images)[..., 0] if np.ndim(images) == 4 else np.asarray(images)
    nrows = int(np.ceil(len(images) / ncols))
    fig = Figure(figsize=(ncols * 0.8, nrows * 0.8 + (0.4 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image in zip(axes.flat, images, strict=False):  # the last row may have empty axes
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    if title:
        fig.suptitle(title)
    return fig


def reconstructions(model: ZooModel, x: np.ndarray, labels: Any = None, n: int = 10) -> Figure:
    """Top row: n originals; bottom row: their reconstructions (pixel probabilities)."""
    x = np.asarray(x)[:n]
    labels = None if labels is None else np.asarray(labels)[:n]
    recon = inference.reconstruct(model, x, labels)
    return image_grid(
        np.concatenate([x, recon]), ncols=len(x), title=f"{model.zoo_name}: originals / reconstructions"
    )


def samples(model: ZooModel, n: int = 40, labels: Any = None, seed: int = 0) -> Figure:
    """n images decoded from z ~ p(z); conditional models cycle through the classes unless given labels."""
    if model.is_conditional and labels is None:
        labels = np.arange(n) % model.num_classes
    images = inference.sample(model, n, labels=labels, seed=seed)
    return image_grid(images, ncols=10, title=f"{model.zoo_name}: samples from the prior")


def save_png(fig: Figure, path: str | os.PathLike) -> str:
    """Write `fig` as a PNG at `path` and return the path."""
    fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
    return os.fspath(path)
