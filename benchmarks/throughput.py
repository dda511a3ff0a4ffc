"""Training throughput of zoo models against hand-written TensorFlow, and what the zoo costs.

Parts (all by default; pick some with --parts):

- `ratio`: images/s of `zoo.get(name).fit(...)` against a hand-written `tf.function` + `GradientTape` loop
  over exactly the same network (the zoo model's own Dense/Conv layers, cloned with the same weights) and
  the same loss written by hand: Bernoulli log-likelihood from logits (`sigmoid_cross_entropy_with_logits`
  summed over pixels) plus the closed-form KL of the full-covariance Gaussian posterior to N(0, I), with a
  reparameterized sample, Adam at the same learning rate and batch size, fed by `tf.data`. The contestants
  alternate in one process, several repeats, medians; the first (tracing) epoch is reported separately.
- `flops`: FLOPs per training example counted layer by layer, achieved GFLOP/s, against the machine's
  measured float32 matrix-multiply rate (numpy and TensorFlow).
- `scaling`: epoch time of `fit` for 1k, 5k, 20k and 60k examples (it should be linear).
- `memory`: resident memory after every epoch, in one long `fit` and over repeated `fit` calls (it should
  not grow with the number of epochs).
- `calls`: what a call costs besides its steps: the end of `fit`, and whole `evaluate`/`predict` calls,
  with the zoo's array feeding against stock Keras; the first calls' tracing with steps_per_execution 1
  and 8.
- `xla`: `jit_compile=True` for every registered model with a short final batch (1,000 examples, batch
  128): which train, evaluate and predict, with the error of those that fail, and the speed against
  the same model without XLA.

    python benchmarks/throughput.py                          # everything, about 15 minutes on 2 cores
    python benchmarks/throughput.py --parts ratio --models conv_vae --repeats 7
    python benchmarks/throughput.py --smoke --out /tmp/t     # seconds: the CI smoke run

Writes `<name>.json` (every measurement) and `<name>.md` (the tables) to --out (name: throughput).
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import (
    RESULTS,
    alternate,
    log,
    machine,
    median,
    memory_mb,
    table,
    training_images,
    write_results,
)

import zoo
from zoo import layers as zl
from zoo._tf import keras, tf, tfp, tfpl

PARTS = ("ratio", "breakdown", "flops", "scaling", "memory", "calls", "xla")


# ---- the hand-written twin --------------------------------------------------------------------------------


def _deterministic_prefix(network: keras.Model) -> list[keras.layers.Layer]:
    """The layers of an encoder or decoder Sequential before its first distribution layer."""
    prefix = []
    for layer in network.layers:
        if isinstance(layer, tfpl.DistributionLambda):
            return prefix
        prefix.append(layer)
    raise ValueError(f"{network.name} has no distribution layer: it is not a VAE part.")


def _clone(network: keras.Model, input_shape: Sequence[int]) -> keras.Sequential:
    """Fresh copies of `network`'s deterministic layers, with the same weights."""
    layers = _deterministic_prefix(network)
    clone = keras.Sequential(
        [keras.Input(tuple(input_shape))] + [type(layer).from_config(layer.get_config()) for layer in layers]
    )
    for source, target in zip(layers, clone.layers, strict=True):
        target.set_weights(source.get_weights())
    return clone


