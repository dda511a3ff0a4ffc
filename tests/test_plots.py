"""Every plot renders to a non-empty PNG, draws into the axes or figure it is given, and rejects what it
cannot draw.

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


@pytest.fixture(scope="module")
def mixture() -> zoo.ZooModel:
    """An untrained bernoulli_mixture of 4 components whose mixture weights are 0.1, 0.4, 0.2 and 0.3."""
    model = zoo.get("bernoulli_mixture", components=4)
    (layer,) = [layer for layer in model.layers if isinstance(layer, zoo.layers.BernoulliMixture)]
    layer.mixture_logits.assign(np.log([0.1, 0.4, 0.2, 0.3]))
    return model


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
        "one_interpolation": plots.interpolations(vae, x[0], x[1], steps=4, path="linear"),
        "attribute_walk": plots.attribute_walk(vae, x[:3], zoo.attribute_vector(vae, x[:50], x[50:100])),
        "decoder_outputs": plots.decoder_outputs(vae, n=6, seed=0),
        "nearest_neighbours": plots.nearest_neighbours(vae, x, n=3),
        "curves": plots.training_curves(history),
        "curves_from_dict": plots.training_curves({"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.2]}),
        "grid": plots.image_grid(x[:7, :, :, 0], ncols=3, title="digits"),
    }
    for name, fig in figures.items():
        _assert_png(fig, tmp_path, name)
    assert len(figures["curves"].axes) == len(history.history) == 2  # one panel per metric
    (panel,) = figures["curves_from_dict"].axes  # the validation curve shares its metric's panel
    assert [line.get_linestyle() for line in panel.lines] == ["-", "--"]
    assert figures["one_interpolation"].axes[0].get_title().endswith("(linear)")
    (walk,) = figures["attribute_walk"].axes  # the input, then 6 amounts 0 .. 1.5
    assert [tick.get_text() for tick in walk.get_xticklabels()] == [
        "input",
        *(f"a={a:.2g}" for a in np.linspace(0, 1.5, 6)),
    ]
    assert [ax.get_title() for ax in figures["decoder_outputs"].axes] == [
        "a sample x ~ p(x|z)",
        "its mean E[x|z]",
        "its mode (the most probable x)",
    ]
    assert len(figures["nearest_neighbours"].axes) == 3  # one panel per sample, each titled with its distance
    assert all(ax.get_title().startswith("d = ") for ax in figures["nearest_neighbours"].axes)


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
        "attribute_walk": plots.attribute_walk(cvae, x[:2], np.ones(2), steps=3, labels=y[:2]),
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


def _pixels(ax) -> np.ndarray:
    """The picture an image panel shows."""
    return np.asarray(ax.images[0].get_array())


def test_decoder_outputs_show_three_outputs_of_the_same_codes(trained, mixture):
    vae = trained("dense_vae")
    fig = plots.decoder_outputs(vae, n=5, seed=3)
    sample_row, mean_row, mode_row = (_pixels(ax) for ax in fig.axes)
    np.testing.assert_allclose(mean_row, plots._tile(zoo.sample(vae, 5, seed=3)[None]), atol=1e-6)
    np.testing.assert_array_equal(sample_row, plots._tile(zoo.sample(vae, 5, mode="sample", seed=3)[None]))
    images = plots._tile(np.ones((1, 5, 28, 28, 1))) > 0  # where the images lie, not the white gaps
    assert set(np.unique(mode_row[images])) <= {0.0, 1.0}
    np.testing.assert_array_equal(mode_row[images], (mean_row[images] > 0.5).astype(np.float32))  # same z
    with pytest.raises(ValueError, match="no latent code.*plots.prototypes"):
        plots.decoder_outputs(mixture)


def test_prototypes_show_each_component_and_its_weight(trained, mixture, tmp_path):
    fig = plots.prototypes(mixture, n=6, seed=0)
    _assert_png(fig, tmp_path, "prototypes")
    *components, drawn = fig.axes  # K panels, then the samples
    weights = [float(ax.get_title().removeprefix("π = ")) for ax in components]
    assert weights == [0.4, 0.3, 0.2, 0.1]  # heaviest first
    assert sum(weights) == pytest.approx(1.0)
    p_x = mixture(np.zeros((1, 28, 28, 1), np.float32))  # its output is p(x), whatever the input
    probabilities = p_x.components_distribution.mean().numpy()[0]  # [4, 28, 28, 1]
    np.testing.assert_allclose(_pixels(components[0]), probabilities[1, ..., 0], atol=1e-6)  # pi = 0.4
    assert drawn.get_title() == "6 samples x ~ p(x)"
    with pytest.raises(ValueError, match="bernoulli_mixture"):
        plots.prototypes(trained("dense_vae"))


def test_nearest_neighbours_find_the_closest_training_image(digits):
    x, _ = digits
    near = x[[5, 40, 7]].copy()
    near[1, :3, :3] = 1.0 - near[1, :3, :3]  # 9 pixels flipped: at distance 3
    index, distance = plots.nearest_training_images(near, x)
    assert index.tolist() == [5, 40, 7] and distance.tolist() == [0.0, 3.0, 0.0]
    fig = plots.nearest_neighbours(near, x, ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["d = 0.00", "d = 3.00", "d = 0.00"]
    np.testing.assert_array_equal(_pixels(fig.axes[1]), plots._tile(np.stack([near[1], x[40]])[None]))
    with pytest.raises(ValueError, match="images of one shape"):
        plots.nearest_neighbours(near, x[:, :14])


def test_plots_draw_into_the_axes_or_figure_they_are_given(trained, mixture, digits):
    vae = trained("dense_vae")
    x, y = digits
    one_panel = {
        "image_grid": lambda ax: plots.image_grid(x[:4], ax=ax),
        "reconstructions": lambda ax: plots.reconstructions(vae, x[:3], ax=ax),
        "samples": lambda ax: plots.samples(vae, n=3, ax=ax),
        "latent_scatter": lambda ax: plots.latent_scatter(vae, x[:20], labels=y[:20], ax=ax),
        "latent_manifold": lambda ax: plots.latent_manifold(vae, n=3, ax=ax),
        "interpolations": lambda ax: plots.interpolations(vae, x[0], x[1], steps=3, ax=ax),
        "attribute_walk": lambda ax: plots.attribute_walk(vae, x[:2], np.ones(2), steps=2, ax=ax),
        "comparison": lambda ax: plots.comparison([{"name": "a", "neg_elbo": 1.0}], ax=ax),
        "confusion_matrix": lambda ax: plots.confusion_matrix(np.eye(2), ax=ax),
    }
    for name, draw in one_panel.items():
        fig = Figure()
        left, right = fig.subplots(1, 2)
        assert draw(right) is fig, name
        assert right.has_data() and not left.has_data(), name
        assert fig.axes[:2] == [left, right] and len(fig.axes) == 2 + (name == "confusion_matrix"), name
    multi_panel = {
        "training_curves": (lambda sub: plots.training_curves({"loss": [2, 1], "kl": [1, 2]}, fig=sub), 2),
        "decoder_outputs": (lambda sub: plots.decoder_outputs(vae, n=2, fig=sub), 3),
        "prototypes": (lambda sub: plots.prototypes(mixture, n=2, fig=sub), 5),
        "nearest_neighbours": (lambda sub: plots.nearest_neighbours(x[:3], x[3:], fig=sub), 3),
    }
    for name, (draw, panels) in multi_panel.items():
        fig = Figure()
        first, second = fig.subfigures(1, 2)
        assert draw(second) is fig, name
        assert len(second.axes) == panels and not first.axes, name


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
    with pytest.raises(ValueError, match="path must be one of"):
        plots.interpolations(vae, x[:2], x[2:4], path="curved")
    with pytest.raises(ValueError, match="vector of shape \\[latent_dim\\] = \\[2\\].*zoo.attribute_vector"):
        plots.attribute_walk(vae, x[:2], np.ones(3))
    with pytest.raises(ValueError, match="not generative"):
        plots.decoder_outputs(autoencoder)


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


def test_a_model_of_vectors_has_its_plots_and_the_image_plots_name_themselves(trained, tmp_path):
    """wine's 13 standardized features in an (untrained) dense_vae built on vectors: the latent scatter and
    per-feature reconstructions draw; every plot of images refuses with its own name."""
    image_model = trained("dense_vae")
    x, y = zoo.data.load("wine")
    x = zoo.data.Standardizer().fit(x).transform(x)
    model = zoo.get("dense_vae", input_shape=(13,), likelihood="gaussian", latent_dim=2, hidden_units=(16,))
    scatter = plots.latent_scatter(model, x, y)
    assert scatter.axes[0].get_title() == "dense_vae: posterior means of 142 rows"
    _assert_png(scatter, tmp_path, "scatter")
    names = [f"f{i}" for i in range(13)]
    fig = plots.feature_reconstructions(model, x, n=3, feature_names=names)
    assert len(fig.axes) == 3 and [t.get_text() for t in fig.axes[-1].get_xticklabels()] == names
    bars = [patch.get_height() for patch in fig.axes[0].patches]
    np.testing.assert_allclose(bars, x[0], rtol=1e-6)  # the first row's features, as the model sees them
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), zoo.reconstruct(model, x[:1])[0], rtol=1e-5)
    _assert_png(fig, tmp_path, "features")
    refusals = {
        "reconstructions": lambda: plots.reconstructions(model, x),
        "samples": lambda: plots.samples(model),
        "latent_manifold": lambda: plots.latent_manifold(model),
        "interpolations": lambda: plots.interpolations(model, x[:2], x[2:4]),
        "attribute_walk": lambda: plots.attribute_walk(model, x[:2], np.ones(2)),
        "decoder_outputs": lambda: plots.decoder_outputs(model),
        "nearest_neighbours": lambda: plots.nearest_neighbours(model, x),
    }
    for name, plot in refusals.items():
        with pytest.raises(ValueError, match=rf"^{name} draws images, and dense_vae takes vectors \[N, 13\]"):
            plot()
    with pytest.raises(ValueError, match=r"image_grid draws images.*got an array of shape \(142, 13\)"):
        plots.image_grid(x)
    with pytest.raises(ValueError, match="feature_reconstructions draws vectors.*plots.reconstructions"):
        plots.feature_reconstructions(image_model, np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="got 2 feature_names for 13 features"):
        plots.feature_reconstructions(model, x, feature_names=["a", "b"])
