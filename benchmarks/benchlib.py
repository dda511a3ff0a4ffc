"""Helpers shared by the benchmark scripts: training data, timing, memory, the machine, and output files.

Every speed number in these benchmarks is a ratio or a median measured inside one process, with the
contestants alternating, because the machines are small and shared: wall-clock time drifts with whatever
else runs, so only numbers measured side by side are comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import zoo
from zoo._tf import keras, tf, tfp

RESULTS = Path(__file__).resolve().parent / "results"

SMALL = {
    "latent_dim": 2,
    "hidden_units": (64,),
    "filters": (8, 16),
    "flow_steps": 1,
    "flow_hidden_units": (16,),
    "top_hidden_units": (16,),
    "pseudo_inputs": 10,
    "code_dim": 4,
    "codebook_size": 8,
    "prior_filters": 8,
    "prior_layers": 2,
}
"""Sizes that make any model quick to build and train: the tests' models (tests/conftest.py) and those of
`replicas.py`. A model takes those of its hyperparameters it has (`small_hparams`)."""


def small_hparams(name: str, **extra: Any) -> dict:
    """SMALL and `extra`, as far as model `name` takes them."""
    return {key: value for key, value in {**SMALL, **extra}.items() if key in zoo.defaults(name)}


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A script's argument parser from its module docstring: the first paragraph is the description, the
    rest (the measurement and its commands) the epilog, printed as written."""
    summary, _, details = doc.partition("\n\n")
    return argparse.ArgumentParser(
        description=summary, epilog=details, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def log(message: str) -> None:
    """Progress on stderr, flushed at once (results go to files and stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def training_images(n: int, seed: int = 0, source: str = "mnist-5k") -> tuple[np.ndarray, np.ndarray]:
    """`n` binary training images [n, 28, 28, 1] float32 and labels [n] int64, from real digits.

    The 5,000 mnist-5k digits are tiled as often as needed; each copy gets its own stochastic binarization
    (seed + copy), so a large set is not 12 identical copies of one set.
    """
    grey, labels = zoo.data.load(source, split="all")
    copies = -(-n // len(grey))
    images = [zoo.data.binarize_images(grey, "stochastic", seed=seed + c) for c in range(copies)]
    return np.concatenate(images)[:n], np.tile(labels, copies)[:n]


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


STATS = (("median", median), ("mean", lambda v: sum(v) / len(v)), ("max", max))  # of repeated timings


def seconds_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], float]:
    """A contestant for `alternate`: a function that calls fn(*args, **kwargs) and returns the seconds it
    took. `seconds_of(fn, ...)()` times one call at once."""

    def run() -> float:
        start = time.perf_counter()
        fn(*args, **kwargs)
        return time.perf_counter() - start

    return run


def alternate(contestants: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Call each contestant (a function returning the seconds it measured) once per repeat, rotating the
    order every repeat so no contestant always runs first; returns every measurement per contestant."""
    names = list(contestants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for name in order:
            times[name].append(contestants[name]())
        log("  repeat {}: {}".format(repeat + 1, ", ".join(f"{n} {times[n][-1]:.2f}s" for n in names)))
    return times


def first_line(error: BaseException) -> str:
    """The error's type and the line of its message that says what failed (XLA's long messages hide it
    among shapes and stack traces), at most 300 characters: what a results table shows for a failure."""
    text = str(error).strip().splitlines()
    detail = next((line for line in text if "Reading input" in line or "not supported" in line), None)
    return f"{type(error).__name__}: {(detail or (text[0] if text else '')).strip()[:300]}"


def memory_mb() -> dict[str, float]:
    """The process's resident memory now (`rss`) and its peak so far (`peak`), in MB, from /proc."""
    found = {}
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found["rss" if key == "VmRSS" else "peak"] = int(value.split()[0]) / 1024
    return found


def machine() -> dict[str, Any]:
    """What ran the benchmark: CPU, cores, memory, and the library versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    memory = 0.0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory = int(meminfo.read_text().split()[1]) / 1024**2
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tensorflow_probability": tfp.__version__,
        "tf_keras": keras.__version__,
        "numpy": np.__version__,
        "numpy_blas": blas,
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=_plain) + "\n")


def write_results(out: Path, name: str, results: dict[str, Any], text: str) -> None:
    """Write a run's results as out/name.json and its Markdown report as out/name.md, and print the report."""
    write_json(out / f"{name}.json", results)
    (out / f"{name}.md").write_text(text + "\n")
    print(text)
    log(f"wrote {out / name}.json and .md")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A Markdown table of `rows`: `columns` are (key, header); floats print with 3 significant digits
    past the point where that matters (ratios 0.987, times 12.3), missing values as "-"."""
    lines = ["| " + " | ".join(header for _, header in columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "nan"
        magnitude = abs(value)
        if magnitude >= 100:
            return f"{value:,.1f}"
        if magnitude >= 10:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")
