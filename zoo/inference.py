"""Using a trained model: encode, decode, reconstruct and sample. Works for every registered model.

Conditional models take integer labels [N] (or one-hot [N, num_classes]) through `labels=`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo import layers as zl
from zoo._tf import tf, tfd, tfp
from zoo.model import ZooModel, layers_of_type

MODES = ("mean", "mode", "sample")


def _inputs(model: ZooModel, tensor: Any, labels: Any) -> Any:
    tensor = tf.convert_to_tensor(tensor, dtype=tf.float32)
    if not model.is_conditional:
        if labels is not None:
            raise ValueError(f"{model.zoo_name} is not conditional; do not pass labels.")
        return tensor
    if labels is None:
        raise ValueError(f"{model.zoo_name} is conditional: pass labels=<integer class ids [N]>.")
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == model.num_classes:
        labels = labels.argmax(axis=1)
    labels = np.broadcast_to(labels.reshape(-1), (int(tensor.shape[0]),))
    return [tensor, tf.convert_to_tensor(labels.reshape(-1, 1), dtype=tf.int32)]


def encode(model: ZooModel, x: Any, labels: Any = None) -> tfd.Distribution:
    """q(z|x): a distribution with batch shape [N] and event shape [latent_dim].

    x: images [N, H, W, C] float32. For the plain autoencoder the code is deterministic and is returned as
    a `tfd.Deterministic` distribution, so `.mean()` is the code either way.
    """
    posterior = model.encoder(_inputs(model, x, labels), training=False)
    if isinstance(posterior, tfd.Distribution):
        return posterior
    return tfd.Independent(tfd.Deterministic(posterior), reinterpreted_batch_ndims=1)


def decode(model: ZooModel, z: Any, labels: Any = None) -> tfd.Distribution:
    """p(x|z): a distribution with batch shape [N] and event shape [H, W, C]. z: [N, latent_dim]."""
    return model.decoder(_inputs(model, z, labels), training=False)


def _stateless_seeds(seed: int | None, n: int) -> list:
    """n independent stateless seeds from an int (the same int gives the same draws every call), or
    n Nones (fresh randomness) when seed is None."""
    if seed is None:
        return [None] * n
    return list(tfp.random.split_seed(tf.constant([int(seed), 0], tf.int32), n))


def _to_images(distribution: tfd.Distribution, mode: str, seed=None) -> np.ndarray:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}.")
    if mode == "sample":
        return distribution.sample(seed=seed).numpy()
    return getattr(distribution, mode)().numpy()


def reconstruct(model: ZooModel, x: Any, labels: Any = None, mode: str = "mean") -> np.ndarray:
    """Images [N, H, W, C] decoded from the posterior mean of each x: "mean" pixel probabilities, the
    "mode" (binary), or a "sample"."""
    z = encode(model, x, labels).mean()
    return _to_images(decode(model, z, labels), mode)


def prior(model: ZooModel) -> tfd.Distribution:
    """The model's prior p(z) over [latent_dim]. Raises for the plain autoencoder, which has none."""
    kl_layers = layers_of_type(model, zl.KLDivergence)
    if not kl_layers:
        raise ValueError(
            f"{model.zoo_name} is not generative: it has no prior p(z) to sample from. Use a VAE such as "
            "zoo.get('dense_vae')."
        )
    return kl_layers[0].prior()


def sample(
    model: ZooModel, n: int, labels: Any = None, mode: str = "mean", seed: int | None = None
) -> np.ndarray:
    """n new images [n, H, W, C]: z ~ p(z) decoded. Conditional models need `labels` (one, or n of them)."""
    if int(n) < 1:
        raise ValueError(f"n must be >= 1; got {n}.")
    z_seed, x_seed = _stateless_seeds(seed, 2)
    z = prior(model).sample(int(n), seed=z_seed)
    return _to_images(decode(model, z, labels), mode, seed=x_seed)
