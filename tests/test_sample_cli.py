"""``cevns-bayes sample``, called in-process through ``cevns_bayes.cli.main``.

One short run of ``xsec`` (2 chains x 150 draws, about 40 s) checks every file the command
writes: ``posterior.nc`` with the standard ArviZ groups, ``summary.json`` in the documented
layout, the diagnostic PNGs, and no temporary files left behind. Bad input exits with status 2
and one line on stderr, before any sampling.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from numbers import Integral, Real

import arviz as az
import numpy as np
import pytest
from _figures import assert_drawn_png

from cevns_bayes.cli import main
from cevns_bayes.spec import list_specs, models_dir

PLOTS = ("rank.png", "trace.png", "pair.png", "ppc.png")
GROUPS = (
    "posterior",
    "sample_stats",
    "prior",
    "posterior_predictive",
    "observed_data",
    "constant_data",
)
INTERVAL_KEYS = {"mean", "median", "sd", "hdi_68", "hdi_90", "eti_68", "eti_90"}
DIAGNOSTIC_KEYS = {
    "sampler",
    "chains",
    "draws",
    "tune",
    "r_hat_max",
    "ess_bulk_min",
    "ess_tail_min",
    "divergences",
    "bfmi_min",
}
COUNT_KEYS = {"cevns", "ssb", "brn", "nin"}


def _run_captured(*argv) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _is_number(x) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(x)


def _is_interval(x) -> bool:
    return isinstance(x, list) and len(x) == 2 and all(map(_is_number, x)) and x[0] <= x[1]


@pytest.fixture(scope="module")
def xsec_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "xsec"
    code, stdout, stderr = _run_captured(
        "sample",
        "xsec",
        "--chains",
        "2",
        "--draws",
        "150",
        "--tune",
        "200",
        "--out",
        out,
        "--progress",
        "off",
    )
    return {"code": code, "stdout": stdout, "stderr": stderr, "out": out}


# --- 1. a short run and what it writes -----------------------------------------------------------
def test_sample_exits_0_and_prints_a_summary(xsec_run):
    assert xsec_run["code"] == 0, xsec_run["stderr"]
    stdout = xsec_run["stdout"]
    assert "xsec: 2 chains x 150 draws (pymc)" in stdout
    assert "sigma" in stdout
    assert f"wrote {xsec_run['out']}/summary.json" in stdout


def test_sample_writes_posterior_netcdf_with_the_standard_groups(xsec_run):
    idata = az.from_netcdf(xsec_run["out"] / "posterior.nc")
    for group in GROUPS:
        assert group in idata.groups(), f"posterior.nc has no {group} group"
    post = idata.posterior
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 150
    for name in ("sigma", "flux_norm", "counts", "cevns_count", "sigma_1e40cm2"):
        assert name in post
    assert idata.observed_data["observed"].shape == (9, 11)
    assert set(idata.constant_data) >= {"pe_edges", "t_edges_us"}
    assert idata.constant_data["pe_edges"].size == 10
    assert idata.constant_data["t_edges_us"].size == 12


def test_sample_writes_summary_json_in_the_documented_layout(xsec_run):
    doc = json.loads((xsec_run["out"] / "summary.json").read_text())
    assert doc["model"] == "xsec"
    assert set(doc["pois"]) == {"sigma"}
    sigma = doc["pois"]["sigma"]
    assert isinstance(sigma["units"], str) and sigma["units"] == "1e-40 cm2"
    bayes = sigma["bayes"]
    assert set(bayes) >= INTERVAL_KEYS
    for key in ("mean", "median", "sd"):
        assert _is_number(bayes[key]), key
    for key in ("hdi_68", "hdi_90", "eti_68", "eti_90"):
        assert _is_interval(bayes[key]), key
    assert bayes["hdi_90"][0] <= bayes["hdi_68"][0] <= bayes["median"] <= bayes["hdi_68"][1]
    assert bayes["eti_90"][0] <= bayes["eti_68"][0] <= bayes["eti_68"][1] <= bayes["eti_90"][1]
    # the published 68% interval is 140-195; the posterior sd is about 29, the Monte Carlo error
    # of a 300-draw median about 3: the median lands within the paper's best-fit band 150-195
    assert 150.0 < bayes["median"] < 195.0
    # the summary numbers are those of the stored draws (numpy, not the package's summariser)
    idata = az.from_netcdf(xsec_run["out"] / "posterior.nc")
    draws = idata.posterior["sigma"].values.ravel()
    assert bayes["median"] == pytest.approx(np.median(draws), rel=1e-9)
    assert bayes["mean"] == pytest.approx(np.mean(draws), rel=1e-9)
    assert bayes["sd"] == pytest.approx(np.std(draws, ddof=1), rel=1e-3)
    assert bayes["eti_90"] == pytest.approx(list(np.quantile(draws, [0.05, 0.95])), rel=1e-3)

    assert set(doc["counts"]) >= COUNT_KEYS
    for key in COUNT_KEYS:
        entry = doc["counts"][key]
        assert set(entry) >= {"median", "hdi_68"}
        assert _is_number(entry["median"]) and _is_interval(entry["hdi_68"]), key
    assert doc["counts"]["ssb"]["median"] == pytest.approx(1295, rel=0.05)

    diag = doc["diagnostics"]
    assert set(diag) >= DIAGNOSTIC_KEYS
    assert diag["sampler"] == "pymc"
    assert (diag["chains"], diag["draws"], diag["tune"]) == (2, 150, 200)
    for key in ("chains", "draws", "tune", "divergences"):
        assert isinstance(diag[key], Integral) and not isinstance(diag[key], bool), key
    for key in ("r_hat_max", "ess_bulk_min", "ess_tail_min", "bfmi_min"):
        assert _is_number(diag[key]), key
    # r-hat and ESS over every sampled POI and nuisance, recomputed here from the draws
    names = diag["variables"]
    assert set(names) >= {"sigma", "flux_norm", "timing_offset_us"}
    rhat = max(float(az.rhat(idata, var_names=[n])[n]) for n in names)
    ess = min(float(az.ess(idata, var_names=[n], method="bulk")[n]) for n in names)
    assert diag["r_hat_max"] == pytest.approx(rhat, abs=0.01)
    assert diag["ess_bulk_min"] == pytest.approx(ess, rel=0.01, abs=1.0)
    # loose, as for every short CI run (tests/test_ci_paths.py): converged, not efficient
    assert diag["r_hat_max"] < 1.1 and diag["ess_bulk_min"] > 30

    timing = doc["timing_s"]
    assert set(timing) >= {"compile", "sampling"}
    assert _is_number(timing["compile"]) and timing["compile"] > 0
    assert _is_number(timing["sampling"]) and timing["sampling"] > 0


@pytest.mark.parametrize("name", PLOTS)
def test_sample_writes_the_diagnostic_plots(xsec_run, name):
    path = xsec_run["out"] / name
    assert path.is_file(), f"{name} missing"
    assert_drawn_png(path)


def test_sample_leaves_no_temporary_files(xsec_run):
    names = sorted(p.name for p in xsec_run["out"].iterdir())
    assert [n for n in names if n.startswith(".")] == []
    assert set(names) >= {"posterior.nc", "summary.json", *PLOTS}


# --- 2. bad input ---------------------------------------------------------------------------------
def test_unknown_model_exits_2_naming_the_available_specs(capsys, tmp_path):
    out = tmp_path / "out"
    code = main(["sample", "no_such_model", "--out", str(out), "--progress", "off"])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cevns-bayes: error:")
    assert "no_such_model" in lines[0]
    for name in list_specs():
        assert name in lines[0]
    assert not out.exists()


def test_spec_file_with_a_bad_key_exits_2_naming_the_file(capsys, tmp_path):
    text = (models_dir() / "xsec.toml").read_text()
    text = text.replace("[pois.sigma]\n", "[pois.sigma]\nwidth = 3.0\n", 1)
    assert "width = 3.0" in text
    spec = tmp_path / "bad_xsec.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    code = main(["sample", str(spec), "--out", str(out), "--progress", "off"])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(spec) in lines[0]
    assert "pois.sigma.width" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    "option, value", [("--draws", "0"), ("--chains", "0"), ("--draws", "-5"), ("--tune", "x")]
)
def test_bad_sampler_numbers_are_rejected_by_argparse(capsys, tmp_path, option, value):
    with pytest.raises(SystemExit) as exc:
        main(["sample", "xsec", option, value, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert option in err
    assert not (tmp_path / "out").exists()


def test_out_pointing_at_a_file_exits_2(capsys, tmp_path):
    target = tmp_path / "not_a_folder"
    target.write_text("keep me\n")
    code = main(["sample", "xsec", "--out", str(target), "--progress", "off"])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(target) in lines[0]
    assert target.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]


def test_sample_help_names_the_shipped_specs(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--help"])
    assert exc.value.code == 0
    out, _ = capsys.readouterr()
    for name in list_specs():
        assert name in out
