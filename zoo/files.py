"""Writing files all or nothing: a crash, SIGKILL or power cut leaves the old file or the new one, never a
part. Every file the zoo writes (checkpoints, run folders, results) goes through here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEMP_PREFIX = ".tmp-"
"""The start of every temporary file's name, so a leftover of a killed process is recognizable."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], Any]) -> None:
    """Create or replace `path` all or nothing: `write(temporary_path)` in the same folder, flush it to
    disk, then `os.replace` it onto `path`. A reader, or a rerun after SIGKILL or a power cut, sees the old
    file or the new one, never a part. The temporary name keeps the suffix (`model.save` needs `.keras`)
    and starts with `TEMP_PREFIX`, so a leftover is recognizable.

    >>> atomic_write("run/model.keras", model.save)
    """
    path = Path(path)
    temporary = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        write(str(temporary))
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    """Flush a file's data (or a folder's entries) to disk; folders cannot be opened on Windows."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_text(text: str) -> Callable[[str], None]:
    """A writer for `atomic_write` that stores `text`."""
    return lambda path: Path(path).write_text(text)


def write_json(value: Any) -> Callable[[str], None]:
    """A writer for `atomic_write` that stores `value` as indented JSON."""
    return write_text(json.dumps(value, indent=1) + "\n")


def writable_folder(directory: str | os.PathLike) -> Path:
    """`directory` as a Path, created if missing. Raises an OSError naming it if it cannot be written to,
    before any training time is spent."""
    directory = Path(directory)
    probe = directory / f"{TEMP_PREFIX}probe"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(probe, write_json(None))
        probe.unlink()
    except OSError as error:
        raise OSError(
            f"Cannot write to the folder {os.fspath(directory)!r} ({error.strerror or error}); "
            "choose a writable folder."
        ) from error
    return directory
