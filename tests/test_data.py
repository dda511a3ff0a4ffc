"""Datasets and the checks that stop bad data before training starts."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import zoo
from zoo import data


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
