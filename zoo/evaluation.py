"""Evaluation on held-out data, in nats per example: negative ELBO, rate and distortion, the importance
weighted bound on the negative log-likelihood (Burda et al. 2015, "Importance Weighted Autoencoders"), and
the number of active latent units, and the mutual information I_q(x; z) between the data and the code (He
et al. 2019, "Lagging Inference Networks and Posterior Collapse in Variational Autoencoders"): the two
collapse diagnostics.

>>> results = evaluate(model, x_test, k=100, seed=0)
>>> results["neg_elbo"], results["nll_iwae_100"], results["active_units"], results["mutual_information"]

`evaluate` works on every model by inspecting it, never by its name, and returns only the numbers the
model defines (a key is left out rather than set to NaN, so a typo or a misread model fails loudly, and a
`pandas.DataFrame` of several results still lines up, with NaN in the gaps):

- a model with a prior p(z) (`zoo.inference.prior`: learned or fixed, from the layer that holds it) gets
  `neg_elbo`, `distortion`, `rate`, `nll_iwae_{k}`, `active_units` and `mutual_information` (its q(z|x)
  is a density);
- a model with an encoder but no prior (the plain autoencoder) gets `distortion` and `active_units`:
  without p(z) there is no ELBO and no likelihood, and its deterministic code has no density q(z|x), so no
  `mutual_information` either;
- a model with no latent code (`model.has_latent_code` is False: the Bernoulli mixture) outputs p(x)
  itself, so it gets `nll`, its exact negative log-likelihood -log p(x) = -model(x).log_prob(x), and
  `neg_elbo` equal to it (an exact likelihood is its own tightest bound), so one table compares it with
  the VAEs.

`bound` is the estimator itself, written against plain distributions and callables so that it can be
checked on a model whose exact likelihood is known; `mutual_information` likewise takes the posteriors
q(z|x) of any examples, e.g. `mutual_information(zoo.encode(model, x[:1000]), seed=0)` in a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from zoo import checks, data, inference
from zoo._tf import keras, tf, tfd
from zoo.model import ZooModel

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2015: unit u is active if Cov_x(E_q[z_u]) > 0.01


def bound(
    posterior: tfd.Distribution,
    log_likelihood: Callable[[tf.Tensor], tf.Tensor],
    prior: tfd.Distribution | None,
    k: int,
    sample_batch_size: int = 32,
    seed: int | tf.Tensor | None = None,
) -> dict[str, np.ndarray]:
    """Per-example terms of the variational and importance weighted bounds, from k samples z ~ q(z|x).

    Args:
        posterior: q(z|x), batch shape [B], event shape [D].
        log_likelihood: z [S, B, D] -> log p(x|z) [S, B], for the B examples q was computed from.
        prior: p(z) over [D], or None for a model without one (only "distortion" is returned).
        k: number of importance samples per example.
        sample_batch_size: samples drawn and decoded at a time, so memory stays bounded for large k.
            Default value: 32.
        seed: an int or a stateless seed [2] for repeatable draws; None draws fresh ones. Default value: None.

    Returns:
        float64 arrays [B], in nats:
        "distortion": -E_q log p(x|z), the mean over the k samples.
        "rate": KL(q(z|x) || p(z)), in closed form where TFP has it registered, else the Monte-Carlo mean
            of log q(z|x) - log p(z) over the same k samples (the rule of training's "auto" KL estimator).
        "log_px": the IWAE bound log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) <= log p(x), accumulated with
            a running log-sum-exp over sample batches (stable for any k).
    """
    k = checks.integer("k", k)
    sample_batch_size = checks.integer("sample_batch_size", sample_batch_size)
    sizes = [min(sample_batch_size, k - start) for start in range(0, k, sample_batch_size)]
    log_likelihood_sum = log_ratio_sum = 0.0
    log_weight_sumexp = -np.inf
    for size, chunk_seed in zip(sizes, inference.stateless_seeds(seed, len(sizes)), strict=True):
        z = posterior.sample(size, seed=chunk_seed)  # [size, B, D]
        log_px_z = _float64(log_likelihood(z))
        log_likelihood_sum = log_likelihood_sum + log_px_z.sum(axis=0)
        if prior is not None:
            log_ratio = _float64(prior.log_prob(z) - posterior.log_prob(z))  # log p(z) - log q(z|x)
            log_ratio_sum = log_ratio_sum + log_ratio.sum(axis=0)
            log_weight_sumexp = np.logaddexp(log_weight_sumexp, np.logaddexp.reduce(log_px_z + log_ratio))
    terms = {"distortion": -log_likelihood_sum / k}
    if prior is not None:
        terms["rate"] = _exact_kl(posterior, prior, default=-log_ratio_sum / k)
        terms["log_px"] = log_weight_sumexp - math.log(k)
    return terms


def active_units(posterior_means: np.ndarray, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """The number of latent dimensions u whose posterior mean varies across the data: Var_x(E_q[z_u]) >
    threshold (Burda et al. 2015). posterior_means: E_q[z] [N, latent_dim], one row per example."""
    return int((np.var(posterior_means, axis=0) > threshold).sum())


def mutual_information(posterior: tfd.Distribution, seed: int | tf.Tensor | None = None) -> float:
    """I_q(x; z) in nats, over the N examples whose posteriors q(z|x_n) are given, as He et al. 2019 estimate
    it: I = E_x E_q(z|x) log q(z|x) - E_x E_q(z|x) log q(z), with q(z) = (1/N) sum_n q(z|x_n) the aggregate
    posterior of these examples.

    One sample z_i ~ q(z|x_i) per example; log q(z_i) is the log-mean-exp over j of log q(z_i|x_j), all N
    posteriors (the i-th included); E_q log q(z|x) is minus the entropy, in closed form for Gaussians and
    wherever TFP has it, else log q(z_i|x_i) at the same samples. About 0 when q(z|x) does not depend on x (posterior collapse).

    Bias: q(z) is itself estimated from the N examples, so the estimate cannot exceed about log N, whatever
    the true information (q(z_i) >= q(z_i|x_i) / N): it saturates at log N when the posteriors barely
    overlap. Compare numbers estimated over equally many examples. `zoo.evaluate` calls it on each batch of
    `batch_size` examples and averages, as He et al.'s code does, so its "mutual_information" is at most
    about log(batch_size) (4.6 nats at the default 100).

    Args:
        posterior: q(z|x_n), batch shape [N], event shape [D]: e.g. `zoo.encode(model, x)`. Any distribution
            with a density; Gaussians (and `tfd.BatchConcat`s of them) take a fast path.
        seed: an int or a stateless seed [2] for a repeatable estimate; None draws fresh samples.
            Default value: None.

    Returns:
        The estimate in nats (a float). Costs N^2 evaluations of a log-density: call it on hundreds or a
        few thousand examples, not on a whole dataset at once.
    """
    z = posterior.sample(seed=inference.stateless_seeds(seed, 1)[0])  # [N, D]
    gaussian = _gaussian_parameters(posterior)
    if gaussian is not None:
        log_q, neg_entropy = _gaussian_log_densities(*gaussian, _float64(z))
    else:  # any density: TFP evaluates all N x N pairs, broadcast explicitly (a BatchConcat does not broadcast)
        n, d = z.shape
        log_q = _float64(posterior.log_prob(tf.broadcast_to(z[:, None, :], [n, n, d])))
        try:
            neg_entropy = -_float64(posterior.entropy()).mean()
        except NotImplementedError:  # no closed form: the same samples' one-sample estimate
            neg_entropy = np.diagonal(log_q).mean()
    largest = log_q.max(axis=1, keepdims=True)  # log q(z_i) by a log-mean-exp over j, stable
    log_aggregate = largest[:, 0] + np.log(np.exp(log_q - largest).mean(axis=1))
    return float(neg_entropy - log_aggregate.mean())


def _gaussian_log_densities(
    loc: np.ndarray, inverse_scale: np.ndarray, log_det: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, float]:
    """log q(z_i | x_j) [N, N] ([i, j]) for Gaussians q(z|x_j) = N(loc_j, scale_j scale_j^T) and one code z_i
    [N, D] per example, and E_x E_q log q(z|x) = minus the mean entropy, in closed form."""
    n, d = loc.shape
    # inverse_scale_j (z_i - loc_j) for every pair as one matrix product, rows (j, :), columns i
    whitened = (inverse_scale.reshape(n * d, d) @ z.T).reshape(n, d, -1)
    whitened -= np.einsum("jde,je->jd", inverse_scale, loc)[:, :, None]
    log_normalizer = log_det + 0.5 * d * math.log(2 * math.pi)  # [N]
    log_density = -0.5 * np.square(whitened).sum(axis=1) - log_normalizer[:, None]
    return log_density.T, -float(np.mean(log_normalizer + 0.5 * d))


def _gaussian_parameters(posterior: tfd.Distribution) -> tuple[np.ndarray, ...] | None:
    """loc [N, D], scale^-1 [N, D, D] and log|det scale| [N] (float64) of a Gaussian q(z|x) (any TFP
    `MultivariateNormalLinearOperator`, or a `BatchConcat` of them along the batch), else None."""
    posterior = getattr(posterior, "tensor_distribution", posterior)  # a distribution layer's output wraps it
    if isinstance(posterior, tfd.BatchConcat) and posterior.parameters["axis"] == 0:
        parts = [_gaussian_parameters(part) for part in posterior.distributions]
        if any(part is None for part in parts):
            return None
        return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    if not isinstance(posterior, tfd.MultivariateNormalLinearOperator):
        return None
    loc, scale = _float64(posterior.mean()), posterior.scale
    n, d = loc.shape  # the scale may be shared by the batch: broadcast it
    inverse_scale = np.broadcast_to(_float64(scale.inverse().to_dense()), (n, d, d))
    return loc, inverse_scale, np.broadcast_to(_float64(scale.log_abs_determinant()), (n,))


def _float64(tensor: tf.Tensor) -> np.ndarray:
    return np.asarray(tensor, dtype=np.float64)


def _exact_kl(posterior: tfd.Distribution, prior: tfd.Distribution, default: np.ndarray) -> np.ndarray:
    try:
        return _float64(tfd.kl_divergence(posterior, prior))
    except NotImplementedError:  # no closed form registered, e.g. a mixture prior
        return default


def _log_likelihood_fn(model: ZooModel, x: tf.Tensor, labels: np.ndarray | None) -> Callable:
    """z [S, B, D] -> log p(x|z) [S, B] for the B images x (and their labels), decoding S * B rows."""

    def log_likelihood(z: tf.Tensor) -> tf.Tensor:
        size = int(z.shape[0])
        flat = tf.reshape(z, [-1, z.shape[-1]])  # row s * B + b holds z[s, b]
        tiled_labels = None if labels is None else np.tile(labels, size)
        likelihood = inference.decode_tensor(model, flat, tiled_labels, batch_size=int(flat.shape[0]))
        tiled_x = tf.tile(x, [size] + [1] * (x.shape.rank - 1))
        return tf.reshape(likelihood.log_prob(tiled_x), [size, -1])

    return log_likelihood


def evaluate(
    model: ZooModel,
    x: Any,
    labels: Any = None,
    k: int = 100,
    batch_size: int = 100,
    sample_batch_size: int = 32,
    seed: int | None = 0,
    verbose: int = 1,
) -> dict[str, float]:
    """Held-out metrics in nats per example (means over x), plus the number of active units.

    Args:
        model: a zoo model (trained or not).
        x: images [N, H, W, C] float32, binary {0, 1} for Bernoulli pixels; numpy array or tensor.
        labels: class ids [N] (or one-hot [N, num_classes], or one int) for a conditional model; required
            there, refused elsewhere.
        k: importance samples per example (Burda et al. report k = 5000). Default value: 100.
        batch_size: examples encoded at a time. Default value: 100.
        sample_batch_size: samples per example decoded at a time; the decoder sees at most
            batch_size * sample_batch_size rows at once, whatever k. Default value: 32.
        seed: the same int gives the same numbers on every call (for the same batch sizes); None draws
            fresh samples. Default value: 0.
        verbose: 1 shows a Keras progress bar over the images (k = 1000 on a conv net takes tens of seconds
            per 100 images on a CPU), 0 nothing. Default value: 1.

    Returns:
        A dict of floats, holding what the model defines (see the module docstring):
        "neg_elbo": "distortion" + "rate", the negative ELBO with beta = 1, whatever beta trained the model;
        "distortion": -E_q log p(x|z); "rate": KL(q(z|x) || p(z));
        f"nll_iwae_{k}" (e.g. "nll_iwae_100"): minus the k-sample importance weighted bound, an upper bound
            on the negative log-likelihood that tightens as k grows (k = 1 is -ELBO in expectation);
        "nll": the exact negative log-likelihood, for a model with no latent code ("neg_elbo" equals it);
        "active_units": the number of latent dimensions u with Cov_x(E_q[z_u]) > 0.01 (an int);
        "mutual_information": I_q(x; z) in nats (`mutual_information`), estimated on each batch of
            `batch_size` examples and averaged over the batches weighted by their sizes, as in He et al.'s
            code: at most about log(batch_size), so compare it at equal batch sizes; about 0 for a collapsed
            posterior. For the models with a prior (their q(z|x) is a density).
        Without a prior, "distortion" uses one sample z ~ q (exact for a deterministic code).

    Raises:
        ValueError: bad arguments (k < 1, ...), images or labels that do not fit the model, or labels
            missing for a conditional model.
    """
    k = checks.integer("k", k)
    batch_size = checks.integer("batch_size", batch_size)
    sample_batch_size = checks.integer("sample_batch_size", sample_batch_size)
    x = np.asarray(x)  # checked once here; the batches go to the unchecked tensor functions
    data.check_images(
        x,
        tuple(model.inputs[0].shape[1:]),
        model.has_bernoulli_likelihood,
        model.zoo_name,
        unit_interval=model.has_unit_interval_likelihood,
    )
    labels = inference.labels_for(model, labels, len(x))
    prior = inference.prior(model) if model.has_prior else None
    # k equal draws give the bound of one: a point-mass posterior is scored with one (exactly the same)
    samples = k if prior is not None and not model.has_point_mass_posterior else 1
    starts = range(0, len(x), batch_size)
    sums: dict[str, float] = {}
    posterior_means = []
    progress = keras.utils.Progbar(
        len(x), verbose=checks.one_of("verbose", verbose, (0, 1)), unit_name="image"
    )
    # the mutual information's samples come from a stream of their own, so the other numbers stay as they were
    information_seeds = inference.stateless_seeds(
        None if seed is None else tf.constant([seed, 1]), len(starts)
    )
    batch_seeds = inference.stateless_seeds(seed, len(starts))
    for start, batch_seed, information_seed in zip(starts, batch_seeds, information_seeds, strict=True):
        rows = slice(start, start + batch_size)
        x_batch = tf.convert_to_tensor(x[rows], tf.float32)
        label_batch = None if labels is None else labels[rows]
        if model.has_latent_code:
            posterior = inference.encode_tensor(model, x_batch, label_batch, batch_size=batch_size)
            posterior_means.append(posterior.mean().numpy())
            log_likelihood = _log_likelihood_fn(model, x_batch, label_batch)
            terms = bound(posterior, log_likelihood, prior, samples, sample_batch_size, batch_seed)
            if prior is not None:  # a stochastic encoder: q(z|x) is a density (the autoencoder's code is not)
                information = mutual_information(posterior, information_seed)
                terms["mutual_information"] = np.full(len(x_batch), information)  # batch-size weighted mean
        else:
            inputs = x_batch if label_batch is None else [x_batch, label_batch[:, None]]
            nll = -_float64(model(inputs, training=False).log_prob(x_batch))
            terms = {"nll": nll, "neg_elbo": nll}  # exact: the bound and the likelihood coincide
        for key, values in terms.items():
            sums[key] = sums.get(key, 0.0) + float(values.sum())
        progress.add(len(x_batch))
    results = {key: total / len(x) for key, total in sums.items()}
    if "log_px" in results:
        results["neg_elbo"] = results["distortion"] + results["rate"]
        results[f"nll_iwae_{k}"] = -results.pop("log_px")
    if posterior_means:
        results["active_units"] = active_units(np.concatenate(posterior_means))
    return results
