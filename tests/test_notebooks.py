"""The notebooks in notebooks/: committed clean, built on the public API, and each runs top to bottom.

CI runs them small: with ZOO_NOTEBOOK_SMALL=1 each notebook's parameter cell picks an epoch or two and a
few hundred digits. They run one after another in one Jupyter kernel (nbclient), which imports TensorFlow
once: before each notebook the kernel forgets every name (`%reset -f`, so a notebook that relies on another's
imports or variables fails) and moves to a fresh temporary directory. Any error in any cell fails the test
with that cell's traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
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


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelManager]:
    """One Python kernel for every notebook, in the small setting (the kernel inherits the environment)."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, SMALL_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    yield manager
    manager.shutdown_kernel(now=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_small(path, kernel, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    fresh = f"%reset -f\nimport os\nos.chdir({str(tmp_path)!r})  # the notebook's files go there\n"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(fresh))
    client = NotebookClient(notebook, km=kernel, timeout=CELL_TIMEOUT)
    client.execute()  # raises CellExecutionError, naming the cell and its traceback, on any error
