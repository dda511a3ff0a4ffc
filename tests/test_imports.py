"""`import zoo` (zoo/__init__.py, zoo/_tf.py) loads nothing heavy: TensorFlow with the first name that needs
it, matplotlib with `zoo.plots`, and Keras 3 only where TensorFlow imports it (from 2.16 on, unless
TF_USE_LEGACY_KERAS=1): the zoo runs on tf_keras."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import sys, zoo
loaded = lambda: sorted(name for name in ("keras", "matplotlib", "tensorflow") if name in sys.modules)
print(loaded())
zoo.get("dense_vae", latent_dim=2, hidden_units=(8,)).summary(print_fn=lambda line: None)
print(loaded())
zoo.plots.image_grid
print(loaded())
"""


@pytest.mark.slow
def test_import_zoo_loads_tensorflow_when_used_and_neither_keras3_nor_matplotlib_where_tensorflow_does_not():
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}  # TensorFlow then imports neither
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["[]", "['tensorflow']", "['matplotlib', 'tensorflow']"]


def test_import_zoo_alone_loads_no_matplotlib():
    """In any environment (TensorFlow, which imports matplotlib through Keras 3, is not loaded yet)."""
    code = "import sys, zoo; print(sorted(m for m in ('matplotlib', 'tensorflow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"
