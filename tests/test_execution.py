"""`steps_per_execution="auto"`: long `fit` calls run several steps per execution, short ones and calls
with batch-level callbacks one, and every batch is trained either way."""

import numpy as np
import pytest
from conftest import small_hparams

import zoo
from zoo import execution

LONG = execution.AUTO_MIN_BATCHES  # batches of one example: a call just long enough


def arguments(x, **changes):
    """`fit`'s arguments by name, as `ZooModel.fit` hands them to `execution`."""
    return {
        "x": x, "epochs": 1, "initial_epoch": 0, "steps_per_epoch": None, "batch_size": None,
        "validation_split": 0.0, "validation_data": None, "callbacks": None, **changes,
    }  # fmt: skip


def test_epoch_batches_counts_arrays_datasets_and_steps():
    x = np.zeros((1000, 4), np.float32)
    assert execution.epoch_batches(arguments(x)) == 32  # Keras' default batch of 32
    assert execution.epoch_batches(arguments(x, batch_size=100)) == 10
    assert execution.epoch_batches(arguments([x, np.zeros(1000)], batch_size=100)) == 10
    assert execution.epoch_batches(arguments(x[:999], batch_size=100, validation_split=0.2)) == 8  # 799
    dataset = zoo.data.dataset(x, batch_size=100)
    assert execution.epoch_batches(arguments(dataset)) == 10
    assert execution.epoch_batches(arguments(dataset.repeat())) is None  # infinite
    assert execution.epoch_batches(arguments(dataset.repeat(), steps_per_epoch=7)) == 7
    assert execution.epoch_batches(arguments(iter([]))) is None  # a generator


def test_steps_for_call_needs_a_long_call_without_batch_callbacks():
    x = np.zeros((LONG, 4), np.float32)
    assert execution.steps_for_call(arguments(x, batch_size=1)) == execution.AUTO_STEPS
    assert execution.steps_for_call(arguments(x[1:], batch_size=1)) == 1
    assert (
        execution.steps_for_call(arguments(x[1:], batch_size=1, epochs=3, initial_epoch=1))
        == execution.AUTO_STEPS
    )
    few = execution.AUTO_STEPS - 1  # per epoch: every execution would be cut short at the epoch's end
    assert execution.steps_for_call(arguments(x[:few], batch_size=1, epochs=LONG)) == 1
    per_epoch = zoo.keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    per_batch = zoo.keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: None)
    assert execution.steps_for_call(arguments(x, batch_size=1, callbacks=[per_epoch])) == execution.AUTO_STEPS
    assert execution.steps_for_call(arguments(x, batch_size=1, callbacks=[per_epoch, per_batch])) == 1
    checkpoint = zoo.callbacks.Checkpoint("unused")  # its NaN check is as sure once per execution
    assert (
        execution.steps_for_call(arguments(x, batch_size=1, callbacks=[checkpoint])) == execution.AUTO_STEPS
    )


@pytest.fixture
def model():
    return zoo.get("dense_vae", **small_hparams("dense_vae"))


def test_a_long_fit_runs_several_steps_per_execution_and_trains_every_batch(model, digits):
    """LONG + 3 batches, not a multiple of 8: Keras shortens the last execution of the epoch."""
    x, _ = digits
    assert model.auto_steps_per_execution and zoo.defaults("dense_vae")["steps_per_execution"] == "auto"
    executions = []
    model.fit(
        x[: 2 * LONG + 6], x[: 2 * LONG + 6], batch_size=2, verbose=0, callbacks=[Executions(executions)]
    )
    assert model.optimizer.iterations.numpy() == LONG + 3
    assert executions == [8] and model._train_function_steps == 8
    assert model._steps_per_execution.numpy() == 1  # back to one step for evaluate and predict


class Executions(zoo.keras.callbacks.Callback):
    """Records the steps per execution seen at each epoch's start (a per-epoch callback)."""

    def __init__(self, seen: list):
        super().__init__()
        self.seen = seen

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(int(self.model._steps_per_execution.numpy()))


def test_short_calls_and_batch_callbacks_run_one_step_per_execution(model, digits):
    x, _ = digits
    executions, batches = [], []
    model.fit(
        x[: 2 * LONG - 2], x[: 2 * LONG - 2], batch_size=2, verbose=0, callbacks=[Executions(executions)]
    )
    per_batch = zoo.keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batches.append(batch)
    )
    model.fit(
        x[: 2 * LONG], x[: 2 * LONG], batch_size=2, verbose=0, callbacks=[Executions(executions), per_batch]
    )
    assert executions == [1, 1] and batches == list(range(LONG))


class DuringFit(zoo.keras.callbacks.Callback):
    """At each epoch's end, while the long fit's 8 steps per execution are set: counts the validation
    batches, predicts and takes one train_on_batch step, as a user's callback might."""

    def __init__(self, x: np.ndarray):
        super().__init__()
        self.x, self.validation_batches, self.predicted = x, 0, []

    def on_test_batch_end(self, batch, logs=None):
        self.validation_batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.predicted.append(len(self.model.predict(self.x, batch_size=2, verbose=0)))
        self.model.train_on_batch(self.x[:2], self.x[:2])


def test_validation_predict_and_train_on_batch_during_a_long_fit_see_every_batch(model, digits):
    """Each runs one step per execution, also when its function was traced before the fit."""
    x, _ = digits
    model.evaluate(x[:64], x[:64], batch_size=2, verbose=0)
    model.predict(x[:64], batch_size=2, verbose=0)
    during = DuringFit(x[:64])
    model.fit(
        x[: 2 * LONG],
        x[: 2 * LONG],
        batch_size=2,
        verbose=0,
        validation_data=(x[:64], x[:64]),
        callbacks=[during],
    )
    assert model._train_function_steps == execution.AUTO_STEPS
    assert during.validation_batches == 32 and during.predicted == [64]
    assert model.optimizer.iterations.numpy() == LONG + 1


def test_alternating_short_and_long_calls_trace_each_train_function_once(model, digits):
    x, _ = digits
    for _ in range(2):
        model.fit(x[:64], x[:64], batch_size=8, epochs=1, verbose=0)
        model.fit(x[: 2 * LONG], x[: 2 * LONG], batch_size=2, epochs=1, verbose=0)
    functions = (model.train_function, model._stash.train_function)
    assert [function.experimental_get_tracing_count() for function in functions] == [1, 1]
    assert model.optimizer.iterations.numpy() == 2 * (8 + LONG)


def test_auto_survives_saving_and_an_integer_stays_fixed(model, digits, tmp_path):
    x, _ = digits
    model.fit(x[:64], x[:64], batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    assert zoo.load(tmp_path / "model.keras").auto_steps_per_execution
    fixed = zoo.get("dense_vae", **small_hparams("dense_vae"), steps_per_execution=1)
    fixed.fit(x[: 2 * LONG], x[: 2 * LONG], batch_size=2, epochs=1, verbose=0)
    assert not fixed.auto_steps_per_execution and fixed._steps_per_execution.numpy() == 1
    with pytest.raises(ValueError, match='steps_per_execution must be "auto"'):
        zoo.get("dense_vae", steps_per_execution="fast")
