"""Keras 3 objects at the zoo's boundary (zoo.keras3): the standard ones are converted to their tf_keras twins
and do their job, with one warning per call; the rest are refused with the tf_keras spelling that works."""

from __future__ import annotations

import csv
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import keras3 as k3
from zoo import layers as zl
from zoo import registry
from zoo._tf import tf

keras_3 = pytest.importorskip("keras", minversion="3")  # as a user imports it; every supported TF ships it

K3 = keras_3  # Keras 3, as `tf.keras` is from TensorFlow 2.16 on
TINY = {"latent_dim": 2, "hidden_units": (16,)}


@pytest.fixture(scope="module")
def x(digits) -> np.ndarray:
    """64 binarized digits: two batches of 32."""
    return digits[0][:64]


@pytest.fixture(scope="module")
def shared(x) -> zoo.ZooModel:
    """One tiny model that the callback tests fit a little further (tracing its step once); each test that
    changes its learning rate sets it first."""
    zoo.keras.utils.set_random_seed(0)
    model = zoo.get("dense_vae", **TINY)
    model.fit(x, x, epochs=1, batch_size=32, verbose=0)
    return model


def fit(model, x, callbacks, epochs=2, **kwargs):
    """`model.fit` on `x` in batches of 32, checking that exactly one Keras3Warning comes out."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, x, epochs=epochs, batch_size=32, verbose=0, callbacks=callbacks, **kwargs)
    assert_one_warning(caught, len([c for c in callbacks if k3.is_keras3(c)]))
    return history


def assert_one_warning(caught, converted: int) -> None:
    ours = [w for w in caught if issubclass(w.category, k3.Keras3Warning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert f"converted {converted} Keras 3 object" in str(ours[0].message)
    assert ours[0].filename == __file__, "the warning points at the user's line"


# ---------------------------------------------------------------- callbacks: each does its job once converted


def test_early_stopping_stops_early_and_its_state_comes_back(shared, x):
    stopping = K3.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=1e6)
    history = fit(shared, x, [stopping], epochs=6)
    assert len(history.history["loss"]) == 2  # epoch 1 sets the best, epoch 2 misses it by 1e6: stop
    assert stopping.stopped_epoch == 1 and stopping.best == pytest.approx(history.history["loss"][0])


def test_reduce_lr_on_plateau_lowers_the_rate(shared, x):
    shared.optimizer.learning_rate.assign(1e-3)
    plateau = K3.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.25, patience=0, min_delta=1e6, min_lr=1e-5
    )
    fit(shared, x, [plateau], epochs=3)  # no epoch after the first improves by 1e6: x0.25 twice
    assert float(shared.optimizer.learning_rate.numpy()) == pytest.approx(1e-3 / 16)


def test_learning_rate_scheduler_runs_its_schedule_function(shared, x):
    shared.optimizer.learning_rate.assign(1e-3)
    seen = []

    def schedule(epoch, rate):
        seen.append(epoch)
        return 1e-3 / (epoch + 1)

    fit(shared, x, [K3.callbacks.LearningRateScheduler(schedule)], epochs=3)
    assert seen == [0, 1, 2]
    assert float(shared.optimizer.learning_rate.numpy()) == pytest.approx(1e-3 / 3)


def test_terminate_on_nan_stops_at_the_first_nan(shared, x):
    weights, state = shared.get_weights(), [v.numpy() for v in shared.optimizer.variables]
    try:
        # the posterior's parameters (a linear layer): a NaN before a ReLU may come out as 0 (oneDNN on Intel)
        head = shared.encoder.layers[2]
        head.kernel.assign(np.full(head.kernel.shape, np.nan))
        history = fit(shared, x, [K3.callbacks.TerminateOnNaN()], epochs=3)
        assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    finally:
        shared.set_weights(weights)
        for variable, value in zip(shared.optimizer.variables, state, strict=True):
            variable.assign(value)


def _csv_rows(path):
    with open(path) as file:
        return list(csv.DictReader(file, delimiter=";"))


WRITERS = {
    "ModelCheckpoint": (
        lambda tmp: K3.callbacks.ModelCheckpoint(
            str(tmp / "best.keras"), monitor="loss", save_best_only=True
        ),
        lambda tmp: "zoo>ZooModel" in zipfile.ZipFile(tmp / "best.keras").read("config.json").decode(),
    ),
    "ModelCheckpoint-weights": (
        lambda tmp: K3.callbacks.ModelCheckpoint(str(tmp / "{epoch}.weights.h5"), save_weights_only=True),
        lambda tmp: sorted(p.name for p in tmp.iterdir()) == ["1.weights.h5"],
    ),
    "CSVLogger": (
        lambda tmp: K3.callbacks.CSVLogger(str(tmp / "log.csv"), separator=";"),
        lambda tmp: [row["epoch"] for row in _csv_rows(tmp / "log.csv")] == ["0"],
    ),
    "TensorBoard": (  # needs the tensorboard package (the [tensorboard] and [test] extras)
        lambda tmp: K3.callbacks.TensorBoard(log_dir=str(tmp / "tb"), write_graph=True, update_freq="epoch"),
        lambda tmp: list((tmp / "tb" / "train").glob("events.out.tfevents.*")),
    ),
    "BackupAndRestore": (
        lambda tmp: K3.callbacks.BackupAndRestore(str(tmp / "backup"), delete_checkpoint=False),
        lambda tmp: any((tmp / "backup").rglob("*.index")),
    ),
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_callbacks_that_write_files_write_them(name, shared, x, tmp_path):
    make, wrote = WRITERS[name]
    try:
        fit(shared, x, [make(tmp_path)], epochs=1)
    finally:
        # tf_keras' BackupAndRestore deletes model._training_state at the end of fit, which every later fit
        # of that model reads (AttributeError): a tf_keras bug, with its own callback too
        shared._training_state = getattr(shared, "_training_state", None)
    assert wrote(tmp_path)


def test_lambda_callback_hooks_run_under_their_tf_keras_names(shared, x):
    seen = []
    hooks = K3.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch)),
        on_train_batch_end=lambda batch, logs: seen.append(("batch", batch)),
    )
    fit(shared, x, [hooks], epochs=1)
    assert seen == [("batch", 0), ("batch", 1), ("epoch", 0)]


def test_evaluate_and_predict_convert_their_callbacks(shared, x):
    ends = []
    with pytest.warns(k3.Keras3Warning, match="model.evaluate converted 1"):
        shared.evaluate(x, x, verbose=0, callbacks=[K3.callbacks.LambdaCallback(on_test_end=ends.append)])
    with pytest.warns(k3.Keras3Warning, match="model.predict converted 1"):
        shared.predict(x, verbose=0, callbacks=[K3.callbacks.LambdaCallback(on_predict_end=ends.append)])
    assert len(ends) == 2 and "loss" in ends[0]


def test_remote_monitor_keeps_its_arguments():
    boundary = k3.Boundary("test")
    (twin,) = boundary.convert(
        [K3.callbacks.RemoteMonitor(root="http://h:1", path="/p", field="f", send_as_json=True)]
    )
    assert isinstance(twin, zoo.keras.callbacks.RemoteMonitor)
    assert (twin.root, twin.path, twin.field, twin.send_as_json) == ("http://h:1", "/p", "f", True)


def test_train_converts_its_callbacks_with_one_warning(tmp_path, x, shared):
    stopping = K3.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e6)
    csv_log = K3.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = zoo.training.train(
            tmp_path / "run", lambda: shared, x, x, epochs=5, batch_size=32, callbacks=[stopping, csv_log]
        )
    assert_one_warning(caught, 2)
    assert len(run.history["loss"]) == 2 and stopping.stopped_epoch == 1
    assert len(_csv_rows_comma(tmp_path / "log.csv")) == 2


def _csv_rows_comma(path):
    with open(path) as file:
        return list(csv.DictReader(file))


# ---------------------------------------------------------------- optimizers, schedules, losses, metrics


def _changed(default):
    """A value other than `default` for a bool or float hyperparameter (None: leave it)."""
    if isinstance(default, bool):
        return not default
    if isinstance(default, float):
        return default * 0.5 if default else 0.125
    return None


@pytest.mark.parametrize("name", k3.CONVERTIBLE["optimizers"])
def test_every_optimizer_hyperparameter_carries_over(name):
    cls = getattr(K3.optimizers, name)
    hyper = {
        key: _changed(value) for key, value in k3._parameters(cls).items() if _changed(value) is not None
    }
    optimizer = cls(**{**hyper, "learning_rate": 0.0123, "weight_decay": 0.004, "clipnorm": 0.5})
    (twin,) = k3.Boundary("test").convert([optimizer])
    assert type(twin) is getattr(zoo.keras.optimizers, name)
    theirs, ours = optimizer.get_config(), twin.get_config()
    carried = {
        key for key in theirs if key not in ("name", "loss_scale_factor", "gradient_accumulation_steps")
    }
    assert {"learning_rate", "weight_decay", "clipnorm", "use_ema", "ema_momentum"} <= carried
    for key in carried:
        assert ours[key] == (
            pytest.approx(theirs[key], rel=1e-6) if isinstance(theirs[key], float) else theirs[key]
        ), key


SCHEDULES = {
    "CosineDecay": {
        "initial_learning_rate": 0.1,
        "decay_steps": 10,
        "alpha": 0.1,
        "warmup_target": 0.2,
        "warmup_steps": 5,
    },
    "CosineDecayRestarts": {
        "initial_learning_rate": 0.1,
        "first_decay_steps": 5,
        "t_mul": 1.5,
        "m_mul": 0.5,
        "alpha": 0.1,
    },
    "ExponentialDecay": {
        "initial_learning_rate": 0.1,
        "decay_steps": 4,
        "decay_rate": 0.5,
        "staircase": True,
    },
    "InverseTimeDecay": {
        "initial_learning_rate": 0.1,
        "decay_steps": 4,
        "decay_rate": 0.5,
        "staircase": True,
    },
    "PiecewiseConstantDecay": {"boundaries": [5, 10], "values": [0.1, 0.05, 0.01]},
    "PolynomialDecay": {
        "initial_learning_rate": 0.1,
        "decay_steps": 10,
        "end_learning_rate": 0.01,
        "power": 2.0,
        "cycle": True,
    },
}


def test_the_schedule_table_is_tested():
    assert set(SCHEDULES) == set(k3.CONVERTIBLE["optimizers.schedules"])


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_schedule_gives_the_same_rates(name):
    schedule = getattr(K3.optimizers.schedules, name)(**SCHEDULES[name])
    optimizer = K3.optimizers.SGD(learning_rate=schedule)
    (twin,) = k3.Boundary("test").convert([optimizer])
    rates = zoo.keras.optimizers.schedules.deserialize(twin.get_config()["learning_rate"])
    assert type(rates) is getattr(zoo.keras.optimizers.schedules, name)
    for step in (0, 3, 7, 12, 25):
        assert float(rates(step)) == pytest.approx(float(schedule(step)), rel=1e-6), step


P = np.array([[0.1, 0.8, 0.3], [0.7, 0.2, 0.4], [0.3, 0.3, 0.9], [0.6, 0.9, 0.2]], np.float32)
INPUTS = {
    "binary": lambda: (np.array([[0, 1, 1], [1, 0, 0], [0, 0, 1], [1, 1, 0]], np.float32), P),
    "onehot": lambda: (np.eye(3, dtype=np.float32)[[1, 0, 2, 1]], P / P.sum(axis=1, keepdims=True)),
    "sparse": lambda: (np.array([1, 0, 2, 1]), P / P.sum(axis=1, keepdims=True)),
    "labels": lambda: (np.array([1, 0, 2, 1]), np.array([1, 0, 1, 1])),
    "values": lambda: (P,),
}
LOSSES = {  # name: (non-default arguments, inputs)
    "BinaryCrossentropy": ({"label_smoothing": 0.1}, "binary"),
    "BinaryFocalCrossentropy": ({"gamma": 3.0, "apply_class_balancing": True}, "binary"),
    "CategoricalCrossentropy": ({"label_smoothing": 0.1}, "onehot"),
    "CategoricalFocalCrossentropy": ({"gamma": 3.0}, "onehot"),
    "CategoricalHinge": ({}, "onehot"),
    "CosineSimilarity": ({"axis": 0}, "binary"),
    "Hinge": ({}, "binary"),
    "Huber": ({"delta": 0.3}, "binary"),
    "KLDivergence": ({}, "onehot"),
    "LogCosh": ({}, "binary"),
    "MeanAbsoluteError": ({"reduction": "sum"}, "binary"),
    "MeanAbsolutePercentageError": ({}, "binary"),
    "MeanSquaredError": ({"reduction": None}, "binary"),
    "MeanSquaredLogarithmicError": ({}, "binary"),
    "Poisson": ({}, "binary"),
    "SparseCategoricalCrossentropy": ({"ignore_class": 2}, "sparse"),
    "SquaredHinge": ({}, "binary"),
}
METRICS = {  # name: (non-default arguments, inputs); the rest take ({}, "binary")
    "AUC": ({"num_thresholds": 50, "curve": "PR"}, "binary"),
    "Accuracy": ({}, "labels"),
    "BinaryAccuracy": ({"threshold": 0.7}, "binary"),
    "BinaryIoU": ({"threshold": 0.4}, "binary"),
    "CategoricalAccuracy": ({}, "onehot"),
    "CategoricalCrossentropy": ({"label_smoothing": 0.1}, "onehot"),
    "CosineSimilarity": ({"axis": 0}, "binary"),
    "F1Score": ({"threshold": 0.5}, "binary"),
    "FBetaScore": ({"beta": 2.0, "threshold": 0.5}, "binary"),
    "IoU": ({"num_classes": 3, "target_class_ids": [1]}, "labels"),
    "KLDivergence": ({}, "onehot"),
    "Mean": ({}, "values"),
    "MeanIoU": ({"num_classes": 3}, "labels"),
    "OneHotIoU": ({"num_classes": 3, "target_class_ids": [0, 1]}, "onehot"),
    "OneHotMeanIoU": ({"num_classes": 3}, "onehot"),
    "Precision": ({"thresholds": 0.3}, "binary"),
    "PrecisionAtRecall": ({"recall": 0.5}, "binary"),
    "RecallAtPrecision": ({"precision": 0.5}, "binary"),
    "SensitivityAtSpecificity": ({"specificity": 0.5}, "binary"),
    "SparseCategoricalAccuracy": ({}, "sparse"),
    "SparseCategoricalCrossentropy": ({}, "sparse"),
    "SparseTopKCategoricalAccuracy": ({"k": 2}, "sparse"),
    "SpecificityAtSensitivity": ({"sensitivity": 0.5}, "binary"),
    "Sum": ({}, "values"),
    "TopKCategoricalAccuracy": ({"k": 2}, "onehot"),
}


def test_the_loss_table_is_tested():
    assert set(LOSSES) == set(k3.CONVERTIBLE["losses"])


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_computes_what_it_computed(name):
    arguments, inputs = LOSSES[name]
    loss = getattr(K3.losses, name)(**arguments)
    (twin,) = k3.Boundary("test").convert([loss])
    assert type(twin) is getattr(zoo.keras.losses, name)
    y_true, y_pred = INPUTS[inputs]()
    np.testing.assert_allclose(np.asarray(twin(y_true, y_pred)), np.asarray(loss(y_true, y_pred)), rtol=1e-5)


@pytest.mark.parametrize("name", k3.CONVERTIBLE["metrics"])
def test_every_metric_computes_what_it_computed(name):
    arguments, inputs = METRICS.get(name, ({}, "binary"))
    metric = getattr(K3.metrics, name)(**arguments)
    (twin,) = k3.Boundary("test").convert([metric])
    assert type(twin) is getattr(zoo.keras.metrics, name) and twin.name == metric.name
    for each in (metric, twin):
        each.update_state(*INPUTS[inputs]())
    np.testing.assert_allclose(np.asarray(twin.result()), np.asarray(metric.result()), rtol=1e-5)


def test_compile_converts_optimizer_schedule_loss_and_metrics_with_one_warning(x):
    model = zoo.get("dense_vae", **TINY)
    schedule = K3.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=1, decay_rate=0.5)
    optimizer = K3.optimizers.AdamW(
        schedule, beta_1=0.8, beta_2=0.95, epsilon=1e-5, weight_decay=0.01, clipnorm=1.0
    )
    loss = K3.losses.BinaryCrossentropy(
        label_smoothing=0.2
    )  # of a sample of p(x|z): a loss object, trained on
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile(optimizer=optimizer, loss=loss, metrics=[K3.metrics.MeanSquaredError()])
    assert_one_warning(caught, 3)
    twin = model.optimizer
    assert isinstance(twin, zoo.keras.optimizers.AdamW)
    assert (twin.beta_1, twin.beta_2, twin.epsilon, twin.weight_decay, twin.clipnorm) == (
        0.8,
        0.95,
        1e-5,
        0.01,
        1.0,
    )
    assert (
        isinstance(model.loss, zoo.keras.losses.BinaryCrossentropy)
        and model.loss.get_config()["label_smoothing"] == 0.2
    )
    history = model.fit(x, x, epochs=1, batch_size=32, verbose=0)  # two steps
    assert int(twin.iterations.numpy()) == 2
    assert float(twin.learning_rate.numpy()) == pytest.approx(
        1e-3 / 2
    )  # the schedule's rate at the last step
    assert np.isfinite(history.history["loss"][0]) and np.isfinite(history.history["mean_squared_error"][0])


# ---------------------------------------------------------------- refusals: what cannot be converted, and the fix


class MyCallback(K3.callbacks.Callback):
    pass


class MyStopping(K3.callbacks.EarlyStopping):
    pass


class MySchedule(K3.optimizers.schedules.LearningRateSchedule):
    def __call__(self, step):
        return 1e-3

    def get_config(self):
        return {}


@pytest.mark.parametrize(
    "make, named, spelling",
    [
        (
            MyCallback,
            r"MyCallback",
            r"Subclass zoo\.keras\.callbacks\.Callback \(that is tf_keras\.callbacks\.Callback\)",
        ),
        (MyStopping, r"MyStopping", r"Subclass zoo\.keras\.callbacks\.EarlyStopping"),
        (
            lambda: K3.callbacks.TerminateOnNaN(raise_error=True),
            r"raise_error=True exists only in Keras 3",
            r"zoo\.keras\.callbacks\.TerminateOnNaN",
        ),
        (
            lambda: K3.callbacks.BackupAndRestore("b", double_checkpoint=True),
            r"double_checkpoint=True",
            r"tf_keras\.callbacks\.BackupAndRestore",
        ),
        (lambda: K3.callbacks.SwapEMAWeights(), r"SwapEMAWeights", r"zoo\.keras \(tf_keras\)"),
    ],
)
def test_what_fit_cannot_convert_is_refused_with_the_fix(make, named, spelling, shared, x):
    steps = int(shared.optimizer.iterations.numpy())
    with pytest.raises(
        TypeError, match=rf"(?=.*{named})(?=.*is a Keras 3 object.*Keras 2 \(tf_keras\))(?=.*{spelling})"
    ):
        shared.fit(x, x, epochs=1, verbose=0, callbacks=[make()])
    assert int(shared.optimizer.iterations.numpy()) == steps  # refused before any step


@pytest.mark.parametrize(
    "arguments, named",
    [
        ({"optimizer": K3.optimizers.Adam(gradient_accumulation_steps=2)}, "gradient_accumulation_steps=2"),
        ({"optimizer": K3.optimizers.SGD(learning_rate=MySchedule())}, "MySchedule"),
        ({"optimizer": K3.optimizers.Lamb()}, r"keras\.optimizers\.Lamb"),
        ({"optimizer": "adam", "loss": K3.losses.MeanSquaredError(reduction="mean")}, "reduction='mean'"),
        ({"optimizer": "adam", "metrics": [K3.metrics.PearsonCorrelation()]}, "PearsonCorrelation"),
    ],
)
def test_what_compile_cannot_convert_is_refused(arguments, named, shared):
    optimizer = shared.optimizer
    with pytest.raises(TypeError, match=rf"(?=.*{named})(?=.*is a Keras 3 object)"):
        shared.compile(**{"loss": zl.negative_log_likelihood, **arguments})
    assert shared.optimizer is optimizer  # refused before compiling


def test_keras3_loss_functions_pass_through_unchanged(shared):
    """Functions are not objects to convert: tf_keras calls Keras 3's on its tensors, and they work."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", k3.Keras3Warning)
        assert k3.Boundary("test").convert([K3.losses.binary_crossentropy]) == [K3.losses.binary_crossentropy]


