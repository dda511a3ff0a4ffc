"""Datasets and the checks that stop bad data before training starts."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import zoo
from zoo import data
from zoo._tf import tf


def test_mnist_5k_splits_are_disjoint_shuffled_real_digits():
    x_train, y_train = data.load("mnist-5k", split="train")
    x_test, y_test = data.load("mnist-5k", split="test")
    assert x_train.shape == (4500, 28, 28, 1) and x_test.shape == (500, 28, 28, 1)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() == 1
    assert np.bincount(y_train, minlength=10).min() > 400  # shuffled: every class in the training split
    assert len(set(y_train[:100])) == 10
    train_rows = {row.tobytes() for row in x_train.reshape(4500, -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(500, -1))
    x_all, y_all = data.load("mnist-5k", split="all")
    assert len(x_all) == 5000 and np.array_equal(y_all, np.concatenate([y_train, y_test]))


def test_binarization_threshold_and_seeded_stochastic():
    grey, _ = data.load("mnist-5k", split="test")
    threshold, _ = data.load("mnist-5k", split="test", binarize=True)
    np.testing.assert_array_equal(threshold, (grey > 0.5).astype(np.float32))
    first, _ = data.load("mnist-5k", split="test", binarize="stochastic", seed=1)
    again, _ = data.load("mnist-5k", split="test", binarize="stochastic", seed=1)
    other, _ = data.load("mnist-5k", split="test", binarize="stochastic", seed=2)
    assert set(np.unique(first)) == {0.0, 1.0}
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert abs(first.mean() - grey.mean()) < 0.01  # stochastic binarization keeps the expected grey level


def test_mnist_without_network_falls_back_to_mnist_5k_with_one_warning(monkeypatch):
    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(zoo.keras.datasets.mnist, "load_data", offline)
    with pytest.warns(UserWarning, match="mnist-5k") as warned:
        x, y = data.load("mnist", split="train")
    assert len(warned) == 1 and x.shape == (4500, 28, 28, 1)


def test_fashion_mnist_without_network_says_what_to_do(monkeypatch):
    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(zoo.keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(RuntimeError, match="local .npz"):
        data.load("fashion_mnist")


def test_local_npz_in_keras_layout(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x_train=images, y_train=np.arange(6), x_test=images[:2], y_test=np.arange(2))
    x, y = data.load(str(tmp_path / "d.npz"), split="test")
    assert x.shape == (2, 28, 28, 1) and list(y) == [0, 1]
    np.testing.assert_allclose(x[..., 0], images[:2] / 255.0, rtol=1e-6)


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_folder(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(5))
    x, y = data.load(str(tmp_path), split="test")
    assert x.shape == (5, 28, 28, 1) and list(y) == list(range(5))
    with pytest.raises(FileNotFoundError, match="train-images"):
        data.load(str(tmp_path), split="train")


def test_truncated_idx_file_is_reported(tmp_path):
    _write_idx(tmp_path / "x.gz", np.zeros((4, 3), np.uint8))
    raw = gzip.open(tmp_path / "x.gz").read()
    with gzip.open(tmp_path / "cut.gz", "wb") as f:
        f.write(raw[:-3])
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(tmp_path / "cut.gz")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "cifar"}, "Unknown dataset 'cifar'"),
        ({"split": "valid"}, "split must be one of"),
        ({"binarize": "otsu"}, "binarize must be True or one of"),
    ],
)
def test_bad_load_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load(**{"name": "mnist-5k", **kwargs})


def _bad(digits, kind):
    x, y = digits
    x = x[:16].copy()
    if kind == "nan":
        x[0, 0, 0, 0] = np.nan
    if kind == "grey":
        x = x * 0.7
    if kind == "ints":
        x = (x * 255).astype(np.uint8)
    if kind == "shape":
        x = np.zeros((16, 32, 32, 3), np.float32)
    if kind == "empty":
        x = x[:0]
    return x


@pytest.mark.parametrize(
    "kind, match",
    [
        ("nan", "NaN/inf pixel values"),
        ("grey", "binary data.*binarize"),
        ("ints", r"float32 pixels.*got dtype uint8.*/ 255"),
        ("shape", r"expects images of shape \(28, 28, 1\); got \(32, 32, 3\).*input_shape=\(32, 32, 3\)"),
        ("empty", "empty array.*at least one image"),
    ],
)
@pytest.mark.parametrize("name", ["dense_vae", "conv_vae"])
def test_bad_images_fail_before_training_with_the_fix(name, kind, match, digits, trained):
    model = trained(name)
    steps = model.optimizer.iterations.numpy()
    x = _bad(digits, kind)
    with pytest.raises(ValueError, match=match):
        model.fit(x, x, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == steps  # nothing ran


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.arange(15), "16 images but 15 labels"),
        (np.full(16, 10), r"labels in \[0, 10\); got values in \[10, 10\]"),
        (np.full(16, -1), r"labels in \[0, 10\)"),
        (np.eye(10)[np.arange(16) % 10], "not one-hot.*argmax"),
        (np.full(16, 0.5), "integer class labels"),
    ],
)
def test_bad_labels_for_the_conditional_model(labels, match, digits, trained):
    model = trained("cvae")
    x, _ = digits
    with pytest.raises(ValueError, match=match):
        model.fit([x[:16], labels], x[:16], epochs=1, verbose=0)


def test_conditional_model_without_labels_says_how_to_call_it(digits, trained):
    model = trained("cvae")
    x, _ = digits
    with pytest.raises(ValueError, match=r"takes \[images, labels\]"):
        model.fit(x[:16], x[:16], epochs=1, verbose=0)


# ---- dataset(): dynamic binarization ----------------------------------------------------------------------


def _epochs(ds, n: int = 2) -> list[list]:
    """The batches of n passes over `ds` (what n epochs of `fit` see), as numpy structures."""
    return [[tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in ds] for _ in range(n)]


@pytest.fixture(scope="module")
def grey():
    x, y = zoo.data.load("mnist-5k", split="test")
    return x[:40], y[:40]


def test_dynamic_binarization_draws_anew_every_epoch_and_the_seed_repeats_the_draws(grey):
    x, _ = grey
    first, second = _epochs(zoo.data.dataset(x, batch_size=16, seed=3))
    assert [len(inputs) for inputs, _ in first] == [16, 16, 8]
    for inputs, targets in first + second:
        assert np.array_equal(inputs, targets) and set(np.unique(inputs)) <= {0.0, 1.0}
    epoch_one, epoch_two = (np.concatenate([inputs for inputs, _ in epoch]) for epoch in (first, second))
    assert not np.array_equal(epoch_one, epoch_two)  # new order and new draws
    again = _epochs(zoo.data.dataset(x, batch_size=16, seed=3))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first + second, again[0] + again[1], strict=True))
    other = _epochs(zoo.data.dataset(x, batch_size=16, seed=4), 1)[0]
    assert not np.array_equal(np.concatenate([i for i, _ in other]), epoch_one)


def test_dynamic_draws_are_bernoulli_with_the_grey_level_as_probability(grey):
    x, _ = grey
    draws = [
        batch
        for epoch in _epochs(zoo.data.dataset(x, batch_size=40, shuffle=False), 50)
        for batch, _ in epoch
    ]
    frequency = np.mean(draws, axis=0)  # 50 draws of each pixel
    assert np.abs(frequency - x).max() < 0.35 and abs(frequency.mean() - x.mean()) < 0.01
    assert np.array_equal(frequency[x == 0], np.zeros(int((x == 0).sum())))


def test_labels_stay_in_step_with_their_images_through_the_shuffle(grey):
    x, y = grey
    for (images, labels), targets in _epochs(zoo.data.dataset(x, y, batch_size=16, binarize=False))[1]:
        rows = [int(np.flatnonzero((x == image).all(axis=(1, 2, 3)))[0]) for image in images]
        assert (
            np.array_equal(labels[:, 0], y[rows])
            and labels.dtype == np.int32
            and np.array_equal(images, targets)
        )


def test_fixed_binarizations_and_grey_levels(grey):
    x, _ = grey
    for binarize, expected in (("threshold", zoo.data.binarize_images(x)), (False, x)):
        ((images, _),) = _epochs(zoo.data.dataset(x, batch_size=40, binarize=binarize, shuffle=False), 1)[0]
        assert np.array_equal(images, expected)
    stochastic = _epochs(zoo.data.dataset(x, batch_size=40, binarize="stochastic", shuffle=False))
    assert np.array_equal(stochastic[0][0][0], stochastic[1][0][0])  # one draw, the same every epoch


def test_a_model_trains_on_the_dataset(grey):
    x, y = zoo.data.load("mnist-5k", split="train")
    model = zoo.get("cvae", latent_dim=2, hidden_units=(32,))
    history = model.fit(zoo.data.dataset(x[:512], y[:512], batch_size=64), epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x, y: zoo.data.dataset(x * 255), r"floats in \[0, 1\].*x / 255"),
        (lambda x, y: zoo.data.dataset(x, binarize="otsu"), "binarize must be one of"),
        (lambda x, y: zoo.data.dataset(x, y[:3]), "40 images but 3 labels"),
        (lambda x, y: zoo.data.dataset(x, batch_size=0), "batch_size must be a positive integer"),
    ],
)
def test_bad_input_to_dataset_is_named(grey, call, message):
    with pytest.raises(ValueError, match=message):
        call(*grey)


def test_each_model_trains_and_is_scored_on_the_pixels_it_models(grey, trained):
    x, y = grey
    for name, binary, conditional in (
        ("dense_vae", True, False),
        ("cvae", True, True),
        ("gaussian_vae", False, False),
    ):
        model = trained(name)
        ((inputs, targets),) = _epochs(
            zoo.data.training_dataset(model, x, y, batch_size=40, shuffle=False), 1
        )[0]
        images = inputs[0] if conditional else inputs
        assert np.array_equal(images, targets) and isinstance(inputs, tuple) == conditional, name
        if binary:  # drawn from the grey levels
            assert set(np.unique(images)) <= {0.0, 1.0} and not np.array_equal(images, x), name
        else:
            assert np.array_equal(images, x), name
        scored = zoo.data.evaluation_images(model, x, seed=5)
        expected = zoo.data.binarize_images(x, "stochastic", seed=5) if binary else x
        assert np.array_equal(scored, expected), name


@pytest.mark.parametrize(
    "images, message",
    [(lambda x: x * 255, r"dense_vae takes grey-level images .*x / 255"), (lambda x: x[:, :20], "shape")],
)
def test_images_a_model_cannot_take_are_named(grey, trained, images, message):
    for prepare in (zoo.data.training_dataset, zoo.data.evaluation_images):
        with pytest.raises(ValueError, match=message):
            prepare(trained("dense_vae"), images(grey[0]))


@pytest.fixture(scope="module")
def grey_levels_model() -> zoo.ZooModel:
    """An untrained small dense_vae with continuous-Bernoulli pixels: a density on [0, 1], never binarized."""
    return zoo.get("dense_vae", latent_dim=2, hidden_units=(64,), likelihood="continuous_bernoulli")


def test_a_continuous_bernoulli_model_takes_grey_levels_in_the_unit_interval(grey, grey_levels_model):
    x, _ = grey
    model = grey_levels_model
    assert model.has_unit_interval_likelihood and not model.has_bernoulli_likelihood
    ((inputs, targets),) = _epochs(zoo.data.training_dataset(model, x, batch_size=40, shuffle=False), 1)[0]
    assert np.array_equal(inputs, x) and np.array_equal(targets, x)  # grey levels, never binarized
    assert np.array_equal(zoo.data.evaluation_images(model, x, seed=5), x)
    data.check_model_inputs(model, x, x)  # grey levels pass
    for prepare in (zoo.data.training_dataset, zoo.data.evaluation_images):
        with pytest.raises(ValueError, match=r"dense_vae takes grey-level images .*x / 255"):
            prepare(model, x * 255)


@pytest.mark.parametrize("targets", [lambda x: x * 255, lambda x: x - 0.5])
def test_a_continuous_bernoulli_model_refuses_pixels_outside_the_unit_interval(
    grey, grey_levels_model, targets
):
    x = targets(grey[0])
    message = r"continuous Bernoulli variables, a density on \[0, 1\]; got values in .*x / 255.*'gaussian'"
    with pytest.raises(ValueError, match=message):
        data.check_model_inputs(grey_levels_model, x, x)
    batches = tf.data.Dataset.from_tensor_slices((x, x)).batch(8)
    with pytest.raises(ValueError, match=message):  # a dataset's first batch of targets
        grey_levels_model.fit(batches, epochs=1, verbose=0)
    assert grey_levels_model.optimizer.iterations.numpy() == 0


# ---- tables, vectors and colour patches -------------------------------------------------------------------


def test_scikit_learns_tables_load_offline_with_a_fixed_split():
    for name, rows, features, classes in (("wine", 178, 13, 3), ("breast_cancer", 569, 30, 2)):
        (x, y), (x_test, y_test) = data.load(name), data.load(name, split="test")
        assert x.shape[1:] == x_test.shape[1:] == (features,) and x.dtype == np.float32
        assert len(x) + len(x_test) == rows and len(x_test) == round(rows * data.TABLE_TEST_FRACTION)
        assert set(y) == set(range(classes)) and y.dtype == np.int64 and len(y_test) == len(x_test)
        assert not (x[:, None] == x_test[None]).all(-1).any()  # no row in both splits
        np.testing.assert_array_equal(data.load(name)[0], x)  # the same split every time
    x, labels = data.load("diabetes", split="all")
    assert x.shape == (442, 10) and labels is None  # a real-valued target: no classes


def _csv(tmp_path, text: str, name: str = "table.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_csv_table_loads_with_an_optional_label_column(tmp_path):
    rows = [f"{i},{i * 0.5},{'red' if i % 3 else 'white'},{-i}" for i in range(10)]
    path = _csv(tmp_path, "a,b,colour,c\n" + "\n".join(rows) + "\n")
    x, y = data.load(path, split="all", label_column="colour")
    assert x.shape == (10, 3) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, (x[:, 0] % 3 == 0).astype(int))  # names numbered in sorted order
    np.testing.assert_array_equal(x[:, 1:], np.stack([x[:, 0] * 0.5, -x[:, 0]], axis=1))  # rows intact
    train, test = data.load(path, label_column="colour")[0], data.load(path, "test", label_column="colour")[0]
    assert len(train) == 8 and len(test) == 2 and not set(train[:, 0]) & set(test[:, 0])
    numbers = _csv(
        tmp_path, "\n".join(f"{i},{i % 2}" for i in range(5)), "numbers.csv"
    )  # no header, no labels
    x, y = data.load(numbers, split="all")
    assert x.shape == (5, 2) and y is None
    for label_column, match in ((None, r"line 2: colour holds 'white', not a number.*--label-column"),
                                ("kind", r"no column named 'kind'.*a, b, colour, c")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            data.load(path, label_column=label_column)
    with pytest.raises(ValueError, match="label_column is for .csv"):
        data.load("wine", label_column="colour")


def test_an_npz_of_vectors_loads_as_vectors_labels_optional(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 12)).astype(np.float32)
    np.savez(tmp_path / "v.npz", x_train=x[:16], x_test=x[16:])
    loaded, labels = data.load(str(tmp_path / "v.npz"))
    np.testing.assert_array_equal(loaded, x[:16])  # real values kept as they are
    assert labels is None and data.load(str(tmp_path / "v.npz"), split="test")[0].shape == (4, 12)


def test_the_standardizer_scales_to_zero_mean_unit_std_and_back_and_saves_as_json(tmp_path):
    x, _ = data.load("wine")
    x_test, _ = data.load("wine", split="test")
    scaler = data.Standardizer().fit(x)
    z = scaler.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(x_test)), x_test, rtol=1e-5)
    scaler.save(tmp_path / "standardizer.json")
    again = data.Standardizer.load(tmp_path / "standardizer.json")
    np.testing.assert_array_equal(again.transform(x_test), scaler.transform(x_test))
    constant = data.Standardizer().fit(np.stack([x[:, 0], np.full(len(x), 3.0)], axis=1))
    assert constant.std[1] == 1.0 and np.all(constant.transform([[13.0, 3.0]])[:, 1] == 0)  # only centred
    for call, match in ((lambda: data.Standardizer().transform(x), "not fitted"),
                        (lambda: scaler.transform(x[:, :12]), r"fitted on rows of shape \(13,\)")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            call()


def test_binary_tables_get_bernoulli_the_others_gaussian():
    x, _ = data.load("wine")
    assert data.table_likelihood(x) == "gaussian"
    assert data.table_likelihood(data.Standardizer().fit(x).transform(x) > 0) == "bernoulli"


def test_input_shape_is_vectors_or_images_and_conv_models_refuse_vectors():
    for shape, match in (
        ((28, 28), r"no channel axis.*\(28, 28, 1\).*\(784,\)"),
        ((1, 2, 3, 4), r"\(features,\)"),
    ):
        with pytest.raises(ValueError, match=match):
            zoo.get("dense_vae", input_shape=shape)
    for name in ("conv_vae", "conv_cvae"):
        with pytest.raises(ValueError, match=r"is a vector.*use a dense model, e.g. zoo.get\('dense_vae'"):
            zoo.get(name, input_shape=(12,))


@pytest.fixture(scope="module")
def table():
    """wine's training rows: 13 real features, standardized, and the three cultivars."""
    x, y = data.load("wine")
    return data.Standardizer().fit(x).transform(x), y


