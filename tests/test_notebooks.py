"""The notebooks in notebooks/: committed clean, built on the public API, and each runs top to bottom.

CI runs them small: with ZOO_NOTEBOOK_SMALL=1 each notebook's parameter cell picks an epoch or two and a
few hundred digits. They run one after another in one IPython shell inside the test process, which has
imported TensorFlow already (a Jupyter kernel would import it again, for seconds): before each notebook the
shell forgets every name (`%reset -f`, so a notebook that relies on another's imports or variables, or on
the test's, fails) and the process moves to a fresh temporary directory. IPython runs the cells as a kernel
does (magics such as `%matplotlib inline`; a cell's last value displayed, a Figure rendered to PNG). Any
error in any cell fails the test with that cell's traceback.
"""

from __future__ import annotations

import builtins
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SMALL_ENV = "ZOO_NOTEBOOK_SMALL"
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


class Shell(InteractiveShell):
    """IPython as a kernel runs it, without the kernel's process and messaging."""

    def enable_gui(self, gui=None):  # `%matplotlib inline` draws in no window: no event loop to start
        pass


@pytest.fixture(scope="module")
def shell() -> Iterator[Shell]:
    """One IPython shell for every notebook; afterwards the test process is as it was (IPython replaces
    `__main__`, adds builtins and a warnings filter; `%matplotlib inline` switches matplotlib's backend)."""
    main, names, filters = sys.modules["__main__"], dict(vars(builtins)), list(warnings.filters)
    backend, interactive = matplotlib.get_backend(), matplotlib.is_interactive()
    config = Config()
    config.HistoryManager.enabled = False  # no history database, no thread writing it
    config.InteractiveShell.colors = "NoColor"  # a failing cell's traceback, as pytest prints it
    shell = Shell.instance(config=config)
    yield shell
    shell.run_cell("%reset -f", store_history=False)  # frees the last notebook's models
    Shell.clear_instance()
    sys.modules["__main__"] = main
    for name in set(vars(builtins)) - set(names):
        delattr(builtins, name)
    vars(builtins).update(names)
    warnings.filters[:] = filters
    matplotlib.use(backend)
    matplotlib.interactive(interactive)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_small(path, shell, tmp_path, monkeypatch):
    monkeypatch.setenv(SMALL_ENV, "1")
    monkeypatch.chdir(tmp_path)  # the notebook's files go there
    notebook = nbformat.read(path, as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    for number, source in enumerate(["%reset -f", *code]):
        result = shell.run_cell(source, store_history=False)  # prints the traceback of an error
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            raise AssertionError(f"{path.name}, code cell {number}:\n{source}") from error
