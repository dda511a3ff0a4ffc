"""Misuse through the public API fails loudly, at once, with an exception that names the problem and the fix,
and never as an unexplained error from deep inside TensorFlow, Keras or NumPy.

`MISUSES` is the table: what a user does wrong, the exception, and a pattern its message must match. It holds
the cases that cut across modules or are tested nowhere else; a misuse of one module's function is checked
in that module's test file (bad images and labels in test_data.py, hyperparameter values in test_registry.py
and test_checks.py, annealing in test_callbacks.py, evaluate's k in test_evaluate.py...).
The Hypothesis tests fuzz `zoo.get`'s hyperparameters and the arrays handed to a model.
"""

from __future__ import annotations

import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import small_hparams
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zoo
from zoo import training
from zoo._tf import keras
from zoo.callbacks import Checkpoint

ZOO_SOURCE = Path(zoo.__file__).resolve().parent
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class Misuse:
    id: str
    act: Callable[[SimpleNamespace], object]
    error: type[BaseException]
    match: str


def _fit(model, x, y=None):
    return model.fit(x, x if y is None else y, epochs=1, verbose=0)


def _rewrite_config(source: Path, target: Path, old: str, new: str) -> Path:
    """Copy a .keras archive with `old` replaced by `new` in its config.json."""
    with zipfile.ZipFile(source) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["config.json"] = entries["config.json"].decode().replace(old, new).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return target


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> SimpleNamespace:
    """Small models, 64 binary digits and labels, and files a user might hand over by mistake."""
    folder = tmp_path_factory.mktemp("misuse")
    x, y = zoo.data.load("mnist-5k", split="train", binarize=True)
    models = {name: zoo.get(name, **small_hparams(name)) for name in ("dense_vae", "cvae")}
    models["dense_vae"].save(folder / "model.keras")
    whole = (folder / "model.keras").read_bytes()
    (folder / "truncated.keras").write_bytes(whole[: len(whole) // 2])
    (folder / "garbage.keras").write_bytes(b"these are not the weights you are looking for")
    with zipfile.ZipFile(folder / "other.keras", "w") as archive:
        archive.writestr("notes.txt", "a zip archive, but not a Keras model")
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(folder / "plain.keras")
    _rewrite_config(folder / "model.keras", folder / "newer.keras", "KLDivergence", "FancyLayer")
    (folder / "samples.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(24))  # a figure, not a model
    (folder / "text.npz").write_text("x,y\n0,1\n")
    np.savez(folder / "keys.npz", images=np.zeros((2, 28, 28)), targets=np.zeros(2))
    (folder / "a_file").write_text("")
    training.train(folder / "run", lambda: models["dense_vae"], x[:64], x[:64], epochs=1)
    return SimpleNamespace(folder=folder, x=x[:64], y=y[:64], **models)


MISUSES = [
    # images that do not fit the model
    Misuse("no channel axis", lambda e: _fit(e.dense_vae, e.x[..., 0]), ValueError, r"expects images of shape \(28, 28, 1\); got \(28, 28\)"),
    Misuse("flat images", lambda e: _fit(e.dense_vae, e.x.reshape(64, -1)), ValueError, r"expects images of shape \(28, 28, 1\); got \(784,\)"),
    Misuse("a scalar", lambda e: e.dense_vae.predict(1.0), ValueError, r"^(?!.*empty).*array of images"),
    Misuse("target of another shape", lambda e: _fit(e.dense_vae, e.x, e.x[:, :14]), ValueError, r"expects images of shape \(28, 28, 1\); got \(14, 28, 1\)"),
    Misuse("x and y of other lengths", lambda e: _fit(e.dense_vae, e.x, e.x[:10]), ValueError, r"same number of samples"),
    Misuse("inf pixels", lambda e: _fit(e.dense_vae, np.where(e.x > 0, np.inf, e.x)), ValueError, r"NaN/inf pixel values"),
    Misuse("bool pixels", lambda e: _fit(e.dense_vae, e.x.astype(bool)), ValueError, r"float32 pixels.*got dtype bool"),
    # labels for the conditional models
    Misuse("string labels", lambda e: _fit(e.cvae, [e.x, e.y.astype(str)], e.x), ValueError, r"integer class labels"),
    Misuse("labels for an unconditional model", lambda e: _fit(e.dense_vae, [e.x, e.y], e.x), ValueError, r"dense_vae is not conditional"),
    Misuse("sample a conditional model without labels", lambda e: zoo.sample(e.cvae, 3), ValueError, r"conditional: pass labels"),
    # models and hyperparameters
    Misuse("unknown model", lambda e: zoo.get("conv_vea"), KeyError, r"Unknown model 'conv_vea'. Did you mean 'conv_vae'"),
    Misuse("latent_dim as a string", lambda e: zoo.get("dense_vae", latent_dim="8"), ValueError, r"latent_dim must be a positive integer; got '8'"),
    Misuse("another model's hyperparameter", lambda e: zoo.get("conv_vae", hidden_units=(64,)), TypeError, r"conv_vae has no hyperparameter 'hidden_units'"),
    Misuse("conv input not divisible", lambda e: zoo.get("conv_vae", input_shape=(30, 30, 1)), ValueError, r"divisible by 2\*\*len\(filters\) = 4"),
    Misuse("a model too big for memory", lambda e: zoo.get("dense_vae", latent_dim=2**31 - 1), ValueError, r"latent_dim.*memory"),
    # data sets
    Misuse("a text file named .npz", lambda e: zoo.data.load(str(e.folder / "text.npz")), ValueError, r"^(?!.*allow_pickle).*text\.npz"),
    Misuse("an .npz without x/y", lambda e: zoo.data.load(str(e.folder / "keys.npz")), ValueError, r"has arrays \['images', 'targets'\]; expected x_train and y_train"),
    # model files
    Misuse("no such model file", lambda e: zoo.load(e.folder / "missing.keras"), FileNotFoundError, r"No model file at"),
    Misuse("corrupt model file", lambda e: zoo.load(e.folder / "garbage.keras"), ValueError, r"garbage\.keras.*not a valid \.keras file"),
    Misuse("truncated model file", lambda e: zoo.load(e.folder / "truncated.keras"), ValueError, r"truncated\.keras.*truncated or corrupt"),
    Misuse("a zip that is no model", lambda e: zoo.load(e.folder / "other.keras"), ValueError, r"other\.keras"),
    Misuse("a picture for a model file", lambda e: zoo.load(e.folder / "samples.png"), ValueError, r"samples\.png.*not a model file"),
    Misuse("grey levels in a dataset for a Bernoulli model", lambda e: e.dense_vae.fit(zoo.data.dataset(e.x * 0.5, binarize=False), epochs=1, verbose=0), ValueError, r"dense_vae .*binary targets.*\[0, 0\.5\].*training_dataset"),
    Misuse("a plain Keras model file", lambda e: zoo.load(e.folder / "plain.keras"), ValueError, r"holds a Sequential, not a zoo model"),
    Misuse("a model file from a newer zoo", lambda e: zoo.load(e.folder / "newer.keras"), ValueError, r"newer\.keras.*FancyLayer"),
    Misuse("a folder instead of a model file", lambda e: zoo.load(e.folder), ValueError, r"folder.*\.keras"),
    # training runs and folders
    Misuse("a fresh fit over a checkpoint", lambda e: e.dense_vae.fit(e.x, e.x, epochs=1, verbose=0, callbacks=[Checkpoint(e.folder / "run")]), ValueError, r"holds a checkpoint after epoch 1, but fit starts at epoch 0"),
    Misuse("a run folder that cannot be written", lambda e: training.train(e.folder / "a_file" / "run", lambda: e.dense_vae, e.x, e.x, epochs=1), OSError, r"Cannot write to the folder .*a_file/run"),
    Misuse("checkpoints that cannot be written", lambda e: e.dense_vae.fit(e.x, e.x, verbose=0, callbacks=[Checkpoint(e.folder / "a_file" / "run")]), OSError, r"Cannot write to the folder"),
    Misuse("epochs=0", lambda e: training.train(e.folder / "zero", lambda: e.dense_vae, e.x, e.x, epochs=0), ValueError, r"epochs must be a positive integer; got 0"),
]  # fmt: skip


def test_the_table_covers_enough_misuses():
    assert len(MISUSES) >= 25 and len({m.id for m in MISUSES}) == len(MISUSES)


@pytest.mark.parametrize("misuse", MISUSES, ids=[m.id for m in MISUSES])
def test_misuse_raises_a_clear_error(misuse, env):
    with pytest.raises(misuse.error, match=misuse.match):
        misuse.act(env)


def test_a_misuse_writes_nothing_and_loses_nothing(env):
    """A failed fit over a checkpoint leaves that checkpoint as it was."""
    before = {p.name: p.read_bytes() for p in (env.folder / "run").iterdir()}
    with pytest.raises(ValueError):
        env.dense_vae.fit(env.x, env.x, epochs=1, verbose=0, callbacks=[Checkpoint(env.folder / "run")])
    assert {p.name: p.read_bytes() for p in (env.folder / "run").iterdir()} == before


# ---- fuzzing -----------------------------------------------------------------------------------------------


def assert_explained(error: BaseException) -> None:
    """An acceptable failure: a KeyError/TypeError/ValueError from a `raise` statement in zoo's own code
    (not NumPy or TensorFlow failing on a line of zoo), with a message."""
    innermost = traceback.extract_tb(error.__traceback__)[-1]
    where = "".join(traceback.format_exception(error)[-6:])
    assert isinstance(error, (KeyError, TypeError, ValueError)), where
    assert ZOO_SOURCE in Path(innermost.filename).resolve().parents, f"raised outside zoo:\n{where}"
    assert (innermost.line or "").startswith("raise "), f"not raised by zoo, unexplained:\n{where}"
    assert len(str(error)) > 20, where


ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 12),
    st.floats(-2, 12, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), 10**12, -(10**12)]),
    st.text(max_size=8),
    st.sampled_from(
        ["dense", "conv", "full", "diag", "normal", "mixture", "mc", "exact", "gaussian", "mask"]
    ),
    st.lists(st.integers(-1, 12), max_size=4).map(tuple),
)