class HandWritten:
    """The same VAE as a zoo model, trained by a hand-written `tf.function` step with the loss by hand.

    `fit_epochs(x, epochs)` trains on the binary images x [N, H, W, 1] with a `tf.data` pipeline (shuffle
    every epoch, batches of `batch_size`, prefetch), like `fit` with `shuffle=True`. `jit_compile=True`
    compiles the step with XLA, the twin of a zoo model built with `jit_compile=True`.
    """

    def __init__(self, model: zoo.ZooModel, batch_size: int, learning_rate: float, jit_compile: bool = False):
        posterior = next(x for x in model.encoder.layers if isinstance(x, tfpl.DistributionLambda))
        if not isinstance(posterior, (zl.MultivariateNormalTriL, zl.MultivariateNormalDiag)):
            raise ValueError(
                f"{model.zoo_name}: no hand-written twin for a {type(posterior).__name__} posterior."
            )
        self.full = isinstance(posterior, zl.MultivariateNormalTriL)
        self.latent_dim = posterior.event_size
        self.image_shape = tuple(model.inputs[0].shape[1:])
        self.encoder = _clone(model.encoder, self.image_shape)
        self.decoder = _clone(model.decoder, (self.latent_dim,))
        self.variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.batch_size = batch_size
        self.step = tf.function(
            self._step,
            input_signature=[tf.TensorSpec((None, *self.image_shape), tf.float32)],
            jit_compile=jit_compile,
        )
        self._datasets: dict[int, tf.data.Dataset] = {}

    def kl_and_sample(self, params: tf.Tensor, noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """KL(q(z|x) || N(0, I)) [N] in closed form, and z = loc + L noise [N, d], from the encoder's output
        params [N, params_size] (loc, then the scale's lower triangle, or its diagonal) and noise [N, d]."""
        d = self.latent_dim
        loc = params[:, :d]
        if self.full:
            tril = tfp.math.fill_triangular(params[:, d:])
            scale_diag = tf.math.softplus(tf.linalg.diag_part(tril)) + 1e-5
            # elementwise, not tf.linalg.set_diag, whose gradient XLA cannot compile for a short batch
            off_diagonal = 1.0 - tf.eye(d, dtype=params.dtype)
            scale = tril * off_diagonal + tf.linalg.diag(scale_diag)
            z = loc + tf.linalg.matvec(scale, noise)
            trace = tf.reduce_sum(tf.square(scale), axis=[-2, -1])  # tr(L L^T) = ||L||_F^2
        else:
            scale_diag = tf.math.softplus(params[:, d:]) + 1e-5
            z = loc + scale_diag * noise
            trace = tf.reduce_sum(tf.square(scale_diag), axis=-1)
        log_det = tf.reduce_sum(tf.math.log(scale_diag), axis=-1)
        return 0.5 * (trace + tf.reduce_sum(tf.square(loc), axis=-1) - d) - log_det, z

    def distortion(self, x: tf.Tensor, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        """-log p(x|z) [N] for binary images x [N, H, W, C]: sigmoid cross-entropy summed over pixels."""
        logits = tf.reshape(self.decoder(z, training=training), tf.shape(x))
        return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3])

    def negative_elbo(self, x: tf.Tensor) -> tf.Tensor:
        """Mean over the batch of -log p(x|z) + KL(q(z|x) || N(0, I)), z ~ q(z|x) reparameterized."""
        params = self.encoder(x, training=True)
        kl, z = self.kl_and_sample(params, tf.random.normal([tf.shape(x)[0], self.latent_dim]))
        return tf.reduce_mean(self.distortion(x, z, training=True) + kl)

    def _step(self, x: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self.negative_elbo(x)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.variables), self.variables, strict=True))
        return loss

    def dataset(self, x: np.ndarray) -> tf.data.Dataset:
        key = id(x)
        if key not in self._datasets:
            ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=0, reshuffle_each_iteration=True)
            options = tf.data.Options()
            options.autotune.enabled = False  # else each epoch's iterator may stall ~1 s on deletion
            self._datasets[key] = ds.batch(self.batch_size).prefetch(2).with_options(options)
        return self._datasets[key]

    def fit_epochs(self, x: np.ndarray, epochs: int) -> float:
        """Train `epochs` epochs on x; returns the last batch's loss."""
        loss = tf.constant(0.0)
        for _ in range(epochs):
            for batch in self.dataset(x):
                loss = self.step(batch)
        return float(loss)


def _inputs(model: zoo.ZooModel, x: np.ndarray, labels: np.ndarray):
    return [x, labels] if model.is_conditional else x


# ---- part: ratio ------------------------------------------------------------------------------------------


def measure_ratio(
    name: str, x: np.ndarray, batch_size: int, epochs: int, repeats: int, variants: Sequence[str]
) -> dict[str, Any]:
    """Alternate zoo `fit` and the hand-written loop (and any `variants`) on x; seconds per epoch, images/s,
    and the ratios to the hand-written loop. "zoo" is the model at its defaults; variants change them:
    "speK" steps_per_execution=K, "xla" jit_compile=True, "xla_speK" both, "hand_xla" the hand-written
    step with XLA."""
    keras.utils.set_random_seed(0)
    model = zoo.get(name)
    learning_rate = float(keras.backend.get_value(model.optimizer.learning_rate))
    hand = HandWritten(model, batch_size, learning_rate)
    hands = {"hand": hand}
    models = {"zoo": model}
    for variant in variants:
        if variant == "hand_xla":
            hands[variant] = HandWritten(model, batch_size, learning_rate, jit_compile=True)
            continue
        options = variant.split("_")  # "xla", "spe8" or both: "xla_spe8"; what is not named is the default
        hparams = {"jit_compile": True} if "xla" in options else {}
        for option in options:
            if option.startswith("spe"):
                hparams["steps_per_execution"] = int(option[3:])
        built = zoo.get(name, **hparams)
        built.set_weights(model.get_weights())
        models[f"zoo_{variant}"] = built

    def zoo_run(m: zoo.ZooModel, n_epochs: int) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            m.fit(x, x, batch_size=batch_size, epochs=n_epochs, verbose=0)
            return (time.perf_counter() - start) / n_epochs

        return run

    def hand_run(h: HandWritten, n_epochs: int) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            h.fit_epochs(x, n_epochs)
            return (time.perf_counter() - start) / n_epochs

        return run

    log(f"{name}: first epoch (tracing) of each contestant")
    first, failed = {}, {}
    for key, m in list(models.items()):
        try:
            first[key] = zoo_run(m, 1)()
        except Exception as error:  # e.g. XLA on a model it cannot compile: report it, time the others
            failed[key] = _first_line(error)
            del models[key]
            log(f"  {key} failed: {failed[key]}")
    for key, h in hands.items():
        first[key] = hand_run(h, 1)()
    log(f"{name}: {repeats} alternating repeats of {epochs} epochs on {len(x)} images")
    contestants: dict[str, Callable[[], float]] = {key: zoo_run(m, epochs) for key, m in models.items()}
    contestants.update({key: hand_run(h, epochs) for key, h in hands.items()})
    times = alternate(contestants, repeats)
    check_start = time.perf_counter()
    zoo.data.check_model_inputs(model, x, x)
    check_seconds = time.perf_counter() - check_start
    result: dict[str, Any] = {
        "model": name,
        "examples": len(x),
        "batch_size": batch_size,
        "epochs_per_repeat": epochs,
        "repeats": repeats,
        "first_epoch_seconds": first,
        "failed": failed,
        "seconds_per_epoch": times,
        "input_check_seconds_per_fit": check_seconds,
        "tracing_count": {
            **{k: m.train_function.experimental_get_tracing_count() for k, m in models.items()},
            **{k: h.step.experimental_get_tracing_count() for k, h in hands.items()},
        },
    }
    if "zoo_xla" in times:
        result["xla_break_even_epochs"] = xla_break_even(first, times)
    for key, values in times.items():
        result[f"{key}_images_per_s"] = len(x) / median(values)
        # the ratio within each repeat (the contestants ran side by side), then its median
        result[f"{key}_over_hand"] = median(h / t for h, t in zip(times["hand"], values, strict=True))
    log(f"{name}: {repeats} rounds of {epochs} epochs with the hand-written steps interleaved")
    pairs = {key: (m, hand) for key, m in models.items()}
    if "zoo_xla" in models and "hand_xla" in hands:  # XLA against XLA, too
        pairs["zoo_xla_vs_hand_xla"] = (models["zoo_xla"], hands["hand_xla"])
    interleaved = {}
    for key, (m, paired_hand) in pairs.items():
        rounds = []
        for _ in range(repeats):
            pairing = _Interleave(paired_hand, x)
            m.fit(x, x, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[pairing])
            rounds.append(pairing.totals())
        interleaved[key] = {
            "rounds": rounds,
            "speed_vs_hand": median(r["hand_seconds"] / r["zoo_seconds"] for r in rounds),
            "zoo_images_per_s": median(r["examples"] / r["zoo_seconds"] for r in rounds),
            "hand_images_per_s": median(r["examples"] / r["hand_seconds"] for r in rounds),
        }
        log(f"  {key}: speed vs hand-written {interleaved[key]['speed_vs_hand']:.3f} (interleaved)")
    result["interleaved"] = interleaved
    return result


