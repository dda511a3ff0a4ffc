"""Keras 3 objects at the zoo's boundary: each is converted to its tf_keras (Keras 2) twin, or refused with the fix.

The zoo runs on Keras 2 (`tf_keras`), which `tfp.layers` needs; from TensorFlow 2.16 on `tf.keras` is Keras 3,
so course code hands the zoo Keras 3 callbacks, optimizers, losses and metrics that tf_keras cannot use
(`'EarlyStopping' object has no attribute '_implements_train_batch_hooks'`, `Could not interpret optimizer
identifier`). `ZooModel.compile/fit/evaluate/predict` and `zoo.training.train` pass what they are given
through a `Boundary`: each Keras 3 object of a class in `CONVERTIBLE` becomes a new tf_keras object of the
same class with the same arguments, and the call warns once (`Keras3Warning`) naming what it converted.
Anything else from Keras 3 (a user's own subclass, a layer or model) raises a `TypeError` that names it and
shows the `zoo.keras` spelling that works:

>>> model.fit(x, x, callbacks=[tf.keras.callbacks.EarlyStopping(monitor="loss", patience=1)])  # warns, runs

Arguments carry over from `get_config()` (optimizers, schedules, losses, metrics) or, for callbacks, which
have no config, from the attributes their `__init__` stores them in; `READ`, `RENAME` and `VALUES` hold the
few places where the two Keras spell an argument differently. An argument only Keras 3 has is dropped when
it has its default and refused otherwise (`gradient_accumulation_steps=4`, `TerminateOnNaN(raise_error=True)`).
State does not carry over (an optimizer's step count and moments); after the call, the callbacks' plain
public state (`stopped_epoch`, `best`, `wait`) is copied back into the Keras 3 objects the user holds.

`stand_ins_for_keras3_load` makes Keras 3's `load_model` on a zoo file say to use `zoo.load`.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from zoo._tf import imported_keras3, keras, tf

CONVERTIBLE: dict[str, tuple[str, ...]] = {
    "callbacks": (
        "BackupAndRestore",
        "CSVLogger",
        "EarlyStopping",
        "LambdaCallback",
        "LearningRateScheduler",
        "ModelCheckpoint",
        "ReduceLROnPlateau",
        "RemoteMonitor",
        "TensorBoard",
        "TerminateOnNaN",
    ),
    "optimizers": (
        "Adadelta",
        "Adafactor",
        "Adagrad",
        "Adam",
        "AdamW",
        "Adamax",
        "Ftrl",
        "Lion",
        "Nadam",
        "RMSprop",
        "SGD",
    ),
    "optimizers.schedules": (
        "CosineDecay",
        "CosineDecayRestarts",
        "ExponentialDecay",
        "InverseTimeDecay",
        "PiecewiseConstantDecay",
        "PolynomialDecay",
    ),
    "losses": (
        "BinaryCrossentropy",
        "BinaryFocalCrossentropy",
        "CategoricalCrossentropy",
        "CategoricalFocalCrossentropy",
        "CategoricalHinge",
        "CosineSimilarity",
        "Hinge",
        "Huber",
        "KLDivergence",
        "LogCosh",
        "MeanAbsoluteError",
        "MeanAbsolutePercentageError",
        "MeanSquaredError",
        "MeanSquaredLogarithmicError",
        "Poisson",
        "SparseCategoricalCrossentropy",
        "SquaredHinge",
    ),
    "metrics": (
        "AUC",
        "Accuracy",
        "BinaryAccuracy",
        "BinaryCrossentropy",
        "BinaryIoU",
        "CategoricalAccuracy",
        "CategoricalCrossentropy",
        "CategoricalHinge",
        "CosineSimilarity",
        "F1Score",
        "FBetaScore",
        "FalseNegatives",
        "FalsePositives",
        "Hinge",
        "IoU",
        "KLDivergence",
        "LogCoshError",
        "Mean",
        "MeanAbsoluteError",
        "MeanAbsolutePercentageError",
        "MeanIoU",
        "MeanSquaredError",
        "MeanSquaredLogarithmicError",
        "OneHotIoU",
        "OneHotMeanIoU",
        "Poisson",
        "Precision",
        "PrecisionAtRecall",
        "R2Score",
        "Recall",
        "RecallAtPrecision",
        "RootMeanSquaredError",
        "SensitivityAtSpecificity",
        "SparseCategoricalAccuracy",
        "SparseCategoricalCrossentropy",
        "SparseTopKCategoricalAccuracy",
        "SpecificityAtSensitivity",
        "SquaredHinge",
        "Sum",
        "TopKCategoricalAccuracy",
        "TrueNegatives",
        "TruePositives",
    ),
}
"""Every class the zoo converts: Keras 3's `keras.<kind>.<name>` becomes `tf_keras.<kind>.<name>`."""


