"""Using a trained model: encode, decode, reconstruct, sample and interpolate, for every registered model
with a latent code (`sample` also for a model without one, such as the Bernoulli mixture).

Inputs may be numpy arrays or tensors; the networks run on at most `batch_size` rows at a time, so large
inputs fit in memory. Conditional models take labels through `labels=`: one integer for all rows, integer
class ids [N], or one-hot [N, num_classes].

>>> posterior = encode(model, x[:8])            # q(z|x), batch shape [8]
>>> images = sample(model, 16, seed=0)          # [16, 28, 28, 1], z ~ the model's own prior
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from zoo import checks, data
from zoo import layers as zl
from zoo._tf import tf, tfd, tfp
from zoo.model import ZooModel, layers_of_type

MODES = ("mean", "mode", "sample")
BATCH_SIZE = 512


def stateless_seeds(seed: int | tf.Tensor | None, n: int) -> list:
    """n independent stateless seeds from an int or a stateless seed [2] (the same seed gives the same
    draws every call), or n Nones (fresh randomness) when seed is None."""
    if seed is None:
        return [None] * n
    if isinstance(seed, (int, np.integer)):
        seed = tf.constant([int(seed), 0], tf.int32)
    return list(tfp.random.split_seed(seed, n))


def latent_dim(model: ZooModel) -> int:
    """The size of the model's code z (the decoder's first input)."""
    return int(model.decoder.inputs[0].shape[-1])


def labels_for(model: ZooModel, labels: Any, n: int) -> np.ndarray | None:
    """Checked int32 class ids [n] for a conditional model (None for an unconditional one).

    labels: one integer (used for all n rows), integer ids [n] or [n, 1], or one-hot [n, num_classes].
    """
    if not model.is_conditional:
        if labels is not None:
            raise ValueError(f"{model.zoo_name} is not conditional; do not pass labels.")
        return None
    if labels is None:
        raise ValueError(f"{model.zoo_name} is conditional: pass labels=<integer class ids [N]>.")
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == model.num_classes > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if labels.size == 1:
        labels = np.repeat(labels, n)
    data.check_labels(labels, n, model.num_classes, model.zoo_name)
    return labels.astype(np.int32)


def _chunks(tensor: tf.Tensor, labels: np.ndarray | None, batch_size: int) -> Iterator:
    """The network inputs (tensor, or [tensor, labels [B, 1]] if conditional) in slices of batch_size rows."""
    for start in range(0, int(tensor.shape[0]), batch_size):
        rows = slice(start, start + batch_size)
        yield tensor[rows] if labels is None else [tensor[rows], labels[rows, None]]


def _concat(parts: list[tfd.Distribution]) -> tfd.Distribution:
    return parts[0] if len(parts) == 1 else tfd.BatchConcat(parts, axis=0)


def _images(model: ZooModel, x: Any) -> tf.Tensor:
    x = np.asarray(x)
    data.check_images(x, tuple(model.inputs[0].shape[1:]), bernoulli=False, model_name=model.zoo_name)
    return tf.convert_to_tensor(x, dtype=tf.float32)


def encode_tensor(model: ZooModel, x: tf.Tensor, labels: np.ndarray | None, batch_size: int) -> tfd.Distribution:
    """`encode` without the checks, for callers that made them once: x float32 [N, H, W, C], labels int32 [N]
    or None."""
    parts = []
    for inputs in _chunks(x, labels, batch_size):
        posterior = model.encoder(inputs, training=False)
        if not isinstance(posterior, tfd.Distribution):
            posterior = tfd.Independent(tfd.Deterministic(posterior), reinterpreted_batch_ndims=1)
        parts.append(posterior)
    return _concat(parts)


def decode_tensor(model: ZooModel, z: tf.Tensor, labels: np.ndarray | None, batch_size: int) -> tfd.Distribution:
    """`decode` without the checks: z float32 [N, latent_dim], labels int32 [N] or None."""
    return _concat([model.decoder(inputs, training=False) for inputs in _chunks(z, labels, batch_size)])


def encode(model: ZooModel, x: Any, labels: Any = None, batch_size: int = BATCH_SIZE) -> tfd.Distribution:
    """q(z|x): a distribution with batch shape [N] and event shape [latent_dim].

    x: images [N, H, W, C] float32. For the plain autoencoder the code is deterministic and is returned as
    a `tfd.Deterministic` distribution, so `.mean()` is the code either way. Inputs larger than
    `batch_size` are encoded in slices and joined with `tfd.BatchConcat`.
    """
    x = _images(model, x)
    labels = labels_for(model, labels, int(x.shape[0]))
    return encode_tensor(model, x, labels, checks.integer("batch_size", batch_size))


def _codes(model: ZooModel, z: Any) -> tf.Tensor:
    z = tf.convert_to_tensor(z, dtype=tf.float32)
    if z.shape.rank != 2 or z.shape[1] != latent_dim(model) or z.shape[0] == 0:
        raise ValueError(
            f"{model.zoo_name} decodes z of shape [N, {latent_dim(model)}] with N >= 1; got {z.shape}."
        )
    return z


def decode(model: ZooModel, z: Any, labels: Any = None, batch_size: int = BATCH_SIZE) -> tfd.Distribution:
    """p(x|z): a distribution with batch shape [N] and event shape [H, W, C]. z: [N, latent_dim]."""
    z = _codes(model, z)
    labels = labels_for(model, labels, int(z.shape[0]))
    return decode_tensor(model, z, labels, checks.integer("batch_size", batch_size))


def _to_images(distribution: tfd.Distribution, mode: str, seed: int | tf.Tensor | None) -> np.ndarray:
    if mode == "sample":
        return distribution.sample(seed=stateless_seeds(seed, 1)[0]).numpy()
    return getattr(distribution, mode)().numpy()


def reconstruct(
    model: ZooModel,
    x: Any,
    labels: Any = None,
    mode: str = "mean",
    seed: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """Images [N, H, W, C] decoded from the posterior mean of each x: "mean" pixel probabilities, the
    "mode" (binary for Bernoulli pixels), or a "sample" (seeded by `seed`)."""
    mode, batch_size = checks.one_of("mode", mode, MODES), checks.integer("batch_size", batch_size)
    x = _images(model, x)
    labels = labels_for(model, labels, int(x.shape[0]))
    z = encode_tensor(model, x, labels, batch_size).mean()
    return _to_images(decode_tensor(model, z, labels, batch_size), mode, seed)


def prior(model: ZooModel) -> tfd.Distribution:
    """The model's prior p(z) over [latent_dim], learned or fixed: what `prior()` of the layer holding it
    (a `zoo.layers.HasPrior`: the KL term, or the IWAE bound) returns. Raises a ValueError for a model
    without one, such as the plain autoencoder."""
    if not model.has_prior:
        raise ValueError(
            f"{model.zoo_name} is not generative: it has no prior p(z) to sample from. Use a VAE such as "
            "zoo.get('dense_vae')."
        )
    return layers_of_type(model, zl.HasPrior)[0].prior()


def sample(
    model: ZooModel,
    n: int,
    labels: Any = None,
    mode: str = "mean",
    seed: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """n new images [n, H, W, C]: z ~ p(z) (the model's own prior) decoded. Conditional models need
    `labels` (one, or n of them). `mode` is as in `reconstruct`.

    A model with no latent code (the Bernoulli mixture) outputs p(x) itself: "sample" draws x ~ p(x), and
    "mean"/"mode" draw a mixture component c ~ p(c) (its discrete code) and show that component's mean/mode.
    """
    n, mode = checks.integer("n", n), checks.one_of("mode", mode, MODES)
    batch_size = checks.integer("batch_size", batch_size)
    labels = labels_for(model, labels, n)  # refuses labels for an unconditional model
    if not model.has_latent_code:
        return _sample_without_code(model, n, mode, seed)
    z_seed, x_seed = stateless_seeds(seed, 2)
    z = prior(model).sample(n, seed=z_seed)
    return _to_images(decode_tensor(model, z, labels, batch_size), mode, x_seed)


def _sample_without_code(model: ZooModel, n: int, mode: str, seed: int | None) -> np.ndarray:
    """n images [n, H, W, C] from a model whose output is p(x) whatever the values of its input: a mixture
    (`tfd.MixtureSameFamily`) for the "mean" and "mode" modes."""
    p_x = model(tf.zeros([1, *model.inputs[0].shape[1:]]), training=False)  # batch shape [1]
    component_seed, x_seed = stateless_seeds(seed, 2)
    if mode == "sample":
        return p_x.sample(n, seed=x_seed).numpy()[:, 0]
    component = p_x.mixture_distribution.sample(n, seed=component_seed)[:, 0]  # [n] ids in [0, K)
    return tf.gather(getattr(p_x.components_distribution, mode)()[0], component).numpy()


def interpolate(
    model: ZooModel,
    x_a: Any,
    x_b: Any,
    steps: int = 10,
    labels: Any = None,
    mode: str = "mean",
    seed: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """Images decoded along the straight line between the posterior means of x_a and x_b.

    x_a, x_b: two images [H, W, C] -> [steps, H, W, C]; or two batches [N, H, W, C] -> [N, steps, H, W, C]
    (pair i goes from x_a[i] to x_b[i]). Step 0 decodes x_a's code, step steps - 1 decodes x_b's.
    A conditional model uses `labels` (one, or one per pair) for both ends and for decoding. `mode` is as
    in `reconstruct`.
    """
    steps, mode = checks.integer("steps", steps, 2), checks.one_of("mode", mode, MODES)
    batch_size = checks.integer("batch_size", batch_size)
    single = np.ndim(x_a) == len(model.inputs[0].shape) - 1
    x_a, x_b = (np.asarray(x)[None] if single else np.asarray(x) for x in (x_a, x_b))
    if x_a.shape != x_b.shape:
        raise ValueError(f"x_a and x_b must have the same shape; got {x_a.shape} and {x_b.shape}.")
    labels = labels_for(model, labels, len(x_a))
    z_a, z_b = (encode_tensor(model, _images(model, x), labels, batch_size).mean() for x in (x_a, x_b))
    t = tf.linspace(0.0, 1.0, steps)[None, :, None]
    z = (1 - t) * z_a[:, None] + t * z_b[:, None]  # [N, steps, latent_dim]
    path_labels = None if labels is None else np.repeat(labels, steps)
    path = decode_tensor(model, tf.reshape(z, [-1, z.shape[-1]]), path_labels, batch_size)
    images = _to_images(path, mode, seed)
    images = images.reshape(len(x_a), steps, *images.shape[1:])
    return images[0] if single else images
