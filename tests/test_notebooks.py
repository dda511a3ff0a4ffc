"""The notebooks in notebooks/: committed clean, built on the public API, and each runs top to bottom.

CI runs them small: with ZOO_NOTEBOOK_SMALL=1 each notebook's parameter cell picks an epoch or two and a
few hundred digits. Each runs in its own Jupyter kernel (nbclient) in a temporary directory, and any error
in any cell fails the test with that cell's traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SMALL_ENV = "ZOO_NOTEBOOK_SMALL"
CELL_TIMEOUT = 600  # seconds; a small run takes a few
PRIVATE = re.compile(r"\._[A-Za-z]|import\s+_[A-Za-z]|import .*,\s*_[A-Za-z]")  # `zoo._tf`, `_helper`


def test_the_notebooks_are_found():  # an empty glob would silently run nothing below
    assert {"01", "02", "03", "04"} <= {path.stem[:2] for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_clean(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), (
        f"{path.name} has outputs; clear them (Jupyter: Edit > Clear All Outputs) before committing."
    )
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "exactly one parameter cell, the first code cell"
    assert SMALL_ENV in tagged[0].source
    for cell in code:
        assert not PRIVATE.search(cell.source), f"{path.name} uses a private name: {cell.source}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_small(path, tmp_path, monkeypatch):
    monkeypatch.setenv(SMALL_ENV, "1")  # the kernel inherits the environment
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the working directory: files go there
    )
    client.execute()  # raises CellExecutionError, naming the cell and its traceback, on any error
