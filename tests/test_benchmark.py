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


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("benchmark", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_performance_table_states_each_target_from_the_file():
    """The README's Performance table is rendered from bench.json: each figure with its
    spread, the target beside it, met or not by the number in the file, and a section that
    did not run says so instead of a number."""
    bench = _benchmark_module()
    doc = {
        "settings": {
            "loglike_default": {"n_bins": 99},
            "nuts": {"chains": 4, "draws": 1000, "tune": 1000},
        },
        "loglike_grad_us": {"default": 94.9},
        "baseline": {"loglike_grad_us": 95000.0, "ratio": 1001.0},
        "nuts_xsec": {
            "nutpie": {
                "compile_s": 15.0,
                "sampling_s": 3.7,
                "ess_bulk_per_s": 2182.0,
                "r_hat_sigma_max": 1.001,
            }
        },
        "spread": {
            "loglike_grad_us": {"default": [93.0, 109.0]},
            "nuts_xsec": {"nutpie": {"ess_bulk_per_s": [1890.0, 2513.0]}},
        },
        "cold": {"predict_s": 106.9},
        "toys": {"profile_per_s": 28.2, "bayes_per_s": 0.08},
        "skipped": {"nuts_pymc": "not asked for", "cold.reproduce_xsec_s": "--quick"},
        "reproduce_all_s": None,
    }
    table = bench.markdown_table(doc)
    lines = {line[2:].split(" | ")[0]: line for line in table.splitlines()[2:]}
    ll = lines["ln L + gradient, xsec (99 bins, 10 free), warm, µs"]
    assert "94.9 (93.0–109.0)" in ll and "≤ 20" in ll and ll.endswith("| not met |")
    ess = next(v for k, v in lines.items() if k.startswith("  ESS_bulk"))
    assert "2182 (1890–2513)" in ess and "≥ 2000" in ess and ess.endswith("| met |")
    assert lines["NUTS PyMC (the specs' default)"].split(" | ")[1] == "not asked for"
    assert lines["  ratio baseline / ours"].split(" | ")[1] == "1001×"
    cold = lines["`reproduce xsec` with empty caches (fresh HOME), s"]
    assert cold.split(" | ")[1] == "—" and cold.endswith("| not measured |")
    assert lines["`reproduce --all`, warm, s"].endswith("| not measured |")
    doc.update(reproduce_all_s=131.0, reproduce_all_new_cache_files=0)
    row = bench.markdown_table(doc).splitlines()[-1]
    assert row.startswith(
        "| `reproduce --all`, warm, s (0 files added to the compile cache) | 131 |"
    )
    assert row.endswith("| ≤ 120 | not met |")
    toys = next(v for k, v in lines.items() if k.startswith("Bayesian-coverage"))
    assert "| 0.08 |" in toys and toys.endswith("| not met |")


def test_only_rejects_what_it_cannot_update(tmp_path, capsys):
    """``--only`` reruns named sections into an existing file: an unknown section, a section
    that needs the model without the one that builds it, and a file not there yet are each
    refused with the reason, before anything is measured."""
    bench = _benchmark_module()
    out = tmp_path / "bench.json"
    cases = [
        (["--only", "bogus"], "unknown bogus"),
        (["--only", "nuts_xsec"], "needs loglike_grad_us too"),
        (["--only", "toys"], "updates an existing"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as err:
            bench.main([*argv, "--out", str(out)])
        assert err.value.code == 2
        assert message in capsys.readouterr().err
    assert not out.exists()
