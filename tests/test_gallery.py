"""docs/make_gallery.py runs: its smoke mode trains tiny models, prints the paths' measurement and writes
every figure docs/gallery.md shows; and the gallery shows exactly the figures the script writes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import matplotlib.image

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _make_gallery():
    spec = importlib.util.spec_from_file_location("make_gallery", DOCS / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_smoke_run_writes_every_figure_of_the_gallery(tmp_path, capsys):
    written = _make_gallery().main(["--smoke", "--out", str(tmp_path)])
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(f"{name}.png" for name in written)
    for path in written.values():
        pixels = matplotlib.image.imread(path)
        assert pixels.shape[0] > 100 and pixels[..., :3].std() > 0.01  # a picture, not a blank canvas
    table = capsys.readouterr().out
    assert "| | encoded test digits | linear | slerp |" in table and "log p(z), midpoints" in table
    shown = re.findall(r"\(gallery/(\w+)\.png\)", (DOCS / "gallery.md").read_text())
    assert sorted(shown) == sorted(written)  # the page shows each figure once, and no other
    assert all((DOCS / "gallery" / f"{name}.png").exists() for name in written)
