"""Model files saved by an earlier zoo keep loading, safely, and compute what they computed then."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import zoo

LEGACY = Path(__file__).parent / "data" / "legacy"
EXPECTED = np.load(LEGACY / "expected.npz")
NAMES = sorted(path.stem for path in LEGACY.glob("*.keras"))


def test_every_legacy_file_has_its_expected_numbers():
    assert len(NAMES) >= 7 and all(any(key.startswith(f"{name}/") for key in EXPECTED) for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_model_saved_by_an_earlier_version_loads_and_computes_the_same(name):
    model = zoo.load(LEGACY / f"{name}.keras")  # safe_mode=True: no code in the file runs
    assert model.zoo_name == name and model.optimizer.iterations.numpy() == 4  # 256 digits, batch 64
    data = EXPECTED["grey"] if name == "gaussian_vae" else EXPECTED["x"]
    if not model.has_latent_code:
        computed = {"log_prob": model(data).log_prob(data), "mean": model(data).mean()}
    else:
        labels = model.labels_or_none(EXPECTED["labels"])
        posterior = zoo.encode(model, data, labels)
        computed = {
            "posterior_mean": posterior.mean(),
            "posterior_stddev": posterior.stddev(),
            "decoded_mean": zoo.decode(model, EXPECTED["z"], labels).mean(),
            "prior_log_prob": zoo.inference.prior(model).log_prob(EXPECTED["z"]),
        }
    for key, value in computed.items():
        np.testing.assert_allclose(np.asarray(value), EXPECTED[f"{name}/{key}"], atol=1e-6, err_msg=key)
