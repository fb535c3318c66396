"""The ``cevns-bayes`` command line, called in-process through ``cevns_bayes.cli.main``.

Covers ``data check`` (shipped and altered data), the exit status 2 + one-line message on bad
inputs, ``predict`` (JSON keys and invariants, timing, a 2021-format flux file) and
``plot prediction``. One subprocess call proves the console script is installed.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot
from _figures import assert_drawn_png

from cevns_bayes.cli import main
from cevns_bayes.io import RELEASE_FILES, write_flux_2021_format
from cevns_bayes.paths import DEFAULT_DATA_DIR, FLUX_2018_FILE

PLOT_FILES = ("prediction_projections.png", "residual_over_ssb.png", "data_c_vs_ac.png")
COMPONENTS = ("ssb", "brn", "nin", "cevns")
FLAVOR_KEYS = {"nu_mu", "nu_mu_bar", "nu_e"}
#: stderr lines ``predict`` writes while it works (everything else on stderr is an error)
PROGRESS_PREFIXES = ("building the forward model", "evaluating the nominal prediction")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _run_captured(*argv: str) -> tuple[int, str, str]:
    """Like :func:`_run` without capsys (for module-scoped fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _copy_release(tmp_path: Path) -> Path:
    """A copy of the shipped release folder under ``tmp_path`` (never touch the shipped one)."""
    dst = tmp_path / "release"
    shutil.copytree(DEFAULT_DATA_DIR, dst)
    return dst


def _data_lines(path: Path) -> list[int]:
    """0-based indices of the data (non-comment, non-blank) lines of a release text file."""
    lines = path.read_text().splitlines()
    return [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]


# --------------------------------------------------------------------------------------------
# the console script


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "cevns-bayes"
    assert script.is_file(), f"console script not found next to {sys.executable}"
    proc = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: cevns-bayes" in proc.stdout
    for command in ("data", "predict", "plot"):
        assert command in proc.stdout


# --------------------------------------------------------------------------------------------
# data check


def test_data_check_shipped_data(capsys):
    code, out, err = _run(capsys, "data", "check")
    assert code == 0, err
    # published selections: 1578 events in the ROI of the coincidence window, 1295 in the
    # anti-coincidence window (5142 and 4890 events in the files)
    assert re.search(r"^C\s+5142\s+1578\s*$", out, re.MULTILINE), out
    assert re.search(r"^AC\s+4890\s+1295\s*$", out, re.MULTILINE), out
    for name in RELEASE_FILES.values():
        assert re.search(rf"^\s+ok\s+coherent-csi-2021/{re.escape(name)}\s*$", out, re.M), name
    assert re.search(rf"^\s+ok\s+sns-flux-2018/{re.escape(FLUX_2018_FILE.name)}\s*$", out, re.M)
    assert "DIFFERS" not in out and "MISSING" not in out
    assert "all files match the public release" in out
    assert err == ""


def test_data_check_detects_one_changed_digit(tmp_path, capsys):
    release = _copy_release(tmp_path)
    target = release / "dataBeamOnC.txt"
    lines = target.read_text().splitlines(keepends=True)
    i = _data_lines(target)[0]
    line = lines[i]
    # change the last digit of the first number: still two non-negative numbers
    j = max(k for k, ch in enumerate(line.split()[0]) if ch.isdigit())
    new_digit = "1" if line[j] != "1" else "2"
    lines[i] = line[:j] + new_digit + line[j + 1 :]
    target.write_text("".join(lines))
    assert target.stat().st_size == (DEFAULT_DATA_DIR / "dataBeamOnC.txt").stat().st_size

    code, out, err = _run(capsys, "data", "check", "--data-dir", release)
    assert code == 1, out + err
    assert re.search(r"^\s+DIFFERS\s+coherent-csi-2021/dataBeamOnC\.txt\s*$", out, re.M), out
    assert len(re.findall(r"^\s+DIFFERS\s", out, re.M)) == 1
    assert "MISSING" not in out
    assert "1 file(s) do not match the public release" in out
    assert "all files match" not in out
    # the altered event is outside the ROI or not: the event count itself is unchanged
    assert re.search(r"^C\s+5142\s+\d+\s*$", out, re.MULTILINE), out
    assert "Traceback" not in err


# --------------------------------------------------------------------------------------------
# bad inputs: exit 2 and one line naming the file


def _empty_dir(tmp_path: Path):
    d = tmp_path / "empty"
    d.mkdir()
    return ["--data-dir", d], [str(d), "lacks"]


def _truncated_ac_line(tmp_path: Path):
    release = _copy_release(tmp_path)
    target = release / "dataBeamOnAC.txt"
    lines = target.read_text().splitlines(keepends=True)
    i = _data_lines(target)[10]
    first_field = lines[i].split()[0]
    lines[i] = first_field[: max(1, len(first_field) - 2)] + "\n"  # cut inside the first number
    target.write_text("".join(lines))
    return ["--data-dir", release], [str(target), f"line {i + 1}"]


def _text_file_named_root(tmp_path: Path):
    fake = tmp_path / "flux.root"
    fake.write_text("this is a text file, not a ROOT file\n" * 20)
    return ["--flux", fake], [str(fake), "not a readable ROOT file"]


def _flux_lacking_flavors(tmp_path: Path):
    path = tmp_path / "numu_only.root"
    with uproot.open(FLUX_2018_FILE) as src, uproot.recreate(path) as dst:
        for name in ("keNuMu", "tNuMu"):
            dst[name] = src[name]
    with uproot.open(path) as check:
        assert sorted(check.keys(cycle=False)) == ["keNuMu", "tNuMu"]
    return ["--flux", path], [str(path), "lacks histogram(s)", "keNuE", "tAntiNuMu"]


def _bad_binning(tmp_path: Path):
    return ["--binning", "nonsense"], ["'nonsense'"]


DATA_DIR_CASES = {"empty_data_dir": _empty_dir, "truncated_ac_line": _truncated_ac_line}
MODEL_CASES = {
    **DATA_DIR_CASES,
    "text_file_as_root_flux": _text_file_named_root,
    "flux_lacking_a_flavor": _flux_lacking_flavors,
    "binning_nonsense": _bad_binning,
}


def _assert_one_error_line(code: int, out: str, err: str, expected: list[str]) -> str:
    assert code == 2, out + err
    assert "Traceback" not in err and "Traceback" not in out
    lines = [ln for ln in err.splitlines() if not ln.startswith(PROGRESS_PREFIXES)]
    assert len(lines) == 1, err
    message = lines[0]
    assert message.startswith("cevns-bayes: error: "), message
    for text in expected:
        assert text in message, (text, message)
    return message


@pytest.mark.parametrize("case", DATA_DIR_CASES.values(), ids=DATA_DIR_CASES.keys())
def test_data_check_bad_input_exits_2(tmp_path, capsys, case):
    options, expected = case(tmp_path)
    code, out, err = _run(capsys, "data", "check", *options)
    _assert_one_error_line(code, out, err, expected)
    assert err.count("\n") == 1  # data check prints nothing else on stderr


@pytest.mark.parametrize("case", MODEL_CASES.values(), ids=MODEL_CASES.keys())
def test_predict_bad_input_exits_2(tmp_path, capsys, case):
    options, expected = case(tmp_path)
    out_file = tmp_path / "out" / "p.json"
    code, out, err = _run(capsys, "predict", "--no-timing", "--out", out_file, *options)
    _assert_one_error_line(code, out, err, expected)
    assert not out_file.exists()


@pytest.mark.parametrize("case", MODEL_CASES.values(), ids=MODEL_CASES.keys())
def test_plot_bad_input_exits_2(tmp_path, capsys, case):
    options, expected = case(tmp_path)
    out_dir = tmp_path / "plots"
    code, out, err = _run(capsys, "plot", "prediction", "--out", out_dir, *options)
    _assert_one_error_line(code, out, err, expected)
    assert not out_dir.exists() or not any(out_dir.iterdir())


# --------------------------------------------------------------------------------------------
# predict


@pytest.fixture(scope="module")
def shipped_prediction(tmp_path_factory):
    """One ``predict --no-timing`` on the shipped inputs, shared by the tests below."""
    out_dir = tmp_path_factory.mktemp("predict")
    path = out_dir / "p.json"
    code, out, err = _run_captured("predict", "--out", path, "--no-timing")
    return {"code": code, "out": out, "err": err, "path": path, "dir": out_dir}


def test_predict_exit_code_and_output(shipped_prediction):
    run = shipped_prediction
    assert run["code"] == 0, run["err"]
    assert "Traceback" not in run["err"]
    assert f"wrote {run['path']}" in run["out"]
    assert "ln L + gradient" not in run["out"]  # --no-timing


def test_predict_json_keys(shipped_prediction):
    doc = json.loads(shipped_prediction["path"].read_text())
    for section in ("counts", "counts_before_time_efficiency"):
        counts = doc[section]
        assert set(COMPONENTS) | {"cevns_by_flavor"} <= set(counts)
        assert set(counts["cevns_by_flavor"]) == FLAVOR_KEYS
        for key in COMPONENTS:
            assert isinstance(counts[key], float) and counts[key] > 0
    assert set(doc["sigma_sm_1e40cm2"]) >= {"total", "mu", "e"}
    assert set(doc["sigma_sm_rn_shift_percent"]) >= {"plus5", "minus5"}
    for value in (*doc["sigma_sm_1e40cm2"].values(), *doc["sigma_sm_rn_shift_percent"].values()):
        assert isinstance(value, float) and math.isfinite(value)
    assert "loglike_grad_eval_us" not in doc  # --no-timing


def test_predict_counts_are_consistent(shipped_prediction):
    doc = json.loads(shipped_prediction["path"].read_text())
    counts, before = doc["counts"], doc["counts_before_time_efficiency"]
    for c in (counts, before):
        assert sum(c["cevns_by_flavor"].values()) == pytest.approx(c["cevns"], rel=1e-9)
    # the published priors (ε_T left out): SM CEvNS 341 +- 11 +- 42, BRN 18.4, NIN 5.6, SSB
    # 1286, the last three within 1%; with ε_T the release's BRN/NIN files give 18.3 and 5.2
    # (an independent recomputation of the release)
    assert 320.0 <= before["cevns"] <= 362.0
    assert before["brn"] == pytest.approx(18.4, rel=0.01)
    assert before["nin"] == pytest.approx(5.6, rel=0.01)
    assert counts["ssb"] == pytest.approx(1286.0, rel=0.01)
    assert counts["brn"] == pytest.approx(18.3, rel=0.01)
    assert counts["nin"] == pytest.approx(5.2, abs=0.05)
    # eps_T only lowers the beam-related components; the steady-state background is untouched
    for flavor in FLAVOR_KEYS:
        assert counts["cevns_by_flavor"][flavor] < before["cevns_by_flavor"][flavor]
    assert counts["ssb"] == pytest.approx(before["ssb"], rel=1e-12)
    # R_n ±5% moves <sigma> by -3.43% / +3.46% in an independent quadrature (tree couplings,
    # Helm, analytic spectra: tests/test_conventions.py); the flux shapes change it by < 0.1%
    shift = doc["sigma_sm_rn_shift_percent"]
    assert shift["plus5"] == pytest.approx(-3.43, abs=0.1)
    assert shift["minus5"] == pytest.approx(3.46, abs=0.1)


def test_predict_leaves_no_temporary_files(shipped_prediction):
    assert sorted(p.name for p in shipped_prediction["dir"].iterdir()) == ["p.json"]


def test_predict_with_timing(tmp_path, capsys, shipped_prediction):
    path = tmp_path / "timed.json"
    code, out, err = _run(capsys, "predict", "--out", path)
    assert code == 0, err
    doc = json.loads(path.read_text())
    value = doc["loglike_grad_eval_us"]
    assert isinstance(value, float) and math.isfinite(value) and value > 0
    assert "ln L + gradient:" in out
    # timing does not change the prediction
    reference = json.loads(shipped_prediction["path"].read_text())
    assert doc["counts"]["cevns"] == pytest.approx(reference["counts"]["cevns"], rel=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timed.json"]


# --------------------------------------------------------------------------------------------
# predict with a 2021-format (TH2D) flux file


def _analytic_flux_2021(path: Path) -> None:
    """A rough piDAR flux in the 2021 format: time (0-20 us, pulse-convolved) x energy (MeV)."""
    tau_pi, tau_mu, m_mu = 26.0, 2197.0, 105.66
    sigma_pulse = 378.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    t0 = 800.0  # pulse centre, so the whole pulse lies inside the time axis
    t_edges = np.linspace(0.0, 20000.0, 501)
    e_edges = np.linspace(0.0, 60.0, 121)
    e_mid = 0.5 * (e_edges[1:] + e_edges[:-1])

    # production times on a 4 ns grid (CDF differences), convolved with a Gaussian pulse,
    # then summed into the 40 ns bins of the file
    fine = np.linspace(0.0, 20000.0, 5001)
    k = np.arange(-160, 161) * 4.0
    pulse = np.exp(-0.5 * (k / sigma_pulse) ** 2)
    pulse /= pulse.sum()

    def time_prob(tau: float) -> np.ndarray:
        cdf = 1.0 - np.exp(-np.clip(fine - t0, 0.0, None) / tau)
        p = np.convolve(np.diff(cdf), pulse, mode="same")
        return p.reshape(500, 10).sum(axis=1)

    x = e_mid / m_mu
    inside = e_mid <= m_mu / 2.0
    michel_nu_e = np.where(inside, x**2 * (0.5 - x), 0.0)
    michel_nu_mu_bar = np.where(inside, x**2 * (0.75 - x), 0.0)
    line = np.zeros_like(e_mid)
    line[np.searchsorted(e_edges, 29.75) - 1] = 1.0  # the 29.5-30 MeV bin
    assert e_edges[np.argmax(line)] == 29.5

    prompt, delayed = time_prob(tau_pi), time_prob(tau_mu)
    hists = {
        "nu_mu": np.outer(prompt, line),
        "nu_mu_bar": np.outer(delayed, michel_nu_mu_bar / michel_nu_mu_bar.sum()),
        "nu_e": np.outer(delayed, michel_nu_e / michel_nu_e.sum()),
    }
    write_flux_2021_format(path, {k: (1e6 * h, t_edges, e_edges) for k, h in hists.items()})


def test_predict_with_a_2021_format_flux(tmp_path, capsys, shipped_prediction):
    flux = tmp_path / "snsFlux2D.root"
    _analytic_flux_2021(flux)
    path = tmp_path / "p2021.json"
    code, out, err = _run(capsys, "predict", "--flux", flux, "--out", path, "--no-timing")
    assert code == 0, err
    doc = json.loads(path.read_text())
    assert doc["settings"]["flux_source"] == "coherent-2021-th2d"
    assert doc["settings"]["proton_pulse"] == "in file"
    reference = json.loads(shipped_prediction["path"].read_text())["counts"]["cevns"]
    # analytic πDAR spectra and a Gaussian pulse against the shipped flux: ⟨σ⟩ agrees to 0.5%
    # (tests/test_conventions.py), the prompt fraction in the time bins to about 1%
    assert doc["counts"]["cevns"] == pytest.approx(reference, rel=0.02)
    assert sum(doc["counts"]["cevns_by_flavor"].values()) == pytest.approx(
        doc["counts"]["cevns"], rel=1e-9
    )


# --------------------------------------------------------------------------------------------
# plot prediction


def test_plot_prediction_writes_three_pngs_and_their_pdfs(tmp_path, capsys):
    out_dir = tmp_path / "plots"
    code, out, err = _run(capsys, "plot", "prediction", "--out", out_dir)
    assert code == 0, err
    pdfs = [n.replace(".png", ".pdf") for n in PLOT_FILES]
    # no temp files
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*PLOT_FILES, *pdfs])
    for name, pdf in zip(PLOT_FILES, pdfs):
        assert_drawn_png(out_dir / name)
        assert (out_dir / pdf).read_bytes()[:5] == b"%PDF-"
        assert f"wrote {out_dir / name}" in out


# --- output paths and file modes -------------------------------------------------------------
def test_predict_out_that_is_a_folder_fails_fast_with_one_line(tmp_path, capsys):
    code = main(["predict", "--out", str(tmp_path), "--no-timing"])
    err = capsys.readouterr().err
    assert code == 2
    assert "is a folder" in err and "Traceback" not in err


def test_plot_out_that_is_a_file_fails_fast(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    code = main(["plot", "prediction", "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2
    assert "is a file" in err and "Traceback" not in err


def test_results_get_the_usual_file_mode(shipped_prediction):
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(shipped_prediction["path"].stat().st_mode)
    assert mode == 0o666 & ~umask


def test_data_check_reads_and_reports_a_user_flux(capsys):
    from cevns_bayes.paths import FLUX_2018_FILE

    code = main(["data", "check", "--flux", str(FLUX_2018_FILE)])
    assert code == 0
    bad = main(["data", "check", "--flux", str(FLUX_2018_FILE.parents[1] / "SHA256SUMS")])
    err = capsys.readouterr().err
    assert bad == 2 and "not a readable ROOT file" in err
