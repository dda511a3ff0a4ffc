"""Does a model compute the same on several replicas as on one device: the measurement behind
`tests/test_distribute.py` (MirroredStrategy on two logical CPUs) and `multiworker.py` (two worker
processes).

`measure(names, strategy)` builds each model twice from the same weights, on one device and under
`strategy`, and trains both for STEPS full-batch steps; the losses, the KL and the weights afterwards must
agree within TOLERANCE, so the KL weight does not depend on the number of replicas. To compare exact
numbers it replaces z ~ q(z|x) by the mean of q (the only random draw left once corruption and dropout are
off). `resume(strategy, folder)` trains, checkpoints and resumes a learned-prior model under `strategy`.

TensorFlow fixes its devices when it first uses them, so the test runs this file as a script in a fresh
process, which splits the CPU into two logical devices first and prints one JSON line:

    python benchmarks/replicas.py FOLDER MODEL...    # FOLDER: for resume's checkpoints

The script measures few of MODEL... that between them hold every kind of layer of all (see
`representatives`), and lists them under REPRESENTATIVES, each model's kinds under KINDS.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from benchlib import SMALL, small_hparams

import zoo
from zoo import training
from zoo._tf import keras, tf, tfd, tfpl

NOISE_OFF = {"corruption_rate": 0.0, "dropout": 0.0}
EXAMPLES = 128  # one batch: 64 examples per replica
STEPS = 2
TOLERANCE = {"loss": 1e-5, "weights": 1e-4}  # losses: relative (absolute below 1); weights: absolute
STOCK = "stock_exact_kl"  # the control: tfpl.KLDivergenceAddLoss(use_exact_kl=True), which adds the batch sum
RESUME = "resume"  # the script's key for `resume`
REPRESENTATIVES = "representatives"  # the script's key for `representatives`
KINDS = "layer_kinds"  # the script's key for the `layer_kinds` of every model that built


def _two_logical_cpus() -> tf.distribute.MirroredStrategy:
    """A MirroredStrategy over the first CPU split into two logical devices (before TF has used it)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])


def _sample_the_mean(distribution: tfd.Distribution, sample_shape=(), seed=None, **kwargs) -> tf.Tensor:
    mean = distribution.mean()
    shape = tf.reshape(tf.cast(sample_shape, tf.int32), [-1])
    return tf.broadcast_to(mean, tf.concat([shape, tf.shape(mean)], 0))


def _hparams(name: str) -> dict:
    """`benchlib.SMALL` and NOISE_OFF, as far as model `name` takes them."""
    return small_hparams(name, **NOISE_OFF)


def _stock_exact_kl_model() -> keras.Model:
    """dense_vae's shape with the stock KL layer, compiled like a zoo model."""
    model = zoo.get("dense_vae", **_hparams("dense_vae"), posterior="diag")
    prior = tfd.MultivariateNormalDiag(loc=tf.zeros(SMALL["latent_dim"]))
    head = [*model.encoder.layers[:-1], tfpl.KLDivergenceAddLoss(prior, use_exact_kl=True)]
    encoder = keras.Sequential([keras.Input((28, 28, 1)), *head])
    stock = keras.Sequential([keras.Input((28, 28, 1)), encoder, model.decoder])
    stock.compile(optimizer=keras.optimizers.Adam(1e-3), loss=zoo.layers.negative_log_likelihood)
    stock.optimizer.build(stock.trainable_variables)  # as a zoo model does: the step is then traced once
    return stock


def _build(name: str, strategy: tf.distribute.Strategy | None = None) -> keras.Model:
    if name != STOCK:
        return zoo.get(name, strategy=strategy, **_hparams(name))
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        return _stock_exact_kl_model()


def _mirrored(model: keras.Model) -> bool:
    return all(isinstance(variable, tf.distribute.DistributedValues) for variable in model.weights)


