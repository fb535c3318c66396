"""The example scripts users copy (scripts/example_*.py) run, short, and print what they say."""

import subprocess
import sys
from pathlib import Path

import pytest
from _figures import assert_drawn_png

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SHORT = ["--draws", "60", "--tune", "60", "--chains", "2"]


def _run(name: str, *args: str, tmp_path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_example_sample(tmp_path):
    out = _run("example_sample.py", "xsec", *SHORT, "--plot", "trace.png", tmp_path=tmp_path)
    assert "StatisticalModel('xsec'" in out and "r_hat" in out and "divergences:" in out
    assert "sigma: median" in out and "1e-40 cm2" in out
    assert_drawn_png(tmp_path / "trace.png")


def test_example_profile(tmp_path):
    out = _run(
        "example_profile.py", "xsec", "--scan-points", "9", "--plot", "d.png", tmp_path=tmp_path
    )
    assert "ProfileResult(xsec: sigma = " in out and "no-CEvNS rejection" in out
    assert_drawn_png(tmp_path / "d.png")


@pytest.mark.slow
def test_example_compare(tmp_path):
    out = _run("example_compare.py", "xsec", *SHORT, "--scan-points", "9", tmp_path=tmp_path)
    assert "posterior median [68% HDI]" in out and "165.0" in out
