"""Every registered model under `tf.distribute.MirroredStrategy` on two logical CPU devices: it builds in the
strategy's scope (learned prior included), trains, and has the same loss, KL and update at the same weights
as on one device, so the KL weight does not depend on the number of replicas.

TensorFlow fixes its devices when it first uses them, and the pytest process already has, so the
measurement runs in one subprocess: `benchmarks/replicas.py` run as a script, `python
benchmarks/replicas.py FOLDER MODEL...`, prints one JSON line of results (`benchmarks/multiworker.py` runs
the same measurement on two worker processes). To compare exact numbers, it replaces z ~ q(z|x) by the mean
of q (the only random draw left once corruption and dropout are off), and builds the one-device reference
and the two-replica model from the same weights.

What the comparison can catch lives in the layers, so it runs on few models that hold every kind of layer,
not on every model: the script builds every registered model with small hyperparameters, collects the
classes of the model and of every layer in it (nested sub-models included), each with the names of the
weights the layer holds, and measures a greedy cover of those kinds (`replicas.representatives`). A new
model that brings a new layer class, or a layer with new weights (a learned prior), is measured on arrival.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo._tf import tf

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
MODELS = zoo.list_models()


@pytest.fixture(scope="module")
def replicas():
    """benchmarks/replicas.py, the measurement (benchmarks/ is not a package: it is imported by name)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCHMARKS))
        return importlib.import_module("replicas")


@pytest.fixture(scope="module")
def measured(replicas, tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("run")
    result = subprocess.run(
        [sys.executable, replicas.__file__, str(folder), *MODELS, replicas.STOCK],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_models_measured_hold_every_kind_of_layer(measured, replicas):
    # The script built every registered model for its choice: its kinds, not a second build here.
    kinds, chosen = measured[replicas.KINDS], measured[replicas.REPRESENTATIVES]
    assert set(kinds) == set(MODELS)  # every model built
    held = set().union(*(kinds[name] for name in chosen))
    assert held == set().union(*kinds.values())
    assert "mixture_vae" in chosen  # its learned prior is a kind of its own (the KL layer's weights)
    assert len(chosen) < len(kinds)


@pytest.mark.slow
def test_same_loss_and_update_on_one_and_two_replicas(measured, replicas):
    chosen = measured[replicas.REPRESENTATIVES]
    assert set(chosen) <= set(MODELS) and len(chosen) >= 4, chosen
    loss, weights = replicas.TOLERANCE["loss"], replicas.TOLERANCE["weights"]
    for name in chosen:
        result = measured[name]
        assert "error" not in result, f"{name} does not train under MirroredStrategy: {result.get('error')}"
        assert result["replicas"] == 2 and result["mirrored"], name  # every variable, a learned prior's too
        for key, values in result["one"].items():  # loss (and kl) at the same weights, then after one update
            np.testing.assert_allclose(result["two"][key], values, rtol=loss, atol=loss, err_msg=f"{name} {key}")
        # Adam moves a weight by about the learning rate (1e-3) per step whatever its gradient's size, so
        # rounding in a near-zero gradient shows up at 1e-5; a wrong KL weight moves weights by 1e-3.
        assert result["weight_difference"] < weights, name


@pytest.mark.slow
def test_the_comparison_catches_the_stock_exact_kl_layer(measured, replicas):
    """The stock layer adds the batch sum of the KL: per replica it sees half the batch, half the KL."""
    result = measured[replicas.STOCK]
    loss_one, loss_two = result["one"]["loss"][0], result["two"]["loss"][0]
    assert loss_two < loss_one - 10, (loss_one, loss_two)


@pytest.mark.slow
def test_a_checkpointed_run_resumes_and_a_saved_model_moves_onto_two_replicas(measured, replicas):
    result = measured[replicas.RESUME]
    assert result["initial_epoch"] == 1 and result["mirrored"]
    assert len(result["history"]["loss"]) == 2 and result["iterations"] == 2 * replicas.EXAMPLES // 64
    assert result["distributed"] == {"mirrored": True, "same_weights": True, "same_optimizer_state": True}


@pytest.mark.slow
def test_loading_inside_a_strategy_scope_works_or_says_what_to_do(measured, replicas):
    """tf_keras fails to restore the `kl` metric's sync-on-read variables inside a MirroredStrategy scope,
    with "unsupported operand type(s) for /: 'Dataset' and 'int'"; zoo.load must load, or name the way."""
    outcome = measured[replicas.RESUME]["load_in_scope"]
    assert outcome == "loads" or (
        outcome.startswith("ValueError") and "zoo.training.distribute" in outcome
    ), outcome


@pytest.mark.slow
def test_the_multiworker_benchmark_judges_this_measurement(measured, replicas, monkeypatch):
    """benchmarks/multiworker.py runs `measure` on two worker processes (too slow for CI); its verdict on
    this file's output keeps it from rotting."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    multiworker = importlib.import_module("multiworker")
    vae = measured[measured[replicas.REPRESENTATIVES][0]]
    assert multiworker.compare(vae)[0] and not multiworker.compare(measured[replicas.STOCK])[0]
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
