"""The parts of `throughput.py` that time the zoo on its own, without the hand-written twin.

- `scaling`: epoch time of `fit` against the number of examples (it should be linear);
- `memory`: resident memory after every epoch (it should not grow with the number of epochs);
- `calls`: what `fit`, `evaluate` and `predict` cost besides their steps, the zoo's array feeding against
  stock Keras, and the first calls' tracing;
- `xla`: whether a model trains, evaluates and predicts under `jit_compile=True` with a short final batch,
  and how fast.

Each `measure_*`/`check_*` function returns the JSON-ready record of one model; `throughput.py` runs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from benchlib import STATS, alternate, first_line, log, median, memory_mb, seconds_of

import zoo
from zoo._tf import keras

# ---- part: scaling ----------------------------------------------------------------------------------------


def measure_scaling(name: str, x: np.ndarray, sizes: Sequence[int], batch_size: int, repeats: int) -> dict:
    """Seconds of one `fit` epoch on the first n examples, for each n in sizes; medians over repeats."""
    keras.utils.set_random_seed(0)
    model = zoo.get(name)
    model.fit(x[: min(sizes)], x[: min(sizes)], batch_size=batch_size, epochs=1, verbose=0)  # tracing
    epochs = {
        str(n): seconds_of(model.fit, x[:n], x[:n], batch_size=batch_size, epochs=1, verbose=0) for n in sizes
    }
    times = alternate(epochs, repeats)
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


TRACED_STEPS = (1, "auto", 8)
"""The steps_per_execution of the fresh models whose first calls `measure_calls` times."""


def measure_calls(
    name: str, x: np.ndarray, batch_size: int, calls: int, tracing_repeats: int = 1
) -> dict[str, Any]:
    """What a call costs besides its steps, on one model.

    Feeding: the seconds `fit` takes to return after its last callback, and whole `evaluate` and `predict`
    calls, with the zoo's array feeding (`zoo.feeding`) against stock Keras on the same model
    (`keras.Model.fit(model, ...)`), alternating, `calls` each. Tracing: the first and second `fit`
    (one epoch), `evaluate` and `predict` of a freshly built model with steps_per_execution 1, "auto" (the
    default) and 8, medians over `tracing_repeats` fresh models each."""
    model = zoo.get(name)
    quiet = {"batch_size": batch_size, "verbose": 0}

    def fit_tail(fit: Callable[..., Any]) -> Callable[[], float]:
        def run() -> float:
            stamp = _EndStamp()
            fit(x, x, epochs=1, callbacks=[stamp], **quiet)
            return time.perf_counter() - stamp.at

        return run

    def stock(method: str) -> Callable[..., Any]:
        return lambda *args, **kwargs: getattr(keras.Model, method)(model, *args, **kwargs)

    contestants = {
        "fit_tail": (fit_tail(model.fit), fit_tail(stock("fit"))),
        "evaluate": (seconds_of(model.evaluate, x, x, **quiet), seconds_of(stock("evaluate"), x, x, **quiet)),
        "predict": (seconds_of(model.predict, x, **quiet), seconds_of(stock("predict"), x, **quiet)),
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
            **{f"{who}_{stat}": fn(times[f"{who}_{call}"]) for who in ("zoo", "keras") for stat, fn in STATS},
        }
        for call in contestants
    ]
    runs: dict[Any, list[dict[str, float]]] = {spe: [] for spe in TRACED_STEPS}
    for repeat in range(tracing_repeats):  # alternating, each setting first in turn
        first = repeat % len(TRACED_STEPS)
        for spe in TRACED_STEPS[first:] + TRACED_STEPS[:first]:
            fresh = zoo.get(name, steps_per_execution=spe)
            row = {}
            for call, run in (
                ("fit", seconds_of(fresh.fit, x, x, epochs=1, **quiet)),
                ("evaluate", seconds_of(fresh.evaluate, x, x, **quiet)),
                ("predict", seconds_of(fresh.predict, x, **quiet)),
            ):
                row[f"{call}_first"], row[f"{call}_second"] = run(), run()
            runs[spe].append(row)
    tracing = [
        {"model": name, "steps_per_execution": spe, **{k: median(r[k] for r in rows) for k in rows[0]}}
        for spe, rows in runs.items()
    ]
    for row in tracing:
        log(
            f"  steps_per_execution={row['steps_per_execution']}: "
            + ", ".join(f"{k} {v:.2f}s" for k, v in row.items() if k.endswith("t"))
        )
    return {"feeding": feeding, "tracing": tracing}


# ---- part: xla --------------------------------------------------------------------------------------------


def check_xla(name: str, x: np.ndarray, labels: np.ndarray, batch_size: int, repeats: int) -> dict[str, Any]:
    """Can model `name` train, evaluate and predict under `jit_compile=True` with a short final batch, and
    how fast is one epoch against the same model without XLA (median of per-repeat ratios)."""
    keras.utils.set_random_seed(0)
    row: dict[str, Any] = {"model": name, "examples": len(x), "batch_size": batch_size}
    try:
        model = zoo.get(name, jit_compile=True)
    except Exception as error:  # a clear rejection at build time is one of the two acceptable outcomes
        row.update(fit=first_line(error), evaluate="-", predict="-")
        return row
    plain = zoo.get(name)
    plain.set_weights(model.get_weights())
    data = model.inputs_for(x, labels)
    steps = {
        "fit": lambda m: m.fit(data, x, batch_size=batch_size, epochs=1, verbose=0),
        "evaluate": lambda m: m.evaluate(data, x, batch_size=batch_size, verbose=0),
        "predict": lambda m: m.predict(data, batch_size=batch_size, verbose=0),
    }
    for key, step in steps.items():
        try:
            seconds = seconds_of(step, model)()
            row[key] = "ok"
            row[f"{key}_first_seconds"] = seconds
        except Exception as error:
            row[key] = first_line(error)
    if row["fit"] == "ok" and repeats > 0:
        steps["fit"](plain)
        times = alternate(
            {"xla": seconds_of(steps["fit"], model), "plain": seconds_of(steps["fit"], plain)}, repeats
        )
        row["xla_over_plain_speed"] = median(p / t for p, t in zip(times["plain"], times["xla"], strict=True))
    return row