def xla_break_even(first: dict[str, float], times: dict[str, list[float]]) -> float | None:
    """Epochs after which `jit_compile=True` has paid for its compilation: the extra seconds of the XLA
    model's first epoch (over its own later epochs, beyond the plain model's tracing) divided by the seconds
    it saves per later epoch; None if it saves nothing."""
    steady_plain, steady_xla = median(times["zoo"]), median(times["zoo_xla"])
    compile_seconds = (first["zoo_xla"] - steady_xla) - (first["zoo"] - steady_plain)
    saved = steady_plain - steady_xla
    return max(compile_seconds, 0.0) / saved if saved > 0 else None


class _Interleave(keras.callbacks.Callback):
    """Pairs every training step of a zoo `fit` with one hand-written step, run from the batch hook, and
    times the two apart: the zoo's time is everything between two hand-written steps (its step, data
    fetch, and the Keras loop and callback machinery), the hand-written time the step plus its `tf.data`
    fetch. Both see the same moment-to-moment load, which is what makes the ratio trustworthy on a
    shared machine. With `steps_per_execution=K` the hook runs every K steps and catches up K steps."""

    def __init__(self, hand: HandWritten, x: np.ndarray):
        super().__init__()
        self._supports_tf_logs = True  # never convert the logs to numpy per batch (that would sync)
        self.hand, self.batches = hand, iter(hand.dataset(x).repeat())
        self.zoo_seconds = self.hand_seconds = 0.0
        self.hand_steps = 0

    def on_train_begin(self, logs=None):
        self.first_iteration = int(self.model.optimizer.iterations.numpy())
        self.mark = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.zoo_seconds += now - self.mark
        zoo_steps = int(self.model.optimizer.iterations.numpy()) - self.first_iteration
        while self.hand_steps < zoo_steps:
            self.hand.step(next(self.batches))
            self.hand_steps += 1
        self.mark = time.perf_counter()
        self.hand_seconds += self.mark - now

    def totals(self) -> dict[str, float]:
        return {
            "zoo_seconds": self.zoo_seconds,
            "hand_seconds": self.hand_seconds,
            "steps": self.hand_steps,
            "examples": self.hand_steps * self.hand.batch_size,  # close: the last batch may be short
        }


# ---- part: breakdown --------------------------------------------------------------------------------------