# ---------------------------------------------------------------- builders and loading


@pytest.fixture
def own_registry(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def _keras3_model(latent_dim=2):
    return K3.Sequential([K3.Input((28, 28, 1)), K3.layers.Flatten(), K3.layers.Dense(latent_dim)])


def _keras3_layer_in_a_sequential(latent_dim=2):
    return zoo.keras.Sequential([zoo.keras.Input((28, 28, 1)), K3.layers.Flatten()])


def _keras3_layer_in_assemble(latent_dim=2):
    from zoo.model import assemble

    return assemble((28, 28, 1), latent_dim, [K3.layers.Flatten()], [zoo.keras.layers.Dense(784)])


def _keras3_layer_called_on_a_tf_keras_tensor(latent_dim=2):
    from zoo.model import ZooModel

    image = zoo.keras.Input((4,))
    return ZooModel(image, zoo.keras.layers.Dense(latent_dim)(K3.layers.Dense(3)(image)))


def _not_a_model(latent_dim=2):
    return "a model"


@pytest.mark.parametrize(
    "builder, message",
    [
        (
            _keras3_model,
            r"returned <Sequential.*\(keras\.models\.Sequential\), a Keras 3 object.*Use zoo\.keras\.models\.Sequential \(that is tf_keras\.models\.Sequential\)",
        ),
        (
            _keras3_layer_in_a_sequential,
            r"The builder of mine added a Flatten \(keras\.layers\.Flatten\), a Keras 3 layer.*Use zoo\.keras\.layers\.Flatten",
        ),
        (
            _keras3_layer_in_assemble,
            r"zoo\.model\.assemble got <Flatten.*\(keras\.layers\.Flatten\), a Keras 3 object.*Use zoo\.keras\.layers\.Flatten",
        ),
        (_keras3_layer_called_on_a_tf_keras_tensor, r"Variable.*a Keras 3 object.*weights would never train"),
        (_not_a_model, r"returned a builtins\.str; a zoo builder returns a zoo\.ZooModel"),
    ],
)
def test_get_checks_what_a_registered_builder_returned(builder, message, own_registry):
    zoo.register(builder, name="mine")
    with pytest.raises(TypeError, match=message):
        zoo.get("mine")


def test_keras3_load_model_on_a_zoo_file_says_to_use_zoo_load(shared, tmp_path):
    path = tmp_path / "model.keras"
    shared.save(path)
    for load_model in (tf.keras.models.load_model, K3.models.load_model, K3.saving.load_model):
        with pytest.raises(
            ValueError, match=r"this is a zoo model \(Keras 2, tf_keras\): load it with zoo\.load\(path\)"
        ):
            load_model(path)
    # zoo.load (safe_mode=True) is unaffected: tests/test_io.py loads with the stand-ins registered


def test_every_zoo_class_has_a_keras3_stand_in():
    zoo_names = {name for name in zoo.keras.saving.get_custom_objects() if name.startswith("zoo>")}
    stand_ins = {
        name for name, cls in K3.saving.get_custom_objects().items() if issubclass(cls, k3._ZooStandIn)
    }
    assert "zoo>ZooModel" in zoo_names and zoo_names <= stand_ins


def test_the_docs_list_every_convertible_class():
    root = Path(__file__).resolve().parents[1]
    doc, readme = (root / "docs" / "keras3.md").read_text(), (root / "README.md").read_text()
    for kind, names in k3.CONVERTIBLE.items():
        for name in names:
            assert f"`{name}`" in doc, (kind, name)
    for kind in ("callbacks", "optimizers"):
        assert all(f"`{name}`" in readme for name in k3.CONVERTIBLE[kind]), kind
    assert f"the {len(k3.CONVERTIBLE['optimizers.schedules'])} standard learning-rate schedules" in readme
    assert (
        f"the {len(k3.CONVERTIBLE['losses'])} standard losses and {len(k3.CONVERTIBLE['metrics'])} standard metrics"
        in readme
    )
