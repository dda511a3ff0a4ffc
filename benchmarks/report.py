"""The Markdown report of a `throughput.py` run, with every table described by data.

A `Table` says which part of the results it shows, where its records are, whether each record gives one
row or one row per contestant (the keys of a dict in the record), and its columns; a `Column` says where
its value is in a record. Paths are dot-separated: `model`, `seconds_per_epoch.{key}` (the row's
contestant), `rss_per_epoch_one_fit_mb.-1` (the last item), `*.rows.*` (every item of every record's rows).
Anything missing prints as "-"; numbers print as `benchlib.table` prints them.

    python benchmarks/report.py benchmarks/results/throughput.json    # the report of a saved run
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import STATS, median, table

KEY = "{key}"  # a column path: the key the row was made for (a contestant, a step)


@dataclass(frozen=True)
class Column:
    """One column: its header (may name a field of the part's first record: "after {epochs} calls"), the
    path of its value in a record, what to apply to that value (e.g. the median of the repeats), and where
    to look, as is, when the path is absent (an error message in place of a time)."""

    header: str
    path: str
    then: Callable[[Any], Any] | None = None
    fallback: str | None = None


@dataclass(frozen=True)
class Table:
    """One table of the report: shown when `part` is in the results. `records` is the path from
    results[part] to the records; `per_key` names dicts in a record whose keys (in order, each once) give
    one row each, or is empty for one row per record. `title` and `text` (formatted with the part's first
    record, or the part itself when it is a dict) come before the table; `note(record)` after it, once
    per record that has one."""

    part: str
    columns: tuple[Column, ...]
    records: str = "*"
    per_key: tuple[str, ...] = ()
    title: str = ""
    text: str = ""
    note: Callable[[dict[str, Any]], str | None] | None = None


def _break_even(record: dict[str, Any]) -> str | None:
    if "xla_break_even_epochs" not in record:
        return None
    epochs = record["xla_break_even_epochs"]
    return (
        f"`{record['model']}` with `jit_compile=True` pays for its compilation after "
        + (f"{epochs:.1f} epochs of these." if epochs is not None else "never: it is not faster.")
        + " (Compilation: the XLA first epoch's excess over its later epochs, beyond the plain model's "
        "tracing; divided by the seconds XLA saves per epoch.)"
    )


TABLES = (
    Table(
        part="ratio",
        title="Zoo `fit` against a hand-written `tf.function` loop (speed ratio, > 1 = zoo faster)",
        text="{examples} examples, batch {batch_size}, {repeats} alternating repeats of {epochs_per_repeat} "
        "epochs; medians. Blocks: median over repeats of hand-written time / contestant time, each `fit` "
        "call timed whole. Interleaved steps: one hand-written step after every zoo step inside one `fit`, "
        "median over repeats of the two summed times (the finest pairing; excludes `fit`'s per-call set-up).",
        # the contestants, then a pairing of two (zoo_xla_vs_hand_xla), then those that failed
        per_key=("seconds_per_epoch", "interleaved", "failed"),
        columns=(
            Column("model", "model"),
            Column("contestant", KEY, lambda key: key.replace("_vs_", " against ")),
            Column("s/epoch", "seconds_per_epoch.{key}", median, fallback="failed.{key}"),
            Column("images/s", "{key}_images_per_s"),
            Column("speed vs hand-written (blocks)", "{key}_over_hand"),
            Column("speed vs hand-written (interleaved steps)", "interleaved.{key}.speed_vs_hand"),
            Column("first epoch s (tracing)", "first_epoch_seconds.{key}"),
            Column("traces", "tracing_count.{key}"),
        ),
        note=_break_even,
    ),
    Table(
        part="flops",
        title="Achieved GFLOP/s",
        text="float32 matmul 2048x2048: numpy {matmul_gflops[numpy]:.0f} GFLOP/s, "
        "TensorFlow {matmul_gflops[tensorflow]:.0f} GFLOP/s.",
        records="rows.*",
        columns=(
            Column("model", "model"),
            Column("contestant", "contestant"),
            Column("MFLOP/example (train step)", "train_mflop_per_example"),
            Column("images/s", "images_per_s"),
            Column("GFLOP/s", "gflops"),
            Column("fraction of TF matmul rate", "fraction_of_tf_matmul"),
        ),
    ),
    Table(
        part="breakdown",
        title="Breakdown: the same training step three ways, interleaved on the same batches",
        text="{steps} steps of batch {batch_size} per repeat; `zoo_layers` = the zoo model in a plain "
        "GradientTape step; `keras_train_step` = its Keras `train_step` in a `tf.function`.",
        per_key=("seconds",),
        columns=(
            Column("model", "model"),
            Column("XLA (all three)", "xla", bool),
            Column("step", KEY),
            Column("s per repeat", "seconds.{key}", median),
            Column("speed vs hand-written", "{key}_speed_vs_hand"),
        ),
    ),
    Table(
        part="scaling",
        title="Epoch time against dataset size",
        records="*.rows.*",
        columns=(
            Column("model", "model"),
            Column("examples", "examples"),
            Column("s/epoch", "seconds_per_epoch"),
            Column("us/example", "microseconds_per_example"),
            Column("per-example cost vs smallest", "relative_to_smallest"),
        ),
    ),
    Table(
        part="memory",
        title="Resident memory (MB) against epochs",
        columns=(
            Column("model", "model"),
            Column("epochs", "epochs"),
            Column("before", "rss_before_mb"),
            Column("after epoch 1", "rss_per_epoch_one_fit_mb.0"),
            Column("after last epoch (one fit)", "rss_per_epoch_one_fit_mb.-1"),
            Column("MB/epoch, 2nd half (one fit)", "growth_mb_per_epoch_one_fit"),
            Column("after {epochs} more fit(epochs=1) calls", "rss_per_epoch_repeated_fit_mb.-1"),
            Column("MB/epoch, 2nd half (repeated fit)", "growth_mb_per_epoch_repeated_fit"),
            Column("peak", "peak_mb"),
        ),
    ),
    Table(
        part="calls",
        title="What a call costs besides its steps",
        text="Feeding: `fit_tail` = seconds from `fit`'s last callback to its return; `evaluate`, "
        "`predict` = the whole call. The zoo's array feeding against stock Keras on the same model, "
        "alternating.",
        records="*.feeding.*",
        columns=(
            Column("model", "model"),
            Column("call", "call"),
            *(Column(f"{who} {stat} s", f"{who}_{stat}") for who in ("zoo", "keras") for stat, _ in STATS),
        ),
    ),
    Table(
        part="calls",
        text="Tracing: the first and the second call on a freshly built model (`fit` one epoch).",
        records="*.tracing.*",
        columns=(
            Column("model", "model"),
            Column("steps_per_execution", "steps_per_execution"),
            *(
                Column(f"{call} {which} s", f"{call}_{which}")
                for call in ("fit", "evaluate", "predict")
                for which in ("first", "second")
            ),
        ),
    ),
    Table(
        part="xla",
        title="`jit_compile=True` with a short final batch",
        columns=(
            Column("model", "model"),
            Column("fit", "fit"),
            Column("evaluate", "evaluate"),
            Column("predict", "predict"),
            Column("first fit s (compile)", "fit_first_seconds"),
            Column("speed vs no XLA", "xla_over_plain_speed"),
        ),
    ),
)


def report(results: dict[str, Any], tables: tuple[Table, ...] = TABLES) -> str:
    """The Markdown report of `results`: the machine, then every table whose part `results` has."""
    out = [
        "Machine: {cpu}, {cores} cores; TF {tensorflow}, TFP {tensorflow_probability}.".format(
            **results["machine"]
        ),
        "",
    ]
    for spec in tables:
        if spec.part in results:
            out += _section(spec, results[spec.part])
    return "\n".join(out)


def _section(spec: Table, part: Any) -> list[str]:
    records = list(_walk(part, spec.records))
    context = part if isinstance(part, dict) else records[0]
    columns = [(column.header.format(**context), column) for column in spec.columns]
    rows = [
        {header: _value(column, record, key) for header, column in columns}
        for record in records
        for key in _keys(record, spec.per_key)
    ]
    out = [f"### {spec.title}", ""] if spec.title else []
    out += [spec.text.format(**context), ""] if spec.text else []
    out += [table(rows, [(header, header) for header, _ in columns]), ""]
    notes = [spec.note(record) for record in records] if spec.note else []
    return out + [line for note in notes if note for line in (note, "")]


def _keys(record: dict[str, Any], per_key: tuple[str, ...]) -> list[str | None]:
    """The keys a record gives rows for: those of its dicts named in `per_key`, each once; or [None]."""
    if not per_key:
        return [None]
    return list(dict.fromkeys(key for name in per_key for key in record.get(name) or {}))


def _value(column: Column, record: dict[str, Any], key: str | None) -> Any:
    value = key if column.path == KEY else _lookup(record, column.path.format(key=key))
    if value is not None:
        return column.then(value) if column.then else value
    return _lookup(record, column.fallback.format(key=key)) if column.fallback else None


def _lookup(record: Any, path: str) -> Any:
    """The value at a dot-separated path (dict keys, list indices), or None where it is absent."""
    value = record
    for step in path.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def _walk(value: Any, path: str) -> Iterator[Any]:
    """The values at a path whose `*` steps stand for every item of a list."""
    head, _, rest = path.partition(".")
    items = value if head == "*" else [_lookup(value, head)]
    for item in items or []:
        if item is None:
            continue
        yield from _walk(item, rest) if rest else [item]


if __name__ == "__main__":
    print(report(json.loads(Path(sys.argv[1]).read_text())))
