"""No warning a user can do nothing about (cevns_bayes/_environment.py): a fresh process with
an empty HOME imports the package, pytensor and ArviZ and compiles a graph in silence, and a
BLAS the user configured is left alone."""

import os
import subprocess
import sys

CODE = (
    "import cevns_bayes, arviz, pytensor, pytensor.tensor as pt\n"
    "x = pt.dvector('x')\n"
    "f = pytensor.function([x], pt.dot(x, x), mode='FAST_RUN')\n"
    "assert f([1.0, 2.0]) == 5.0\n"
    "print(repr(pytensor.config.blas__ldflags))\n"
)


def _run(tmp_path, code=CODE, **env):
    full = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    full.pop("PYTENSOR_FLAGS", None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", code],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
    )


def test_fresh_process_prints_no_blas_or_arviz_warning(tmp_path):
    r = _run(tmp_path)
    assert r.returncode == 0, r.stderr
    assert "BLAS" not in r.stderr and "ArviZ is undergoing" not in r.stderr, r.stderr


def test_a_user_blas_setting_is_kept(tmp_path):
    code = "import cevns_bayes, pytensor\nprint(repr(pytensor.config.blas__ldflags))\n"
    r = _run(tmp_path, code, PYTENSOR_FLAGS="blas__ldflags=-lm")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "'-lm'"
