"""Using a trained model: encode, decode, reconstruct, sample, interpolate and attribute vectors, for every
registered model with a latent code (`sample` also for a model without one, such as the Bernoulli mixture).

Inputs may be numpy arrays or tensors; the networks run on at most `batch_size` rows at a time, so large
inputs fit in memory. Conditional models take labels through `labels=`: one integer for all rows, integer
class ids [N], or one-hot [N, num_classes]. A model built on vectors (`input_shape=(D,)`, a table's rows)
takes and returns vectors [N, D] wherever images [N, H, W, C] are written below.

>>> posterior = encode(model, x[:8])            # q(z|x), batch shape [8]
>>> images = sample(model, 16, seed=0)          # [16, 28, 28, 1], z ~ the model's own prior
>>> path = interpolate(model, x[0], x[1], steps=8)                   # [8, 28, 28, 1], along the slerp path
>>> bolder = attribute_vector(model, x[thick], x[thin])              # [latent_dim]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from zoo import checks, data
from zoo import layers as zl
from zoo._tf import keras, tf, tfd, tfp
from zoo.model import ZooModel, layers_of_type

MODES = ("mean", "mode", "sample")
PATHS = ("slerp", "linear")
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


def encode_tensor(
    model: ZooModel, x: tf.Tensor, labels: np.ndarray | None, batch_size: int
) -> tfd.Distribution:
    """`encode` without the checks, for callers that made them once: x float32 [N, H, W, C], labels int32 [N]
    or None."""
    parts = []
    for inputs in _chunks(x, labels, batch_size):
        posterior = model.encoder(inputs, training=False)
        if not isinstance(posterior, tfd.Distribution):
            posterior = tfd.Independent(tfd.Deterministic(posterior), reinterpreted_batch_ndims=1)
        parts.append(posterior)
    return _concat(parts)


def decode_tensor(
    model: ZooModel,
    z: tf.Tensor,
    labels: np.ndarray | None,
    batch_size: int,
    progress: keras.utils.Progbar | None = None,
) -> tfd.Distribution:
    """`decode` without the checks: z float32 [N, latent_dim], labels int32 [N] or None. `progress`, if
    given, advances by each slice's rows as it is decoded."""
    parts = []
    for inputs in _chunks(z, labels, batch_size):
        parts.append(model.decoder(inputs, training=False))
        if progress is not None:
            progress.add(int(tf.nest.flatten(inputs)[0].shape[0]))
    return _concat(parts)


