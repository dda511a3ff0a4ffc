"""Every registered model under `tf.distribute.MirroredStrategy` on two logical CPU devices: it builds in the
strategy's scope (learned prior included), trains, and has the same loss, KL and update at the same weights
as on one device, so the KL weight does not depend on the number of replicas.

TensorFlow fixes its devices when it first uses them, and the pytest process already has, so the
measurement runs in one subprocess: this file run as a script, `python tests/test_distribute.py FOLDER
MODEL...`, prints one JSON line of results. To compare exact numbers, the script replaces z ~ q(z|x) by
the mean of q (the only random draw left once corruption and dropout are off), and builds the one-device
reference and the two-replica model from the same weights.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import training
from zoo._tf import keras, tf, tfd, tfpl

MODELS = zoo.list_models()
RESUME = "resume"  # the measurement's key for `resume`
STOCK = "stock_exact_kl"  # the control: tfpl.KLDivergenceAddLoss(use_exact_kl=True), which adds the batch sum
NOISE_OFF = {"corruption_rate": 0.0, "dropout": 0.0}
EXAMPLES = 128  # one batch: 64 examples per replica
STEPS = 2


# ---- the subprocess ----------------------------------------------------------------------------------------


def _two_logical_cpus() -> tf.distribute.MirroredStrategy:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])


def _sample_the_mean(distribution: tfd.Distribution, sample_shape=(), seed=None, **kwargs) -> tf.Tensor:
    mean = distribution.mean()
    shape = tf.reshape(tf.cast(sample_shape, tf.int32), [-1])
    return tf.broadcast_to(mean, tf.concat([shape, tf.shape(mean)], 0))


def _stock_exact_kl_model() -> keras.Model:
    """dense_vae's shape with the stock KL layer, compiled like a zoo model."""
    model = zoo.get("dense_vae", **small_hparams("dense_vae"), posterior="diag")
    prior = tfd.MultivariateNormalDiag(loc=tf.zeros(2))
    head = [*model.encoder.layers[:-1], tfpl.KLDivergenceAddLoss(prior, use_exact_kl=True)]
    encoder = keras.Sequential([keras.Input((28, 28, 1)), *head])
    stock = keras.Sequential([keras.Input((28, 28, 1)), encoder, model.decoder])
    stock.compile(optimizer=keras.optimizers.Adam(1e-3), loss=zoo.layers.negative_log_likelihood)
    return stock


def _hparams(name: str) -> dict:
    return {**small_hparams(name), **{k: v for k, v in NOISE_OFF.items() if k in zoo.defaults(name)}}


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


def measure(names: list[str], strategy: tf.distribute.Strategy) -> dict[str, dict]:
    """For each model: the history of STEPS steps on one device and under `strategy` from the same weights,
    the largest weight difference afterwards, the replica count and whether every variable is mirrored;
    or the error it raised. `benchmarks/multiworker.py` runs it under MultiWorkerMirroredStrategy."""
    for family in (tfd.MultivariateNormalTriL, tfd.MultivariateNormalDiag):
        family._call_sample_n = _sample_the_mean
    x, y = zoo.data.load("mnist-5k", split="train", binarize=True)
    x, y = x[:EXAMPLES], y[:EXAMPLES]
    results = {}
    for name in names:
        try:
            keras.utils.set_random_seed(0)
            one, two = _build(name), _build(name, strategy)
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


if __name__ == "__main__":
    # Grappler's graph rewrites keep the numbers but cost a third of the wall time of these tiny steps.
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    two = _two_logical_cpus()
    results = measure(sys.argv[2:], two)
    results[RESUME] = resume(two, sys.argv[1])
    print(json.dumps(results))


# ---- the tests ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("run")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(folder), *MODELS, STOCK],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=Path(__file__).resolve().parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_same_loss_and_update_on_one_and_two_replicas(name, measured):
    result = measured[name]
    assert "error" not in result, f"{name} does not train under MirroredStrategy: {result.get('error')}"
    assert result["replicas"] == 2 and result["mirrored"]  # every variable, a learned prior's included
    for key, values in result["one"].items():  # loss (and kl) at the same weights, then after one update
        np.testing.assert_allclose(result["two"][key], values, rtol=1e-5, atol=1e-5, err_msg=f"{name} {key}")
    # Adam moves a weight by about the learning rate (1e-3) per step whatever its gradient's size, so
    # rounding in a near-zero gradient shows up at 1e-5; a wrong KL weight moves weights by 1e-3.
    assert result["weight_difference"] < 1e-4


@pytest.mark.slow
def test_the_comparison_catches_the_stock_exact_kl_layer(measured):
    """The stock layer adds the batch sum of the KL: per replica it sees half the batch, half the KL."""
    result = measured[STOCK]
    loss_one, loss_two = result["one"]["loss"][0], result["two"]["loss"][0]
    assert loss_two < loss_one - 10, (loss_one, loss_two)


@pytest.mark.slow
def test_a_checkpointed_run_resumes_and_a_saved_model_moves_onto_two_replicas(measured):
    result = measured[RESUME]
    assert result["initial_epoch"] == 1 and result["mirrored"]
    assert len(result["history"]["loss"]) == 2 and result["iterations"] == 2 * EXAMPLES // 64
    assert result["distributed"] == {"mirrored": True, "same_weights": True, "same_optimizer_state": True}


@pytest.mark.slow
def test_loading_inside_a_strategy_scope_works_or_says_what_to_do(measured):
    """tf_keras fails to restore the `kl` metric's sync-on-read variables inside a MirroredStrategy scope,
    with "unsupported operand type(s) for /: 'Dataset' and 'int'"; zoo.load must load, or name the way."""
    outcome = measured[RESUME]["load_in_scope"]
    assert outcome == "loads" or (
        outcome.startswith("ValueError") and "zoo.training.distribute" in outcome
    ), outcome


@pytest.mark.slow
def test_the_multiworker_benchmark_judges_this_measurement(measured, monkeypatch):
    """benchmarks/multiworker.py runs `measure` on two worker processes (too slow for CI); its verdict on
    this file's output keeps it from rotting."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    multiworker = importlib.import_module("multiworker")
    assert multiworker.compare(measured["dense_vae"])[0] and not multiworker.compare(measured[STOCK])[0]
    assert len(set(multiworker.free_ports(2))) == 2


def test_get_builds_in_the_strategy_scope_and_keeps_it_out_of_the_hyperparameters(tmp_path):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    model = zoo.get("mixture_vae", strategy=strategy, **small_hparams("mixture_vae"))
    assert model.distribute_strategy is strategy
    assert "strategy" not in model.hparams and "strategy" not in json.dumps(model.get_config())
    model.save(tmp_path / "model.keras")
    assert zoo.load(tmp_path / "model.keras").hparams == model.hparams


def test_get_refuses_a_strategy_that_is_not_one():
    with pytest.raises(TypeError, match="tf.distribute.Strategy"):
        zoo.get("dense_vae", strategy="mirrored")
