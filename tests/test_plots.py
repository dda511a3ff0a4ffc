"""Every plot renders to a non-empty PNG and rejects what it cannot draw.

The plots build `matplotlib.figure.Figure`s directly (no pyplot), and `save_png` renders them with the
Agg canvas: no display or GUI backend is involved.
"""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

import zoo
from zoo import plots


def _assert_png(fig: Figure, tmp_path, name: str) -> None:
    assert isinstance(fig, Figure)
    path = plots.save_png(fig, tmp_path / f"{name}.png")
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels[..., :3].std() > 0.01  # something was drawn, not a blank canvas


def test_every_plot_of_a_vae_renders(trained, digits, tmp_path):
    vae, history = trained("dense_vae"), trained.history("dense_vae")  # a 2-D code; loss and kl, 3 epochs
    x, y = digits
    figures = {
        "reconstructions": plots.reconstructions(vae, x[:8]),
        "samples": plots.samples(vae, n=12, seed=0),
        "scatter": plots.latent_scatter(vae, x[:200], labels=y[:200]),
        "scatter_unlabelled": plots.latent_scatter(vae, x[:50]),
        "manifold": plots.latent_manifold(vae, n=6),
        "interpolations": plots.interpolations(vae, x[:3], x[3:6], steps=5),
        "one_interpolation": plots.interpolations(vae, x[0], x[1], steps=4),
        "curves": plots.training_curves(history),
        "curves_from_dict": plots.training_curves({"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.2]}),
        "grid": plots.image_grid(x[:7, :, :, 0], ncols=3, title="digits"),
    }
    for name, fig in figures.items():
        _assert_png(fig, tmp_path, name)
    assert len(figures["curves"].axes) == len(history.history) == 2  # one panel per metric
    (panel,) = figures["curves_from_dict"].axes  # the validation curve shares its metric's panel
    assert [line.get_linestyle() for line in panel.lines] == ["-", "--"]


def test_every_plot_of_a_conditional_model_renders(trained, digits, tmp_path):
    cvae = trained("cvae")
    x, y = digits
    figures = {
        "reconstructions": plots.reconstructions(cvae, x[:6], y[:6]),
        "samples": plots.samples(cvae, n=10),
        "scatter": plots.latent_scatter(cvae, x[:100], labels=y[:100]),
        "manifold": plots.latent_manifold(cvae, n=4, labels=7),
        "styles_from_prior": plots.label_style_grid(cvae, n=3, seed=1),
        "styles_from_images": plots.label_style_grid(cvae, n=2, x=x[:5], labels=y[:5]),
        "interpolations": plots.interpolations(cvae, x[:2], x[2:4], steps=3, labels=y[:2]),
    }
    for name, fig in figures.items():
        _assert_png(fig, tmp_path, name)


def test_latent_scatter_projects_larger_codes(digits, tmp_path):
    x, y = digits
    model = zoo.get("dense_vae", latent_dim=5, hidden_units=(32,))
    pca = plots.latent_scatter(model, x[:100], labels=y[:100])
    assert pca.axes[0].get_xlabel().startswith("PC 1")
    first = plots.latent_scatter(model, x[:100], projection="first")
    assert first.axes[0].get_xlabel() == "z[0]"
    _assert_png(pca, tmp_path, "pca")
    with pytest.raises(ValueError, match="latent_manifold needs a 2-D code"):
        plots.latent_manifold(model)


def test_seeded_plots_repeat(trained, tmp_path):
    vae = trained("dense_vae")
    first = plots.save_png(plots.samples(vae, n=10, seed=4), tmp_path / "a.png")
    second = plots.save_png(plots.samples(vae, n=10, seed=4), tmp_path / "b.png")
    np.testing.assert_array_equal(matplotlib.image.imread(first), matplotlib.image.imread(second))


def test_plots_reject_what_they_cannot_draw(trained, digits):
    vae, autoencoder = trained("dense_vae"), trained("autoencoder")
    x, _ = digits
    with pytest.raises(ValueError, match="not generative"):
        plots.samples(autoencoder)
    with pytest.raises(ValueError, match="not generative"):
        plots.latent_manifold(autoencoder)
    with pytest.raises(ValueError, match="conditional"):
        plots.label_style_grid(vae)
    with pytest.raises(ValueError, match="projection"):
        plots.latent_scatter(vae, x[:10], projection="tsne")
    with pytest.raises(ValueError, match="steps"):
        plots.interpolations(vae, x[:2], x[2:4], steps=1)
    with pytest.raises(ValueError, match="at least one epoch"):
        plots.training_curves({})
    with pytest.raises(ValueError, match="n must be"):
        plots.reconstructions(vae, x, n=0)


def test_comparison_bars_from_compare_rows(tmp_path):
    rows = [
        {"name": "dense_vae", "neg_elbo": 140.0, "nll_iwae": 135.0},
        {"name": "autoencoder", "neg_elbo": float("nan"), "nll_iwae": float("nan")},
    ]
    fig = plots.comparison(rows)
    bars = [patch.get_width() for patch in fig.axes[0].patches]
    assert bars == [140.0, 0.0, 135.0, 0.0]
    assert [tick.get_text() for tick in fig.axes[0].get_yticklabels()] == ["dense_vae", "autoencoder"]
    plots.save_png(fig, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="at least one row"):
        plots.comparison([])


def test_confusion_matrix_renders_and_rejects_what_is_not_one(tmp_path):
    confusion = np.diag([5, 4, 3]) + np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0]])
    fig = plots.confusion_matrix(confusion, title="cvae")
    _assert_png(fig, tmp_path, "confusion")
    assert "80.0% read as requested" in fig.axes[0].get_title()  # 12 of 15 on the diagonal
    for bad in (np.ones((2, 3)), np.zeros((3, 3)), -np.eye(3)):
        with pytest.raises(ValueError, match="confusion_matrix needs"):
            plots.confusion_matrix(bad)