@st.composite
def models_and_hparams(draw) -> tuple[str, dict]:
    """A registered model name, or a near miss, and a few of its hyperparameters (or a typo) set to
    arbitrary values; all kept small enough to build in well under a second."""
    names = zoo.list_models()
    name = draw(st.one_of(st.sampled_from(names), st.sampled_from(names).map(lambda n: n[:-1])))
    known = sorted(zoo.defaults(name)) if name in names else ["latent_dim"]
    keys = draw(st.lists(st.sampled_from([*known, "latnt_dim", "strategy"]), max_size=3, unique=True))
    return name, {key: draw(ANY_VALUE) for key in keys}


@FUZZ
@given(models_and_hparams())
def test_get_builds_or_explains_any_hyperparameters(case):
    name, hparams = case
    try:
        model = zoo.get(name, **hparams)
    except Exception as error:
        assert_explained(error)
    else:
        assert isinstance(model, zoo.ZooModel) and model.zoo_name == name


DTYPES = [
    "str",
    "complex64",
    "bool",
    "uint8",
    "int64",
    "float16",
    "float64",
    "float32",
]  # odd ones first: Hypothesis favours early entries
FILLS = ["binary", "grey", "nan", "inf", "huge", "class ids"]


@st.composite
def near_misses(draw, shape: tuple[int, ...], dtype: str, fill: str) -> np.ndarray:
    """An array of `shape`, `dtype` and `fill`, or, three times in four, with one thing wrong: its rank or
    sizes, its dtype, or its values (NaN, inf, huge, grey levels...)."""
    wrong = draw(st.sampled_from(["dtype", "values", "shape", "nothing"]))
    if wrong == "shape":
        shape = draw(
            st.one_of(
                st.lists(st.integers(0, 30), max_size=5).map(tuple),
                st.just(shape[:-1]),
                st.just((*shape, 1)),
                st.just((0, *shape[1:])),
            )
        )
    dtype = draw(st.sampled_from(DTYPES)) if wrong == "dtype" else dtype
    fill = draw(st.sampled_from(FILLS)) if wrong == "values" else fill
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = {
        "binary": lambda: rng.integers(0, 2, shape).astype(float),
        "grey": lambda: rng.random(shape),
        "nan": lambda: np.full(shape, np.nan),
        "inf": lambda: np.full(shape, -np.inf),
        "huge": lambda: np.full(shape, 1e30),
        "class ids": lambda: rng.integers(-1, 12, shape),
    }[fill]()
    return values.astype(dtype)


@pytest.fixture(scope="module")
def fuzz_models(env) -> dict[str, zoo.ZooModel]:
    return {
        "dense_vae": env.dense_vae,
        "cvae": env.cvae,
        "gaussian_vae": zoo.get("gaussian_vae", **small_hparams("gaussian_vae")),
    }


@FUZZ
@given(st.sampled_from(["dense_vae", "gaussian_vae"]), near_misses((4, 28, 28, 1), "float32", "binary"))
def test_a_model_takes_or_explains_any_images(fuzz_models, name, x):
    try:
        fuzz_models[name].evaluate(x, x, verbose=0)
    except Exception as error:
        assert_explained(error)


@FUZZ
@given(near_misses((4,), "int64", "binary"))
def test_a_conditional_model_takes_or_explains_any_labels(fuzz_models, labels):
    x = np.ones((4, 28, 28, 1), np.float32)
    try:
        fuzz_models["cvae"].evaluate([x, labels], x, verbose=0)
    except Exception as error:
        assert_explained(error)
