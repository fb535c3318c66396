"""``scripts/benchmark.py --smoke`` runs every section without the optional samplers: nutpie,
when it is not installed, is skipped with the reason recorded, and nothing else fails.
Slow (about 1.5 min of CPU): ``make test-slow``."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_benchmark_smoke_runs_without_optional_samplers(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--smoke", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    doc = json.loads(out.read_text())
    assert doc["errors"] == {}
    assert doc["loglike_grad_us"]["default"] > 0 and "pymc" in doc["nuts_xsec"]
    if importlib.util.find_spec("nutpie") is None:
        assert doc["skipped"]["nuts_nutpie"] == "nutpie is not installed"
    else:
        assert "nutpie" in doc["nuts_xsec"]
    if importlib.util.find_spec("pyhf") is None:
        assert doc["skipped"]["pyhf"] == "pyhf is not installed"
    else:
        assert doc["pyhf"]["loglike_us"] > 0 and doc["pyhf"]["ratio"] > 0
    # the toy rates of both coverage studies (the cold runs are left out of --smoke)
    assert doc["toys"]["profile_per_s"] > 0 and doc["toys"]["bayes_per_s"] > 0
    assert set(doc["skipped"]) <= {"nuts_nutpie", "pyhf"}
