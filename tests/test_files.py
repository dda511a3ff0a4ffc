"""Files are written all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zoo.files import atomic_write, write_json


def test_atomic_write_keeps_the_old_file_when_the_writer_dies(tmp_path):
    target = tmp_path / "history.json"
    atomic_write(target, write_json({"loss": [1.0]}))

    def dies_half_way(path: str) -> None:
        Path(path).write_text('{"loss": [1.0, 2')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, dies_half_way)
    assert json.loads(target.read_text()) == {"loss": [1.0]}
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]