def _profile_batch(callback: Any, arguments: dict) -> Any:
    """TensorBoard keeps `profile_batch` only as the range it parsed it into."""
    start, stop = getattr(callback, "_start_batch", 0), getattr(callback, "_stop_batch", 0)
    return 0 if start <= 0 else start if start == stop else (start, stop)


def _learning_rate(optimizer: Any, arguments: dict) -> Any:
    """A Keras 3 learning-rate schedule becomes its tf_keras twin (its config holds it serialized)."""
    schedule = getattr(optimizer, "_learning_rate", None)
    if is_keras3(schedule) and isinstance(schedule, imported_keras3().optimizers.schedules.LearningRateSchedule):
        return _twin(schedule)
    return arguments["learning_rate"]


def _reduction(loss: Any, arguments: dict) -> Any:
    """Keras 3 spells "no reduction" None too; "mean" and "mean_with_sample_weight" have no tf_keras twin."""
    reduction = arguments["reduction"]
    if reduction is None or reduction in ("none", "sum", "sum_over_batch_size"):
        return reduction or "none"
    raise refusal(
        loss,
        f"Its reduction={reduction!r} has no tf_keras twin (which has 'sum_over_batch_size', 'sum', 'none').",
    )


def _metric_dtype(metric: Any, arguments: dict) -> Any:
    """Keras 3's IoU metrics default to an integer dtype (their confusion matrix's); tf_keras's results are
    floats, and it counts in float64 whatever the dtype."""
    dtype = arguments["dtype"]
    return None if isinstance(dtype, str) and dtype.startswith(("int", "uint")) else dtype


READ: dict[str, dict[str, str | Callable[[Any, dict], Any]]] = {
    "CSVLogger": {"separator": "sep"},
    "ModelCheckpoint": {"initial_value_threshold": "best"},
    "TensorBoard": {"profile_batch": _profile_batch},
}
"""Callbacks: the attribute (or function) a Keras 3 argument is read back from, where not its own name."""

VALUES: dict[str, dict[str, Callable[[Any, dict], Any]]] = {
    "optimizers": {"learning_rate": _learning_rate},
    "losses": {"reduction": _reduction},
    "metrics": {"dtype": _metric_dtype},
}
"""Per kind: the arguments whose Keras 3 values need translating (or converting themselves)."""

HOOKS: dict[str, str] = {"LambdaCallback": "on_"}
"""Callbacks that take any further hook (`on_test_end=...`) as a keyword argument, in both Keras."""