def test_checks_speak_of_vectors_for_a_model_of_vectors(table):
    x, y = table
    model = zoo.get("dense_vae", input_shape=(13,), latent_dim=2, hidden_units=(16,))  # Bernoulli features
    cases = [
        (x, r"each feature as a Bernoulli variable.*likelihood='gaussian'.*Standardizer"),
        (x[:, :12], r"expects vectors of shape \(13,\); got \(12,\).*input_shape=\(12,\)"),
        ((x > 0).astype(np.int64), r"float32 features; got dtype int64"),
        (np.where(x > 2, np.nan, x), "NaN/inf feature values"),
        (x[:0], "at least one row"),
    ]
    for bad, match in cases:
        with pytest.raises(ValueError, match=match) as error:
            model.fit(bad, bad, epochs=1, verbose=0)
        assert "image" not in str(error.value) and "pixel" not in str(error.value)
    with pytest.raises(ValueError, match=r"pass the vectors only"):
        model.fit([x, y], x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"vectors \[N, D\] of values in \[0, 1\].*binarize=False"):
        data.dataset(x)  # dynamic binarization of real values
    with pytest.raises(ValueError, match=r"vectors \[N, D\] of values in \[0, 1\].*likelihood='gaussian'"):
        data.training_dataset(model, x)
    binary = (x > 0).astype(np.float32)
    scored = data.evaluation_images(model, binary, seed=1)
    np.testing.assert_array_equal(scored, binary)  # binary data stays as it is
    ((inputs, targets),) = _epochs(data.training_dataset(model, binary, batch_size=len(x), shuffle=False), 1)[
        0
    ]
    np.testing.assert_array_equal(inputs, binary)
    ((inputs, labels), _), *_ = _epochs(data.dataset(x, y, batch_size=8, binarize=False), 1)[0]
    assert inputs.shape == (8, 13) and labels.shape == (8, 1)
    with pytest.raises(ValueError, match="142 vectors but 3 labels"):
        data.dataset(x, y[:3], binarize=False)