def measure_breakdown(
    name: str, x: np.ndarray, batch_size: int, steps: int, repeats: int, jit_compile: bool = False
) -> dict[str, Any]:
    """Where a gap between `fit` and the hand-written loop would come from. On the same batches, step by
    step interleaved, three `tf.function` training steps, each with its own copy of the weights and Adam:

    - `hand`: the hand-written loss (the baseline);
    - `zoo_layers`: the zoo model called in a plain GradientTape step, loss `-model(x).log_prob(x)` plus
      `model.losses` (the distribution layers and the KL layer, without Keras' `train_step`);
    - `keras_train_step`: the zoo model's own `train_step` (compiled loss, loss tracker and `kl` metric).

    Speed relative to `hand` is the ratio of the summed step times; what `fit` adds beyond
    `keras_train_step` is its Python loop, callbacks and input pipeline (see the interleaved ratio).
    `jit_compile=True` compiles all three steps with XLA."""
    keras.utils.set_random_seed(0)
    base = zoo.get(name)
    learning_rate = float(keras.backend.get_value(base.optimizer.learning_rate))
    hand = HandWritten(base, batch_size, learning_rate, jit_compile=jit_compile)
    layers_model, step_model = zoo.get(name), base  # the hand-written twin copied base's weights already
    layers_model.set_weights(base.get_weights())
    optimizer = keras.optimizers.Adam(learning_rate)
    spec = [tf.TensorSpec((None, *hand.image_shape), tf.float32)]

    @tf.function(input_signature=spec, jit_compile=jit_compile)
    def zoo_layers_step(batch: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(-layers_model(batch, training=True).log_prob(batch)) + tf.add_n(
                layers_model.losses
            )
        variables = layers_model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    keras_step = tf.function(
        lambda batch: step_model.train_step((batch, batch)), input_signature=spec, jit_compile=jit_compile
    )
    contestants = {"hand": hand.step, "zoo_layers": zoo_layers_step, "keras_train_step": keras_step}
    batches = [tf.constant(x[i : i + batch_size]) for i in range(0, len(x) - batch_size + 1, batch_size)]
    for step in contestants.values():  # trace
        step(batches[0])
    totals: dict[str, list[float]] = {key: [] for key in contestants}
    for _ in range(repeats):
        sums = dict.fromkeys(contestants, 0.0)
        for i in range(steps):
            batch = batches[i % len(batches)]
            for key, step in contestants.items():
                start = time.perf_counter()
                step(batch)
                sums[key] += time.perf_counter() - start
        for key, total in sums.items():
            totals[key].append(total)
        log("  " + ", ".join(f"{key} {total:.2f}s" for key, total in sums.items()))
    return {
        "model": name,
        "xla": jit_compile,
        "steps": steps,
        "batch_size": batch_size,
        "seconds": totals,
        **{
            f"{key}_speed_vs_hand": median(h / t for h, t in zip(totals["hand"], values, strict=True))
            for key, values in totals.items()
        },
    }


# ---- part: flops ------------------------------------------------------------------------------------------


def layer_flops(layer: keras.layers.Layer) -> float:
    """Multiply-add FLOPs (2 per multiply-add) of one example through `layer` in the forward pass."""
    if isinstance(layer, keras.layers.Dense):
        return 2.0 * layer.input_shape[-1] * layer.units
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        kernel = math.prod(layer.kernel_size) * layer.kernel.shape[-2] * layer.kernel.shape[-1]
        # Conv2D: every output pixel is a kernel-sized dot product; Conv2DTranspose: every input pixel
        # scatters a kernel-sized block (its kernel is [kh, kw, out, in]).
        shape = layer.input_shape if isinstance(layer, keras.layers.Conv2DTranspose) else layer.output_shape
        return 2.0 * kernel * shape[1] * shape[2]
    return 0.0


def training_flops(model: zoo.ZooModel) -> dict[str, float]:
    """FLOPs per example of the forward pass and of a training step (forward, then the gradients with
    respect to every weight and to every layer input but the first layer's: about 3x forward)."""
    layers = [layer for part in (model.encoder, model.decoder) for layer in part.layers]
    forward = [layer_flops(layer) for layer in layers]
    first = next(f for f in forward if f > 0)
    return {"forward": sum(forward), "train": 3 * sum(forward) - first}


def matmul_rates(size: int = 2048, repeats: int = 7) -> dict[str, float]:
    """Float32 GFLOP/s of a [size, size] @ [size, size] product in numpy and in a TensorFlow function
    (median of `repeats`, after a warm-up)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    ta, tb = tf.constant(a), tf.constant(b)
    tf_matmul = tf.function(lambda u, v: tf.reduce_sum(tf.linalg.matmul(u, v)))

    def numpy_run() -> float:
        start = time.perf_counter()
        np.matmul(a, b)
        return time.perf_counter() - start

    def tf_run() -> float:
        start = time.perf_counter()
        tf_matmul(ta, tb).numpy()
        return time.perf_counter() - start

    numpy_run(), tf_run()
    times = alternate({"numpy": numpy_run, "tensorflow": tf_run}, repeats)
    return {key: 2 * size**3 / median(values) / 1e9 for key, values in times.items()}


# ---- part: scaling ----------------------------------------------------------------------------------------


def measure_scaling(name: str, x: np.ndarray, sizes: Sequence[int], batch_size: int, repeats: int) -> dict:
    """Seconds of one `fit` epoch on the first n examples, for each n in sizes; medians over repeats."""
    keras.utils.set_random_seed(0)
    model = zoo.get(name)
    model.fit(x[: min(sizes)], x[: min(sizes)], batch_size=batch_size, epochs=1, verbose=0)  # tracing

    def run(n: int) -> Callable[[], float]:
        def timed() -> float:
            start = time.perf_counter()
            model.fit(x[:n], x[:n], batch_size=batch_size, epochs=1, verbose=0)
            return time.perf_counter() - start

        return timed

    times = alternate({str(n): run(n) for n in sizes}, repeats)
    seconds = {n: median(times[str(n)]) for n in sizes}
    slope, intercept = np.polyfit(np.array(sizes, float), np.array([seconds[n] for n in sizes]), 1)
    rows = [
        {
            "model": name,
            "examples": n,
            "seconds_per_epoch": seconds[n],
            "microseconds_per_example": 1e6 * seconds[n] / n,
            "relative_to_smallest": (seconds[n] / n) / (seconds[min(sizes)] / min(sizes)),
        }
        for n in sizes
    ]
    return {
        "model": name,
        "rows": rows,
        "all_seconds": times,
        "linear_fit_seconds": {"per_example": slope, "fixed": intercept},
        "tracing_count": model.train_function.experimental_get_tracing_count(),
    }


# ---- part: memory -----------------------------------------------------------------------------------------


class _MemoryLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rss: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.rss.append(memory_mb()["rss"])


def measure_memory(name: str, x: np.ndarray, batch_size: int, epochs: int) -> dict[str, Any]:
    """Resident MB after every epoch of one `fit(epochs=epochs)`, then after each of `epochs` calls of
    `fit(epochs=1)`; growth per epoch over the second half of each (after the warm-up)."""
    keras.utils.set_random_seed(0)
    model = zoo.get(name)
    before = memory_mb()
    one_fit = _MemoryLog()
    model.fit(x, x, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[one_fit])
    repeated = []
    for _ in range(epochs):
        model.fit(x, x, batch_size=batch_size, epochs=1, verbose=0)
        repeated.append(memory_mb()["rss"])

    def growth(rss: list[float]) -> float:
        half = rss[len(rss) // 2 :]
        return float(np.polyfit(np.arange(len(half)), half, 1)[0]) if len(half) > 1 else 0.0

    return {
        "model": name,
        "examples": len(x),
        "epochs": epochs,
        "rss_before_mb": before.get("rss"),
        "rss_per_epoch_one_fit_mb": one_fit.rss,
        "rss_per_epoch_repeated_fit_mb": repeated,
        "growth_mb_per_epoch_one_fit": growth(one_fit.rss),
        "growth_mb_per_epoch_repeated_fit": growth(repeated),
        "peak_mb": memory_mb().get("peak"),
    }


# ---- part: calls ------------------------------------------------------------------------------------------


class _EndStamp(keras.callbacks.Callback):
    """The moment `fit` ran its last callback."""

    def on_train_end(self, logs=None):
        self.at = time.perf_counter()


def measure_calls(name: str, x: np.ndarray, batch_size: int, calls: int) -> dict[str, Any]:
    """What a call costs besides its steps, on one model.

    Feeding: the seconds `fit` takes to return after its last callback, and whole `evaluate` and `predict`
    calls, with the zoo's array feeding (`zoo.feeding`) against stock Keras on the same model
    (`keras.Model.fit(model, ...)`), alternating, `calls` each. Tracing: the first and second `fit`
    (one epoch), `evaluate` and `predict` of a freshly built model with steps_per_execution 1 and 8."""
    model = zoo.get(name)

    def fit_tail(fit: Callable[..., Any]) -> Callable[[], float]:
        def run() -> float:
            stamp = _EndStamp()
            fit(x, x, batch_size=batch_size, epochs=1, verbose=0, callbacks=[stamp])
            return time.perf_counter() - stamp.at

        return run

    def whole(call: Callable[..., Any], *args: np.ndarray) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            call(*args, batch_size=batch_size, verbose=0)
            return time.perf_counter() - start

        return run

    def stock(method: str) -> Callable[..., Any]:
        return lambda *args, **kwargs: getattr(keras.Model, method)(model, *args, **kwargs)

    contestants = {
        "fit_tail": (fit_tail(model.fit), fit_tail(stock("fit"))),
        "evaluate": (whole(model.evaluate, x, x), whole(stock("evaluate"), x, x)),
        "predict": (whole(model.predict, x), whole(stock("predict"), x)),
    }
    runs = {
        f"{who}_{call}": pair[i]
        for call, pair in contestants.items()
        for i, who in enumerate(("zoo", "keras"))
    }
    for run in runs.values():
        run()  # trace every function first
    times = alternate(runs, calls)
    feeding = [
        {
            "model": name,
            "call": call,
            **{
                f"{who}_{stat}": fn(times[f"{who}_{call}"]) for who in ("zoo", "keras") for stat, fn in _STATS
            },
        }
        for call in contestants
    ]
    tracing = []
    for spe in (1, 8):
        fresh = zoo.get(name, steps_per_execution=spe)
        row = {"model": name, "steps_per_execution": spe}
        for call, run in (
            ("fit", whole(functools.partial(fresh.fit, epochs=1), x, x)),
            ("evaluate", whole(fresh.evaluate, x, x)),
            ("predict", whole(fresh.predict, x)),
        ):
            row[f"{call}_first"], row[f"{call}_second"] = run(), run()
        tracing.append(row)
        log(
            f"  steps_per_execution={spe}: "
            + ", ".join(f"{k} {v:.2f}s" for k, v in row.items() if k.endswith("t"))
        )
    return {"feeding": feeding, "tracing": tracing}


_STATS = (("median", median), ("mean", lambda v: sum(v) / len(v)), ("max", max))


# ---- part: xla --------------------------------------------------------------------------------------------


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    detail = next((line for line in text if "Reading input" in line or "not supported" in line), None)
    return f"{type(error).__name__}: {(detail or (text[0] if text else '')).strip()[:300]}"


def check_xla(name: str, x: np.ndarray, labels: np.ndarray, batch_size: int, repeats: int) -> dict[str, Any]:
    """Can model `name` train, evaluate and predict under `jit_compile=True` with a short final batch, and
    how fast is one epoch against the same model without XLA (median of per-repeat ratios)."""
    keras.utils.set_random_seed(0)
    row: dict[str, Any] = {"model": name, "examples": len(x), "batch_size": batch_size}
    try:
        model = zoo.get(name, jit_compile=True)
    except Exception as error:  # a clear rejection at build time is one of the two acceptable outcomes
        row.update(fit=_first_line(error), evaluate="-", predict="-")
        return row
    plain = zoo.get(name)
    plain.set_weights(model.get_weights())
    data = _inputs(model, x, labels)
    steps = {
        "fit": lambda m: m.fit(data, x, batch_size=batch_size, epochs=1, verbose=0),
        "evaluate": lambda m: m.evaluate(data, x, batch_size=batch_size, verbose=0),
        "predict": lambda m: m.predict(data, batch_size=batch_size, verbose=0),
    }
    for key, step in steps.items():
        try:
            start = time.perf_counter()
            step(model)
            row[key] = "ok"
            row[f"{key}_first_seconds"] = time.perf_counter() - start
        except Exception as error:
            row[key] = _first_line(error)
    if row["fit"] == "ok" and repeats > 0:
        steps["fit"](plain)

        def timed(m: zoo.ZooModel) -> Callable[[], float]:
            def run() -> float:
                start = time.perf_counter()
                steps["fit"](m)
                return time.perf_counter() - start

            return run

        times = alternate({"xla": timed(model), "plain": timed(plain)}, repeats)
        row["xla_over_plain_speed"] = median(p / t for p, t in zip(times["plain"], times["xla"], strict=True))
    return row


# ---- the report -------------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    """The Markdown tables of `results`."""
    out = [
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores; "
        f"TF {results['machine']['tensorflow']}, TFP {results['machine']['tensorflow_probability']}.",
        "",
    ]
    if "ratio" in results:
        rows = []
        for r in results["ratio"]:
            for key in r["seconds_per_epoch"]:
                rows.append(
                    {
                        "model": r["model"],
                        "contestant": key,
                        "s_per_epoch": median(r["seconds_per_epoch"][key]),
                        "images_per_s": r[f"{key}_images_per_s"],
                        "ratio": r[f"{key}_over_hand"],
                        "interleaved": r.get("interleaved", {}).get(key, {}).get("speed_vs_hand"),
                        "first": r["first_epoch_seconds"][key],
                        "traces": r["tracing_count"][key],
                    }
                )
            xla_pair = r.get("interleaved", {}).get("zoo_xla_vs_hand_xla")
            if xla_pair:
                rows.append(
                    {
                        "model": r["model"],
                        "contestant": "zoo_xla against hand_xla",
                        "interleaved": xla_pair["speed_vs_hand"],
                    }
                )
            for key, error in r.get("failed", {}).items():
                rows.append({"model": r["model"], "contestant": key, "s_per_epoch": error})
        out += [
            "### Zoo `fit` against a hand-written `tf.function` loop (speed ratio, > 1 = zoo faster)",
            "",
            f"{results['ratio'][0]['examples']} examples, batch {results['ratio'][0]['batch_size']}, "
            f"{results['ratio'][0]['repeats']} alternating repeats of {results['ratio'][0]['epochs_per_repeat']} "
            "epochs; medians. Blocks: median over repeats of hand-written time / contestant time, each `fit` call "
            "timed whole. Interleaved steps: one hand-written step after every zoo step inside one `fit`, "
            "median over repeats of the two summed times (the finest pairing; excludes `fit`'s per-call set-up).",
            "",
            table(
                rows,
                [
                    ("model", "model"),
                    ("contestant", "contestant"),
                    ("s_per_epoch", "s/epoch"),
                    ("images_per_s", "images/s"),
                    ("ratio", "speed vs hand-written (blocks)"),
                    ("interleaved", "speed vs hand-written (interleaved steps)"),
                    ("first", "first epoch s (tracing)"),
                    ("traces", "traces"),
                ],
            ),
            "",
        ]
        for r in results["ratio"]:
            if "xla_break_even_epochs" in r:
                epochs = r["xla_break_even_epochs"]
                out += [
                    f"`{r['model']}` with `jit_compile=True` pays for its compilation after "
                    + (f"{epochs:.1f} epochs of these." if epochs is not None else "never: it is not faster.")
                    + " (Compilation: the XLA first epoch's excess over its later epochs, beyond the plain "
                    "model's tracing; divided by the seconds XLA saves per epoch.)",
                    "",
                ]
    if "flops" in results:
        f = results["flops"]
        out += [
            "### Achieved GFLOP/s",
            "",
            f"float32 matmul 2048x2048: numpy {f['matmul_gflops']['numpy']:.0f} GFLOP/s, "
            f"TensorFlow {f['matmul_gflops']['tensorflow']:.0f} GFLOP/s.",
            "",
            table(
                f["rows"],
                [
                    ("model", "model"),
                    ("contestant", "contestant"),
                    ("train_mflop_per_example", "MFLOP/example (train step)"),
                    ("images_per_s", "images/s"),
                    ("gflops", "GFLOP/s"),
                    ("fraction_of_tf_matmul", "fraction of TF matmul rate"),
                ],
            ),
            "",
        ]
    if "breakdown" in results:
        rows = [
            {
                "model": b["model"],
                "xla": "yes" if b.get("xla") else "no",
                "part": key,
                "seconds": median(b["seconds"][key]),
                "speed": b[f"{key}_speed_vs_hand"],
            }
            for b in results["breakdown"]
            for key in b["seconds"]
        ]
        out += [
            "### Breakdown: the same training step three ways, interleaved on the same batches",
            "",
            f"{results['breakdown'][0]['steps']} steps of batch {results['breakdown'][0]['batch_size']} per repeat; "
            "`zoo_layers` = the zoo model in a plain GradientTape step; `keras_train_step` = its Keras "
            "`train_step` in a `tf.function`.",
            "",
            table(
                rows,
                [
                    ("model", "model"),
                    ("xla", "XLA (all three)"),
                    ("part", "step"),
                    ("seconds", "s per repeat"),
                    ("speed", "speed vs hand-written"),
                ],
            ),
            "",
        ]
    if "scaling" in results:
        rows = [row for s in results["scaling"] for row in s["rows"]]
        out += [
            "### Epoch time against dataset size",
            "",
            table(
                rows,
                [
                    ("model", "model"),
                    ("examples", "examples"),
                    ("seconds_per_epoch", "s/epoch"),
                    ("microseconds_per_example", "us/example"),
                    ("relative_to_smallest", "per-example cost vs smallest"),
                ],
            ),
            "",
        ]
    if "memory" in results:
        rows = []
        for m in results["memory"]:
            rows.append(
                {
                    "model": m["model"],
                    "epochs": m["epochs"],
                    "rss_before": m["rss_before_mb"],
                    "after_1": m["rss_per_epoch_one_fit_mb"][0],
                    "after_last": m["rss_per_epoch_one_fit_mb"][-1],
                    "growth_one": m["growth_mb_per_epoch_one_fit"],
                    "after_repeated": m["rss_per_epoch_repeated_fit_mb"][-1],
                    "growth_repeated": m["growth_mb_per_epoch_repeated_fit"],
                    "peak": m["peak_mb"],
                }
            )
        out += [
            "### Resident memory (MB) against epochs",
            "",
            table(
                rows,
                [
                    ("model", "model"),
                    ("epochs", "epochs"),
                    ("rss_before", "before"),
                    ("after_1", "after epoch 1"),
                    ("after_last", "after last epoch (one fit)"),
                    ("growth_one", "MB/epoch, 2nd half (one fit)"),
                    ("after_repeated", f"after {rows[0]['epochs']} more fit(epochs=1) calls"),
                    ("growth_repeated", "MB/epoch, 2nd half (repeated fit)"),
                    ("peak", "peak"),
                ],
            ),
            "",
        ]
    if "calls" in results:
        feeding = [row for r in results["calls"] for row in r["feeding"]]
        tracing = [row for r in results["calls"] for row in r["tracing"]]
        out += [
            "### What a call costs besides its steps",
            "",
            "Feeding: `fit_tail` = seconds from `fit`'s last callback to its return; `evaluate`, `predict` = the "
            "whole call. The zoo's array feeding against stock Keras on the same model, alternating.",
            "",
            table(
                feeding,
                [
                    ("model", "model"),
                    ("call", "call"),
                    *[(f"{who}_{stat}", f"{who} {stat} s") for who in ("zoo", "keras") for stat, _ in _STATS],
                ],
            ),
            "",
            "Tracing: the first and the second call on a freshly built model (`fit` one epoch).",
            "",
            table(
                tracing,
                [
                    ("model", "model"),
                    ("steps_per_execution", "steps_per_execution"),
                    *[
                        (f"{c}_{n}", f"{c} {n} s")
                        for c in ("fit", "evaluate", "predict")
                        for n in ("first", "second")
                    ],
                ],
            ),
            "",
        ]
    if "xla" in results:
        out += [
            "### `jit_compile=True` with a short final batch",
            "",
            table(
                results["xla"],
                [
                    ("model", "model"),
                    ("fit", "fit"),
                    ("evaluate", "evaluate"),
                    ("predict", "predict"),
                    ("fit_first_seconds", "first fit s (compile)"),
                    ("xla_over_plain_speed", "speed vs no XLA"),
                ],
            ),
            "",
        ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument(
        "--models",
        nargs="+",
        default=["dense_vae", "conv_vae"],
        help="models for ratio, flops, scaling, memory",
    )
    parser.add_argument(
        "--xla-models",
        nargs="+",
        default=None,
        help="models for the xla part (default: every registered model)",
    )
    parser.add_argument(
        "--examples", type=int, default=10_000, help="training images for ratio (mnist-5k, tiled)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="the zoo's default batch size")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per contestant per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--variants",
        nargs="*",
        default=["spe8", "xla", "xla_spe8", "hand_xla"],
        help="extra contestants in ratio, the zoo's defaults changed: speK = steps_per_execution=K, xla = "
        "jit_compile=True, xla_speK = both, hand_xla = the hand-written step with jit_compile=True",
    )
    parser.add_argument("--breakdown-steps", type=int, default=100, help="steps per repeat in breakdown")
    parser.add_argument(
        "--breakdown-modes",
        nargs="+",
        choices=("plain", "xla"),
        default=["plain", "xla"],
        help="breakdown without and with jit_compile=True on all three steps",
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 5000, 20_000, 60_000])
    parser.add_argument("--memory-epochs", type=int, default=12)
    parser.add_argument("--memory-examples", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=8, help="calls per contestant in the calls part")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the .json and .md results")
    parser.add_argument("--name", default="throughput", help="file stem of the outputs")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes (seconds): what CI runs so the script cannot rot"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.examples, args.epochs, args.repeats, args.sizes = 256, 1, 1, [128, 256]
        args.memory_epochs, args.memory_examples, args.breakdown_steps, args.calls = 2, 256, 2, 1
        args.breakdown_modes = ["plain"]
        args.xla_models = args.xla_models or ["bernoulli_mixture"]
        args.variants = [variant for variant in args.variants if "xla" not in variant]

    results: dict[str, Any] = {"machine": machine(), "arguments": {k: str(v) for k, v in vars(args).items()}}
    started = time.perf_counter()
    x, labels = training_images(max([args.examples, args.memory_examples, *args.sizes]))
    if "ratio" in args.parts or "flops" in args.parts:
        results["ratio"] = [
            measure_ratio(name, x[: args.examples], args.batch_size, args.epochs, args.repeats, args.variants)
            for name in args.models
        ]
    if "breakdown" in args.parts:
        results["breakdown"] = []
        for name in args.models:
            for mode in args.breakdown_modes:
                log(f"{name}: breakdown ({mode}), {args.breakdown_steps} interleaved steps x {args.repeats}")
                results["breakdown"].append(
                    measure_breakdown(
                        name,
                        x[: args.examples],
                        args.batch_size,
                        args.breakdown_steps,
                        args.repeats,
                        jit_compile=mode == "xla",
                    )
                )
    if "flops" in args.parts:
        log("matmul rate")
        rates = matmul_rates(512 if args.smoke else 2048, 2 if args.smoke else 7)
        rows = []
        for r in results["ratio"]:
            flops = training_flops(zoo.get(r["model"]))
            for key in r["seconds_per_epoch"]:
                gflops = flops["train"] * r[f"{key}_images_per_s"] / 1e9
                rows.append(
                    {
                        "model": r["model"],
                        "contestant": key,
                        "train_mflop_per_example": flops["train"] / 1e6,
                        "forward_mflop_per_example": flops["forward"] / 1e6,
                        "images_per_s": r[f"{key}_images_per_s"],
                        "gflops": gflops,
                        "fraction_of_tf_matmul": gflops / rates["tensorflow"],
                    }
                )
        results["flops"] = {"matmul_gflops": rates, "rows": rows}
    if "scaling" in args.parts:
        results["scaling"] = []
        for name in args.models:
            log(f"{name}: epoch time for sizes {args.sizes}")
            results["scaling"].append(
                measure_scaling(name, x, args.sizes, args.batch_size, max(1, args.repeats // 2 + 1))
            )
    if "memory" in args.parts:
        results["memory"] = []
        for name in args.models:
            log(f"{name}: memory over {args.memory_epochs} epochs")
            results["memory"].append(
                measure_memory(name, x[: args.memory_examples], args.batch_size, args.memory_epochs)
            )
    if "calls" in args.parts:
        results["calls"] = []
        for name in args.models:
            log(f"{name}: per-call costs, {args.calls} calls each")
            results["calls"].append(measure_calls(name, x[: args.examples], args.batch_size, args.calls))
    if "xla" in args.parts:
        results["xla"] = []
        for name in args.xla_models or zoo.list_models():
            log(f"{name}: jit_compile=True")
            n = 1000 if not args.smoke else 200
            results["xla"].append(check_xla(name, x[:n], labels[:n], args.batch_size, 0 if args.smoke else 3))
    results["seconds"] = time.perf_counter() - started
    log(f"done in {results['seconds']:.0f} s")
    write_results(args.out, args.name, results, report(results))
    return results


if __name__ == "__main__":
    main()