RENAME: dict[str, dict[str, str]] = {
    "LambdaCallback": {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"},
}
"""The tf_keras twin's argument where its name differs from the Keras 3 argument."""


class Keras3Warning(UserWarning):
    """A zoo call converted Keras 3 objects to their tf_keras twins; the message names them."""


def is_keras3(obj: Any) -> bool:
    """True for an instance of a Keras 3 class, a user's subclass of one included (`tf.keras.*`, `keras.*`)."""
    if imported_keras3() is None or obj is None:
        return False
    return any(c.__module__ == "keras" or c.__module__.startswith("keras.") for c in type(obj).__mro__)


def _resolve(module: Any, path: str) -> Any:
    for part in path.split("."):
        module = getattr(module, part, None)
    return module


@functools.cache
def _table() -> dict[type, tuple[str, str]]:
    """Keras 3 class -> (kind, name), for the classes of `CONVERTIBLE` this Keras 3 has."""
    found = {
        _resolve(imported_keras3(), f"{kind}.{name}"): (kind, name)
        for kind, names in CONVERTIBLE.items()
        for name in names
    }
    found.pop(None, None)
    return found


def _exported(cls: type) -> tuple[str | None, bool]:
    """Keras 3's public name (after "keras.") of `cls` or of its nearest public base, and whether it is
    `cls`'s own: ("callbacks.EarlyStopping", True); ("callbacks.Callback", False) for a user's callback."""
    for base in cls.__mro__:
        path = vars(base).get("_api_export_path")  # set by Keras 3's export decorator on public classes
        if isinstance(path, (list, tuple)):
            path = path[-1]
        if isinstance(path, str) and path.startswith("keras."):
            return path[len("keras.") :], base is cls
    return None, False


def refusal(obj: Any, reason: str = "", where: str = "") -> TypeError:
    """The TypeError for a Keras 3 object the zoo cannot use: what it is, why, and the tf_keras spelling.

    where: what got it, e.g. "The builder of mine returned ". reason: one more sentence on why.
    """
    cls = type(obj)
    path, exact = _exported(cls)
    label = f"keras.{path}" if exact else f"{cls.__module__}.{cls.__qualname__}"
    if path is not None and not exact:
        label += f", a subclass of keras.{path}"
    if path is None or _resolve(keras, path) is None:
        fix = (
            f"tf_keras has no {path.rpartition('.')[2]}; build" if path else "Build"
        ) + " everything you hand the zoo from zoo.keras (tf_keras), not from tf.keras or keras."
    elif exact:
        fix = f"Use zoo.keras.{path} (that is tf_keras.{path}) instead of tf.keras.{path}."
    else:
        fix = f"Subclass zoo.keras.{path} (that is tf_keras.{path}) instead of tf.keras.{path}."
    text = repr(obj)
    text = f"a {cls.__name__}" if " object at 0x" in text else text if len(text) <= 80 else text[:77] + "..."
    subject = (
        f"{where}{text} ({label}), a Keras 3 object"
        if where
        else f"{text[0].upper()}{text[1:]} ({label}) is a Keras 3 object"
    )
    return TypeError(
        f"{subject}: tf.keras is Keras 3 since TensorFlow 2.16, and the zoo runs on Keras 2 (tf_keras), which "
        f"tfp.layers needs. {reason + ' ' if reason else ''}{fix}"
    )


def _parameters(cls: type) -> dict[str, Any]:
    """`cls.__init__`'s named arguments and their defaults (inspect.Parameter.empty where none)."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _arguments(obj: Any, kind: str, name: str) -> dict[str, Any]:
    """The Keras 3 object's constructor arguments, by their Keras 3 names."""
    if kind == "callbacks":  # no get_config: read each argument back from where __init__ stored it
        stored, arguments = vars(obj), {}
        for argument in _parameters(type(obj)):
            read = READ.get(name, {}).get(argument, argument)
            if callable(read):
                arguments[argument] = read(obj, arguments)
            elif read in stored:
                arguments[argument] = stored[read]
            elif not argument.startswith(HOOKS.get(name, "-")):  # LambdaCallback keeps only the hooks given
                raise refusal(obj, f"The zoo cannot read back its argument {argument!r}.")
        if name in HOOKS:
            arguments.update(
                {k: v for k, v in stored.items() if k.startswith(HOOKS[name]) and k not in arguments}
            )
        return arguments
    # Keras 3 losses and metrics that wrap a function keep some of its arguments (Huber's delta,
    # CosineSimilarity's axis) only there, not in get_config()
    keeps = _parameters(type(obj))
    arguments = {k: v for k, v in getattr(obj, "_fn_kwargs", {}).items() if k in keeps}
    arguments.update(obj.get_config())
    for argument, translate in VALUES.get(kind, {}).items():
        if argument in arguments:
            arguments[argument] = translate(obj, arguments)
    return arguments


def _twin(obj: Any) -> Any:
    """The tf_keras object of `obj`'s class with `obj`'s arguments, or the TypeError why there is none."""
    found = _table().get(type(obj))  # the exact class: a subclass's own code would be lost
    if found is None:
        raise refusal(
            obj,
            "The zoo converts only the standard callbacks, optimizers, losses and metrics (zoo.keras3.CONVERTIBLE).",
        )
    kind, name = found
    twin_class = _resolve(keras, f"{kind}.{name}")
    accepted, defaults = _parameters(twin_class), _parameters(type(obj))
    rename = RENAME.get(name, {})
    kwargs = {}
    for argument, value in _arguments(obj, kind, name).items():
        target = rename.get(argument, argument)
        if target in accepted or (name in HOOKS and target.startswith(HOOKS[name])):
            kwargs[target] = value
        elif argument not in defaults or not _same(value, defaults[argument]):
            raise refusal(obj, f"Its argument {argument}={value!r} exists only in Keras 3; leave it out.")
    return twin_class(**kwargs) if kind == "callbacks" else twin_class.from_config(kwargs)


class Boundary:
    """The Keras 3 objects handed to one zoo call: `convert` each argument, `warn` once, `write_back` after.

    >>> boundary = Boundary("model.fit")
    >>> callbacks = boundary.convert(callbacks)   # the same list, Keras 3 objects replaced by twins
    >>> boundary.warn()                           # one Keras3Warning naming them, if there were any
    """

    def __init__(self, call: str):
        self.call = call
        self.converted: list[tuple[Any, Any]] = []  # (the user's Keras 3 object, its tf_keras twin)

    def convert(self, value: Any) -> Any:
        """`value` with every Keras 3 object inside it (in lists, tuples and dicts) converted."""
        if type(value) in (list, tuple):
            return type(value)(self.convert(item) for item in value)
        if type(value) is dict:
            return {key: self.convert(item) for key, item in value.items()}
        if not is_keras3(value):
            return value
        twin = _twin(value)
        self.converted.append((value, twin))
        return twin

    def warn(self, stacklevel: int = 2) -> None:
        """One `Keras3Warning` naming every conversion, shown at the line `stacklevel` frames up (1: the
        function calling `warn`, 2: its caller)."""
        if not self.converted:
            return
        names = [
            f"keras.{path} -> tf_keras.{path}" for path, _ in (_exported(type(o)) for o, _ in self.converted)
        ]
        listed = ", ".join(dict.fromkeys(names))
        count = len(self.converted)
        objects = (
            "1 Keras 3 object to its tf_keras (Keras 2) twin"
            if count == 1
            else f"{count} Keras 3 objects to their tf_keras (Keras 2) twins"
        )
        warnings.warn(
            f"{self.call} converted {objects}, with the same arguments: {listed}. Import them from "
            "zoo.keras (tf_keras) instead of tf.keras to skip the conversion; see docs/keras3.md.",
            Keras3Warning,
            stacklevel=stacklevel + 1,
        )

    def write_back(self) -> None:
        """Copy the callbacks' plain public state (`stopped_epoch`, `best`, ...) back to the Keras 3 objects."""
        for original, twin in self.converted:
            if not isinstance(twin, keras.callbacks.Callback):
                continue
            mine = vars(original)
            for key, value in vars(twin).items():
                if (
                    key in mine
                    and not key.startswith("_")
                    and isinstance(value, (numbers.Number, str, type(None)))
                ):
                    mine[key] = value


def convert(call: str, arguments: dict[str, Any], names: tuple[str, ...], stacklevel: int = 2) -> Boundary:
    """Convert `arguments[name]` for each of `names` in place and warn once, at the caller of the function
    calling `convert` (`stacklevel` as for `Boundary.warn`); the Boundary it returns is for `write_back`."""
    boundary = Boundary(call)
    for name in names:
        if name in arguments:
            arguments[name] = boundary.convert(arguments[name])
    boundary.warn(stacklevel + 1)
    return boundary


def refuse_any(values: Any, where: str) -> None:
    """Raise `refusal` for the first Keras 3 object in `values` (a layer list, a built model's parts)."""
    for value in tf.nest.flatten(values):
        if is_keras3(value):
            raise refusal(value, where=where)


def _inside(model: Any) -> Iterator[tuple[Any, Any]]:
    """(layer, Keras 3 object) for every Keras 3 layer in `model` and every Keras 3 value a layer was called
    with: a Keras 3 layer called on a tf_keras tensor leaves only tf ops holding its weights as constants."""
    for layer in getattr(model, "layers", []):
        if is_keras3(layer):
            yield layer, layer
            continue
        for node in getattr(layer, "inbound_nodes", []):
            for value in tf.nest.flatten((node.call_args, node.call_kwargs)):
                if is_keras3(value):
                    yield layer, value
        yield from _inside(layer)


def check_built(model: Any, where: str) -> None:
    """Raise a TypeError if `model` (a tf_keras model a builder returned) is or holds Keras 3 objects."""
    if is_keras3(model):
        raise refusal(model, "A zoo builder returns a zoo.ZooModel made with zoo.model.assemble.", where)
    for layer, value in _inside(model):
        reason = (
            ""
            if layer is value
            else f"It reached the model's {layer.name!r} op: a Keras 3 layer called on a tf_keras tensor, whose "
            "weights would never train."
        )
        raise refusal(value, reason, where)


_SEQUENTIAL_ERROR = re.compile(r"of type <class '(keras\.[\w.]+)'>")


def explained(error: TypeError, where: str) -> TypeError | None:
    """tf_keras' own TypeError for a Keras 3 layer added to a tf_keras Sequential ("The added layer must be
    an instance of class Layer. Received: ... of type <class 'keras.src...'>"), explained; else None."""
    found = _SEQUENTIAL_ERROR.search(str(error))
    if imported_keras3() is None or not found:
        return None
    module, _, name = found.group(1).rpartition(".")
    path, exact = _exported(getattr(sys.modules.get(module), name, object))
    label = f"keras.{path}" if exact else found.group(1)
    fix = (
        f"zoo.keras.{path} (that is tf_keras.{path}) instead of tf.keras.{path}"
        if exact and _resolve(keras, path) is not None
        else "zoo.keras (tf_keras) layers only"
    )
    return TypeError(
        f"{where} added a {name} ({label}), a Keras 3 layer, to a tf_keras model: tf.keras is Keras 3 since "
        f"TensorFlow 2.16, and the zoo runs on Keras 2 (tf_keras), which tfp.layers needs. Use {fix}. ({error})"
    )


LOAD_MESSAGE = (
    "Keras 3 (tf.keras, keras) cannot load {name}: this is a zoo model (Keras 2, tf_keras): load it with "
    "zoo.load(path), after `import zoo`. The zoo's layers are tfp.layers, which run on Keras 2 only."
)


class _ZooStandIn:
    """What Keras 3 finds under a zoo class's registered name: its `from_config` says to use zoo.load."""

    registered_name = "zoo>?"

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> Any:
        raise ValueError(LOAD_MESSAGE.format(name=cls.registered_name))


def stand_ins_for_keras3_load() -> None:
    """Register on the Keras 3 side a stand-in for every class the zoo registers with tf_keras ("zoo>ZooModel",
    "zoo>KLDivergence", ...), so `tf.keras.models.load_model("m.keras")` on a zoo file ends in LOAD_MESSAGE
    instead of Keras 3's "Could not locate class 'ZooModel'". Keras 3's own names are left alone."""
    if imported_keras3() is None:
        return
    theirs = imported_keras3().saving.get_custom_objects()
    for registered in keras.saving.get_custom_objects():
        if registered.startswith("zoo>") and registered not in theirs:
            name = registered.partition(">")[2]
            theirs[registered] = type(name, (_ZooStandIn,), {"registered_name": registered})
