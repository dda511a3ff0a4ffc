"""README's Python examples run as written (with one epoch instead of five or ten, 2 importance samples
instead of 100, and 128 digits of each split, to stay fast), and what README states about the code is true."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest

import zoo

README = Path(__file__).resolve().parents[1] / "README.md"
SMALL = {r"\bepochs=\d+": "epochs=1", r"\bk=\d+": "k=2"}  # the examples' settings, as the test runs them
N = 128  # images of each split that `zoo.data.load` gives: enough of every digit for the examples' selections


def _python_blocks(path: Path = README) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def small(block: str) -> str:
    """The block with the settings of `SMALL` (epochs, importance samples) made small."""
    for setting, smaller in SMALL.items():
        block = re.sub(setting, smaller, block)
    return block


def test_readme_has_the_two_set_up_commands():
    bash = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert bash[0].strip() == "pip install -e . && python -m zoo train conv_vae --epochs 5"
    assert bash[1].strip() == 'pip install -e ".[test]" && pytest'
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]"' in ci and "pytest" in ci


def test_the_model_list_in_readme_is_the_registry():
    listed = re.search(r"zoo\.list_models\(\)\s+# (\[.*\])", README.read_text())
    assert listed and ast.literal_eval(listed.group(1)) == zoo.list_models()


@pytest.fixture
def small_data(monkeypatch):
    """`zoo.data.load` gives the first N images of each split: the examples' code runs unchanged."""
    load = zoo.data.load

    def first_n(*args, **kwargs):
        x, y = load(*args, **kwargs)
        return x[:N], y[:N]

    monkeypatch.setattr(zoo.data, "load", first_n)


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path, monkeypatch, small_data):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the offline MNIST fallback warns
        for block in _python_blocks():
            exec(small(block), namespace)
    assert namespace["images"].shape == (16, 28, 28, 1)
    assert namespace["sevens"].shape == (10, 28, 28, 1)
    assert (tmp_path / "conv_vae.keras").exists()


@pytest.mark.slow
def test_using_doc_examples_run(tmp_path, monkeypatch, small_data):
    monkeypatch.chdir(tmp_path)
    blocks = _python_blocks(README.parent / "docs" / "using.md")
    assert blocks
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(small(block), namespace)
