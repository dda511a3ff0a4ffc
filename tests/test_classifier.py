"""zoo.classifier: a digit classifier of real images reads the samples a conditional model draws per label."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.classifier import label_accuracy, read_labels, train_classifier


@pytest.fixture(scope="module")
def reader(digits):
    """A classifier fitted for one epoch on 512 real digits: tiny, but a real one."""
    x, y = digits
    return train_classifier(x, y, epochs=1, seed=0)


def test_the_classifier_reads_real_digits_better_than_chance(reader, digits):
    x, y = digits
    read = read_labels(reader, x[:256])
    assert read.shape == (256,) and read.dtype.kind == "i"
    assert np.mean(read == y[:256]) > 0.3  # one epoch on 512 digits; chance is 0.1


def test_label_accuracy_counts_every_sample_once(trained, reader):
    model = trained("cvae")
    accuracy, confusion = label_accuracy(model, reader, samples_per_label=6, seed=0)
    assert confusion.shape == (10, 10) and confusion.dtype == np.int64
    assert (confusion.sum(axis=1) == 6).all()  # rows: the requested label
    assert accuracy == pytest.approx(np.trace(confusion) / 60) and 0.0 <= accuracy <= 1.0
    again = label_accuracy(model, reader, samples_per_label=6, seed=0)
    assert again[0] == accuracy and (again[1] == confusion).all()  # seeded


def test_label_accuracy_refuses_an_unconditional_model(trained, reader):
    with pytest.raises(ValueError, match="dense_vae is not conditional"):
        label_accuracy(trained("dense_vae"), reader)


def test_label_accuracy_refuses_a_classifier_of_other_classes(trained, digits):
    x, y = digits
    few = y < 5
    five_digits = train_classifier(x[few][:64], y[few][:64], epochs=1)
    with pytest.raises(ValueError, match="reads 5 classes but cvae draws 10"):
        label_accuracy(trained("cvae"), five_digits, samples_per_label=2)


def test_classifier_is_exported():
    assert zoo.classifier.label_accuracy is label_accuracy