def test_photo_patches_are_colour_images_from_two_photographs():
    x, y = data.load("photo-patches")
    x_test, y_test = data.load("photo-patches", split="test")
    assert x.shape == (800, 32, 32, 3) and x_test.shape == (200, 32, 32, 3) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1 and np.bincount(y).tolist() == [400, 400]
    assert np.bincount(y_test).tolist() == [100, 100]
    assert np.abs(x[y == 0].mean((0, 1, 2)) - x[y == 1].mean((0, 1, 2))).max() > 0.05  # two photos' colours
    np.testing.assert_array_equal(data.load("photo-patches")[0], x)  # the same places every time


@pytest.mark.slow
@pytest.mark.parametrize("likelihood", ["continuous_bernoulli", "gaussian"])
def test_a_conv_vae_trains_on_colour_photo_patches(likelihood):
    x, y = data.load("photo-patches")
    x = x[np.random.default_rng(0).permutation(len(x))[:256]]  # 256 patches of both photos
    model = zoo.get("conv_vae", input_shape=(32, 32, 3), likelihood=likelihood, latent_dim=8, filters=(8, 16))
    history = model.fit(data.training_dataset(model, x, batch_size=32), epochs=4, verbose=0)
    loss = history.history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0] - 0.1 * abs(loss[0]), loss
    x_test, _ = data.load("photo-patches", split="test")
    results = zoo.evaluate(model, x_test[:32], k=4, verbose=0)
    assert np.isfinite(results["nll_iwae_4"]) and results["neg_elbo"] >= results["nll_iwae_4"] - 1
    drawn = zoo.sample(model, 4, seed=0)
    assert drawn.shape == (4, 32, 32, 3)
    if likelihood == "continuous_bernoulli":
        assert 0 <= drawn.min() and drawn.max() <= 1