def encode(model: ZooModel, x: Any, labels: Any = None, batch_size: int = BATCH_SIZE) -> tfd.Distribution:
    """q(z|x): a distribution with batch shape [N] and event shape [latent_dim].

    x: images [N, H, W, C] (or vectors [N, D]) float32. For the plain autoencoder the code is deterministic and is returned as
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
    """p(x|z): a distribution with batch shape [N] and event shape [H, W, C] (the model's input shape, [D]
    for vectors). z: [N, latent_dim]."""
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
    verbose: int | str = "auto",
) -> np.ndarray:
    """n new images [n, H, W, C]: z ~ p(z) (the model's own prior) decoded. Conditional models need
    `labels` (one, or n of them). `mode` is as in `reconstruct`. `verbose`: 1 shows a Keras progress bar
    over the images as they are decoded, `batch_size` at a time; 0 nothing; "auto" the bar when there is
    more than one batch. Default value: "auto".

    A model with no latent code (the Bernoulli mixture) outputs p(x) itself: "sample" draws x ~ p(x), and
    "mean"/"mode" draw a mixture component c ~ p(c) (its discrete code) and show that component's mean/mode.
    """
    n, mode = checks.integer("n", n), checks.one_of("mode", mode, MODES)
    batch_size = checks.integer("batch_size", batch_size)
    verbose = checks.one_of("verbose", verbose, (0, 1, "auto"))
    labels = labels_for(model, labels, n)  # refuses labels for an unconditional model
    if not model.has_latent_code:
        return _sample_without_code(model, n, mode, seed)
    z_seed, x_seed = stateless_seeds(seed, 2)
    z = prior(model).sample(n, seed=z_seed)
    shown = int(n > batch_size) if verbose == "auto" else verbose
    progress = keras.utils.Progbar(n, verbose=shown, unit_name="image")
    return _to_images(decode_tensor(model, z, labels, batch_size, progress), mode, x_seed)


def _sample_without_code(model: ZooModel, n: int, mode: str, seed: int | None) -> np.ndarray:
    """n images [n, H, W, C] from a model whose output is p(x) whatever the values of its input: a mixture
    (`tfd.MixtureSameFamily`) for the "mean" and "mode" modes."""
    p_x = model(tf.zeros([1, *model.inputs[0].shape[1:]]), training=False)  # batch shape [1]
    component_seed, x_seed = stateless_seeds(seed, 2)
    if mode == "sample":
        return p_x.sample(n, seed=x_seed).numpy()[:, 0]
    component = p_x.mixture_distribution.sample(n, seed=component_seed)[:, 0]  # [n] ids in [0, K)
    return tf.gather(getattr(p_x.components_distribution, mode)()[0], component).numpy()


def interpolate_codes(z_a: Any, z_b: Any, steps: int = 10, path: str = "slerp") -> np.ndarray:
    """Codes float32 [N, steps, D] from z_a [N, D] (step 0, exactly) to z_b [N, D] (step steps - 1, exactly).

    "linear": (1 - t) z_a + t z_b. "slerp": the spherical interpolation of White 2016 ("Sampling Generative
    Networks", sec. 2.1), sin((1 - t) w) / sin(w) z_a + sin(t w) / sin(w) z_b with w the angle between the
    two codes: between codes of equal norm every point keeps that norm, where the straight line cuts inside
    the shell on which a Gaussian's typical codes lie (its midpoint has norm |z| cos(w / 2)). Where the
    angle is undefined or the great circle is not unique (a zero code, parallel or opposite codes), slerp
    is the straight line.

    >>> interpolate_codes([[1.0, 0.0]], [[0.0, 1.0]], steps=3)[0, 1]      # slerp: norm 1
    array([0.70710677, 0.70710677], dtype=float32)
    """
    steps, path = checks.integer("steps", steps, 2), checks.one_of("path", path, PATHS)
    z_a, z_b = (np.asarray(z, dtype=np.float64) for z in (z_a, z_b))
    if z_a.ndim != 2 or z_a.shape != z_b.shape:
        raise ValueError(
            f"interpolate_codes needs z_a and z_b of one shape [N, latent_dim]; got {z_a.shape} and "
            f"{z_b.shape}. Pass one code as z[None]."
        )
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    weight_a, weight_b = 1 - t, t
    if path == "slerp":
        norms = np.linalg.norm(z_a, axis=-1) * np.linalg.norm(z_b, axis=-1)
        cosine = np.sum(z_a * z_b, axis=-1) / np.where(norms > 0, norms, 1.0)
        angle = np.arccos(np.clip(cosine, -1.0, 1.0))[:, None, None]
        sine = np.sin(angle)
        curved = (sine > 1e-6) & (norms > 0)[:, None, None]
        sine = np.where(curved, sine, 1.0)
        weight_a = np.where(curved, np.sin((1 - t) * angle) / sine, weight_a)
        weight_b = np.where(curved, np.sin(t * angle) / sine, weight_b)
    return (weight_a * z_a[:, None] + weight_b * z_b[:, None]).astype(np.float32)


def interpolate(
    model: ZooModel,
    x_a: Any,
    x_b: Any,
    steps: int = 10,
    labels: Any = None,
    mode: str = "mean",
    seed: int | None = None,
    batch_size: int = BATCH_SIZE,
    path: str = "slerp",
) -> np.ndarray:
    """Images decoded along a path between the posterior means of x_a and x_b: the great circle ("slerp",
    White 2016; the default) or the straight line ("linear", the only path before `path=` existed), as
    `interpolate_codes` computes them.

    x_a, x_b: two images [H, W, C] -> [steps, H, W, C]; or two batches [N, H, W, C] -> [N, steps, H, W, C]
    (pair i goes from x_a[i] to x_b[i]). Step 0 decodes x_a's code, step steps - 1 decodes x_b's.
    A conditional model uses `labels` (one, or one per pair) for both ends and for decoding. `mode` is as
    in `reconstruct`.

    Why slerp: under the N(0, I) prior the codes of real digits lie on a shell, and the straight line
    between two of them cuts inside it. Measured between 250 pairs of encoded mnist-5k test digits with a
    dense_vae (latent_dim 8, 5 epochs; `python docs/make_gallery.py`, table in docs/gallery.md), at the
    paths' midpoints: log p(z) is -9.9 on the line, -12.5 on slerp, -12.4 at the digits themselves (18%
    of the line's midpoints are more probable than 99% of the digits, none of slerp's); decoded, slerp's
    are sharper and a digit classifier reads them more surely (confidence 0.72 against 0.67; the digits'
    codes 0.77). The density of the training digits' codes (the aggregate posterior) prefers the line,
    though: log q(z) -10.9 against -13.4 (the digits -10.6).
    """
    steps, mode = checks.integer("steps", steps, 2), checks.one_of("mode", mode, MODES)
    batch_size, path = checks.integer("batch_size", batch_size), checks.one_of("path", path, PATHS)
    single = np.ndim(x_a) == len(model.inputs[0].shape) - 1
    x_a, x_b = (np.asarray(x)[None] if single else np.asarray(x) for x in (x_a, x_b))
    if x_a.shape != x_b.shape:
        raise ValueError(f"x_a and x_b must have the same shape; got {x_a.shape} and {x_b.shape}.")
    labels = labels_for(model, labels, len(x_a))
    z_a, z_b = (encode_tensor(model, _images(model, x), labels, batch_size).mean() for x in (x_a, x_b))
    z = interpolate_codes(z_a, z_b, steps, path)  # [N, steps, latent_dim]
    path_labels = None if labels is None else np.repeat(labels, steps)
    decoded = decode_tensor(model, tf.constant(z.reshape(-1, z.shape[-1])), path_labels, batch_size)
    images = _to_images(decoded, mode, seed)
    images = images.reshape(len(x_a), steps, *images.shape[1:])
    return images[0] if single else images


def attribute_vector(
    model: ZooModel,
    x_with: Any,
    x_without: Any,
    labels_with: Any = None,
    labels_without: Any = None,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """The direction of an attribute in code space (White 2016, sec. 2.3; Larsen et al. 2016): the mean
    posterior-mean code of the images that have it minus that of the images that do not.

    x_with [N, H, W, C], x_without [M, H, W, C]: images with and without the attribute (bold strokes, a
    class, a slant); a conditional model also takes their labels. Returns float32 [latent_dim]. Adding it
    to the code of an image without the attribute moves that code by the mean difference:
    `zoo.decode(model, encode(model, x).mean() + vector)`, or `zoo.plots.attribute_walk`.
    """
    batch_size = checks.integer("batch_size", batch_size)
    means = []
    for name, x, labels in (("x_with", x_with, labels_with), ("x_without", x_without, labels_without)):
        if np.ndim(x) != len(model.inputs[0].shape) or len(x) == 0:
            raise ValueError(
                f"attribute_vector needs {name} as a non-empty batch of images [N, H, W, C]; got shape "
                f"{np.shape(x)}. Pass one image as x[None]."
            )
        x = _images(model, x)
        codes = encode_tensor(model, x, labels_for(model, labels, int(x.shape[0])), batch_size).mean()
        means.append(np.mean(codes.numpy(), axis=0, dtype=np.float64))
    return (means[0] - means[1]).astype(np.float32)
