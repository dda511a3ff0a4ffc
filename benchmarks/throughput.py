"""Training throughput of zoo models against hand-written TensorFlow, and what the zoo costs.

Parts (all by default; pick some with --parts):

- `ratio`: images/s of `zoo.get(name).fit(...)` against a hand-written `tf.function` + `GradientTape` loop
  over exactly the same network (the zoo model's own Dense/Conv layers, cloned with the same weights) and
  the same loss written by hand: Bernoulli log-likelihood from logits (`sigmoid_cross_entropy_with_logits`
  summed over pixels) plus the closed-form KL of the full-covariance Gaussian posterior to N(0, I), with a
  reparameterized sample, Adam at the same learning rate and batch size, fed by `tf.data`. The contestants
  alternate in one process, several repeats, medians; the first (tracing) epoch is reported separately.
- `breakdown`: where a gap would come from: the hand-written step, the zoo model in a plain GradientTape
  step and its Keras `train_step`, interleaved on the same batches, without and with XLA.
- `flops`: FLOPs per training example counted layer by layer, achieved GFLOP/s, against the machine's
  measured float32 matrix-multiply rate (numpy and TensorFlow).
- `scaling`: epoch time of `fit` for 1k, 5k, 20k and 60k examples (it should be linear).
- `memory`: resident memory after every epoch, in one long `fit` and over repeated `fit` calls (it should
  not grow with the number of epochs).
- `calls`: what a call costs besides its steps: the end of `fit`, and whole `evaluate`/`predict` calls,
  with the zoo's array feeding against stock Keras; the first calls' tracing with steps_per_execution 1
  and 8.
- `xla`: `jit_compile=True` for every registered model with a short final batch (1,000 examples, batch
  64): which train, evaluate and predict, with the error of those that fail, and the speed against
  the same model without XLA.

    python benchmarks/throughput.py                          # everything, about 15 minutes on 2 cores
    python benchmarks/throughput.py --parts ratio --models conv_vae --repeats 7
    python benchmarks/throughput.py --smoke --out /tmp/t     # seconds: the CI smoke run

Writes `<name>.json` (every measurement) and `<name>.md` (the tables) to --out (name: throughput).

This file runs the parts and measures those against the hand-written loop (ratio, breakdown, flops); the
loop itself is `handwritten.py`, the parts that time the zoo alone (scaling, memory, calls, xla) are
`costs.py`, and the tables are described in `report.py`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import (
    RESULTS,
    alternate,
    argument_parser,
    first_line,
    log,
    machine,
    median,
    seconds_of,
    training_images,
    write_results,
)
from costs import check_xla, measure_calls, measure_memory, measure_scaling
from handwritten import HandWritten
from report import report

import zoo
from zoo import execution, feeding
from zoo._tf import keras, tf

PARTS = ("ratio", "breakdown", "flops", "scaling", "memory", "calls", "xla")


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

    fit = {"batch_size": batch_size, "verbose": 0}
    log(f"{name}: first epoch (tracing) of each contestant")
    first, failed = {}, {}
    for key, m in list(models.items()):
        try:
            first[key] = seconds_of(m.fit, x, x, epochs=1, **fit)()
        except Exception as error:  # e.g. XLA on a model it cannot compile: report it, time the others
            failed[key] = first_line(error)
            del models[key]
            log(f"  {key} failed: {failed[key]}")
    for key, h in hands.items():
        first[key] = seconds_of(h.fit_epochs, x, 1)()
    log(f"{name}: {repeats} alternating repeats of {epochs} epochs on {len(x)} images")
    contestants = {key: seconds_of(m.fit, x, x, epochs=epochs, **fit) for key, m in models.items()}
    contestants.update({key: seconds_of(h.fit_epochs, x, epochs) for key, h in hands.items()})
    times = {key: [t / epochs for t in block] for key, block in alternate(contestants, repeats).items()}
    check_seconds = seconds_of(zoo.data.check_model_inputs, model, x, x)()
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
        m = pinned_steps(m, x, fit, epochs)
        rounds = []
        for _ in range(repeats):
            pairing = _Interleave(paired_hand, x)
            m.fit(x, x, epochs=epochs, callbacks=[pairing], **fit)
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


def pinned_steps(model: zoo.ZooModel, x: np.ndarray, fit: dict[str, Any], epochs: int) -> zoo.ZooModel:
    """The interleaving callback acts on every batch, and with such a callback `steps_per_execution="auto"`
    runs one step per execution; so a model compiled with "auto" is replaced by a twin with the same
    weights compiled with the steps "auto" chooses for the same call without the callback (warmed up by one
    epoch, so no round pays its tracing). Other models are returned as they are."""
    if not model.auto_steps_per_execution:
        return model
    arguments = feeding.bind(keras.Model.fit.__get__(model), (x, x), {**fit, "epochs": epochs})
    twin = zoo.get(model.zoo_name, steps_per_execution=execution.steps_for_call(arguments))
    twin.set_weights(model.get_weights())
    twin.fit(x, x, epochs=1, **fit)
    return twin


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
    # Adam's moments made before the (untimed) traces: a step that creates variables is traced twice
    optimizer.build(layers_model.trainable_variables)
    step_model.optimizer.build(step_model.trainable_variables)
    hand.optimizer.build(hand.variables)
    for step in contestants.values():  # trace
        step(batches[0])
    totals: dict[str, list[float]] = {key: [] for key in contestants}
    for _ in range(repeats):
        sums = dict.fromkeys(contestants, 0.0)
        for i in range(steps):
            batch = batches[i % len(batches)]
            for key, step in contestants.items():
                sums[key] += seconds_of(step, batch)()
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
    runs = {"numpy": seconds_of(np.matmul, a, b), "tensorflow": seconds_of(lambda: tf_matmul(ta, tb).numpy())}
    for run in runs.values():
        run()  # warm-up
    times = alternate(runs, repeats)
    return {key: 2 * size**3 / median(values) / 1e9 for key, values in times.items()}


def achieved_flops(ratio: Sequence[dict[str, Any]], rates: dict[str, float]) -> list[dict[str, Any]]:
    """For every contestant of the `ratio` part: FLOPs per example of a training step, and the GFLOP/s
    its images/s achieve, also as a fraction of the TensorFlow matmul rate in `rates` (GFLOP/s)."""
    rows = []
    for r in ratio:
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
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argument_parser(__doc__)
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
    parser.add_argument(
        "--tracing-repeats",
        type=int,
        default=3,
        help="fresh models per steps_per_execution in the calls part",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the .json and .md results")
    parser.add_argument("--name", default="throughput", help="file stem of the outputs")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes (seconds): what CI runs so the script cannot rot"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.examples, args.epochs, args.repeats, args.sizes = 256, 1, 1, [128, 256]
        args.memory_epochs, args.memory_examples, args.breakdown_steps, args.calls = 2, 256, 2, 1
        args.tracing_repeats = 1
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
        results["flops"] = {"matmul_gflops": rates, "rows": achieved_flops(results["ratio"], rates)}
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
            results["calls"].append(
                measure_calls(name, x[: args.examples], args.batch_size, args.calls, args.tracing_repeats)
            )
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
