"""Does a conditional model obey its label? A small CNN digit classifier trained on real images reads the
samples a conditional model draws for each requested label.

>>> x, y = zoo.data.load("mnist-5k", split="train")
>>> reader = zoo.classifier.train_classifier(x, y, epochs=5)
>>> accuracy, confusion = zoo.classifier.label_accuracy(model, reader)   # model: a trained cvae
>>> confusion.shape                          # rows: requested label, columns: the label the classifier read
(10, 10)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo import checks, data, inference
from zoo._tf import keras
from zoo.model import ZooModel


def train_classifier(
    x: Any, labels: Any, epochs: int = 5, batch_size: int = 64, seed: int = 0, verbose: int = 0
) -> keras.Model:
    """A small CNN (two 3x3 conv + max-pool stages, 32 and 64 filters, dropout, a softmax) fitted on real
    images.

    Args:
        x: images [N, H, W, C] float32 in [0, 1] (grey levels, e.g. from `zoo.data.load`).
        labels: integer class ids [N]; the classifier has max(labels) + 1 classes.
        epochs: passes over x. Default value: 5.
        batch_size: images per step. Default value: 64.
        seed: seeds the weights and the order. Default value: 0.
        verbose: Keras' `fit` verbosity. Default value: 0.

    Returns:
        A compiled `keras.Model`: images [N, H, W, C] -> class probabilities [N, num_classes].
    """
    epochs, batch_size = checks.integer("epochs", epochs), checks.integer("batch_size", batch_size)
    seed = checks.integer("seed", seed, 0)
    x = np.asarray(x, dtype=np.float32)
    data.check_images(x, x.shape[1:], bernoulli=False, model_name="train_classifier")
    labels = np.asarray(labels).reshape(-1)
    num_classes = int(labels.max()) + 1 if labels.size else 1
    data.check_labels(labels, len(x), max(num_classes, 2), "train_classifier")
    keras.utils.set_random_seed(seed)
    classifier = keras.Sequential(
        [
            keras.Input(x.shape[1:]),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(max(num_classes, 2), activation="softmax"),
        ],
        name="digit_classifier",
    )
    classifier.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    classifier.fit(x, labels.astype(np.int32), epochs=epochs, batch_size=batch_size, verbose=verbose)
    return classifier


def read_labels(classifier: keras.Model, x: Any, batch_size: int = 256) -> np.ndarray:
    """The class the classifier reads in each image: images [N, H, W, C] -> int64 [N]."""
    probabilities = classifier.predict(np.asarray(x, dtype=np.float32), batch_size=batch_size, verbose=0)
    return np.asarray(probabilities).argmax(axis=1)


def label_accuracy(
    model: ZooModel, classifier: keras.Model, samples_per_label: int = 100, seed: int = 0
) -> tuple[float, np.ndarray]:
    """How often a conditional model's samples read as the label they were drawn for.

    Draws `samples_per_label` images for each label L in one `zoo.sample(model, n, labels=[0, 0, ..., 1, 1,
    ...], seed=seed)` call (mean images: z ~ p(z), then the mean of p(x|z, L)) and lets `classifier` read them.

    Args:
        model: a conditional zoo model (`model.is_conditional`), e.g. "cvae" or "conv_cvae".
        classifier: images [N, H, W, C] -> class probabilities [N, num_classes], e.g. `train_classifier`'s.
        samples_per_label: samples drawn per label. Default value: 100.
        seed: the same seed draws the same samples. Default value: 0.

    Returns:
        (accuracy, confusion): the fraction of all samples read as their requested label (a float in
        [0, 1]), and counts int64 [num_classes, num_classes], rows = requested label, columns = the label
        read; every row sums to `samples_per_label`.
    """
    if not isinstance(model, ZooModel) or not model.is_conditional:
        name = getattr(model, "zoo_name", type(model).__name__)
        raise ValueError(
            f"label_accuracy needs a conditional model (one that takes labels, such as 'cvae' or 'conv_cvae'); "
            f"{name} is not conditional, so there is no requested label to check its samples against."
        )
    samples_per_label = checks.integer("samples_per_label", samples_per_label)
    seed = checks.integer("seed", seed, 0)
    num_classes = model.num_classes
    outputs = classifier.output_shape[-1]
    if outputs != num_classes:
        raise ValueError(
            f"the classifier reads {outputs} classes but {model.zoo_name} draws {num_classes}; train the "
            "classifier on labelled images of exactly the model's classes."
        )
    requested = np.repeat(np.arange(num_classes), samples_per_label)
    images = inference.sample(model, len(requested), labels=requested, seed=seed)  # one call for every label
    read = read_labels(classifier, images)
    confusion = np.bincount(requested * num_classes + read, minlength=num_classes**2)
    confusion = confusion.reshape(num_classes, num_classes).astype(np.int64)
    return float(np.trace(confusion) / confusion.sum()), confusion