def _fit(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """STEPS full-batch steps: the first epoch's loss is the loss at the starting weights."""
    inputs = [x, y] if getattr(model, "is_conditional", False) else x
    return model.fit(inputs, x, batch_size=EXAMPLES, epochs=STEPS, shuffle=False, verbose=0).history


def layer_kinds(model: keras.Model) -> frozenset[str]:
    """The class of `model` and of every layer in it (in nested sub-models too), each layer with the names of
    the weights it holds: `KLDivergence(beta)`, and `KLDivergence(beta, prior_locs, ...)` for a KL layer
    with a learned prior, which a replica must update the same way. Sub-models count by their layers."""
    layers = [
        layer
        for layer in model.submodules
        if isinstance(layer, keras.layers.Layer) and not isinstance(layer, keras.Model)
    ]
    named = (f"{type(layer).__name__}({', '.join(_weight_names(layer))})" for layer in layers)
    return frozenset({type(model).__name__, *named})


def _weight_names(layer: keras.layers.Layer) -> list[str]:
    """The names of the layer's weights without their scope: "sequential/dense/kernel:0" -> "kernel"."""
    return sorted({weight.name.split("/")[-1].split(":")[0] for weight in layer.weights})


def representatives(references: Mapping[str, keras.Model]) -> list[str]:
    """Few models (name: its `reference`) that between them hold every layer kind (`layer_kinds`) of all:
    chosen greedily, each time the model holding most kinds not yet held (the first in order on a tie).
    A model that brings a new layer class, or a layer with new weights, is chosen on arrival."""
    kinds = {name: layer_kinds(model) for name, model in references.items()}
    uncovered, chosen = set().union(*kinds.values()), []
    while uncovered:
        best = max(kinds, key=lambda name: len(kinds[name] & uncovered))
        chosen.append(best)
        uncovered -= kinds[best]
    return chosen


def reference(name: str) -> keras.Model:
    """Model `name` built small on one device with seed 0: what its replicas are compared with."""
    keras.utils.set_random_seed(0)
    return _build(name)


def measure(
    names: Sequence[str],
    strategy: tf.distribute.Strategy,
    references: Mapping[str, keras.Model] | None = None,
) -> dict[str, dict]:
    """For each model: the history of STEPS steps on one device and under `strategy` from the same weights,
    the largest weight difference afterwards, the replica count and whether every variable is mirrored;
    or the error it raised. `references` are the one-device models if `reference` built them already."""
    for family in (tfd.MultivariateNormalTriL, tfd.MultivariateNormalDiag):
        family._call_sample_n = _sample_the_mean
    x, y = zoo.data.load("mnist-5k", split="train", binarize=True)
    x, y = x[:EXAMPLES], y[:EXAMPLES]
    results = {}
    for name in names:
        try:
            one = references[name] if name in (references or {}) else reference(name)
            two = _build(name, strategy)
            one.run_eagerly = True  # the same numbers as a graph, without the tracing time
            two.set_weights(one.get_weights())
            results[name] = {"one": _fit(one, x, y), "two": _fit(two, x, y)}
            results[name]["weight_difference"] = max(
                float(np.max(np.abs(a - b)))
                for a, b in zip(one.get_weights(), two.get_weights(), strict=True)
            )
            results[name]["replicas"] = two.distribute_strategy.num_replicas_in_sync
            results[name]["mirrored"] = _mirrored(two)
        except Exception as error:  # reported per model by the test
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    return results


def resume(strategy: tf.distribute.Strategy, folder: str) -> dict:
    """`zoo.training.train` on `strategy`: one epoch, then a rerun for a second that resumes the checkpoint
    (a learned prior's weights and the optimizer state copied onto the replicas)."""
    x = zoo.data.load("mnist-5k", split="train", binarize=True)[0][:EXAMPLES]

    def build() -> zoo.ZooModel:
        return zoo.get("mixture_vae", **_hparams("mixture_vae"))

    training.train(folder, build, x, x, epochs=1, batch_size=64, strategy=strategy, seed=0)
    run = training.train(folder, build, x, x, epochs=2, batch_size=64, strategy=strategy, seed=0)
    saved = zoo.load(Path(folder) / "epoch-0002.keras")  # outside the scope, then onto the replicas
    again = training.distribute(saved, strategy)
    try:
        with strategy.scope():
            zoo.load(Path(folder) / "epoch-0002.keras")
        load_in_scope = "loads"
    except Exception as error:
        load_in_scope = f"{type(error).__name__}: {error}"
    return {
        "load_in_scope": load_in_scope,
        "initial_epoch": run.initial_epoch,
        "history": run.history,
        "iterations": int(run.model.optimizer.iterations.numpy()),
        "mirrored": _mirrored(run.model),
        "distributed": {
            "mirrored": _mirrored(again),
            "same_weights": all(
                np.array_equal(a, b) for a, b in zip(saved.get_weights(), again.get_weights(), strict=True)
            ),
            "same_optimizer_state": all(
                np.array_equal(a.numpy(), b.numpy())
                for a, b in zip(saved.optimizer.variables, again.optimizer.variables, strict=True)
            ),
        },
    }


def main(folder: str, names: Sequence[str]) -> dict:
    """The script: `representatives` of `names` measured on two logical CPUs, and `resume` in `folder`."""
    # Grappler's graph rewrites keep the numbers but cost a third of the wall time of these tiny steps.
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    two = _two_logical_cpus()
    registered = [name for name in names if name != STOCK]  # the control is measured, never chosen
    references = {}
    for name in registered:
        with contextlib.suppress(Exception):  # a model that does not build: `measure` reports the error
            references[name] = reference(name)
    chosen = [*representatives(references), *(name for name in registered if name not in references)]
    results = measure([*chosen, *(name for name in names if name == STOCK)], two, references)
    results[REPRESENTATIVES] = chosen
    results[KINDS] = {name: sorted(layer_kinds(model)) for name, model in references.items()}
    results[RESUME] = resume(two, folder)
    return results


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(f"usage: python {sys.argv[0]} FOLDER MODEL...\n\n{__doc__}")
    print(json.dumps(main(sys.argv[1], sys.argv[2:])))
