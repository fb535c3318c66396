"""Profile likelihood: Asimov recovery, Wilks intervals (scan against MINOS), significance,
goodness of fit, fitted counts, and the compare/report pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _figures import assert_drawn_png
from scipy import stats

from cevns_bayes.inference import bayes
from cevns_bayes.inference.profile import DCHI2_1D, DCHI2_2D, ProfileLikelihood, Scan1D
from cevns_bayes.model.forward import CEVNS_COMPONENTS, COMPONENTS
from cevns_bayes.spec import load_spec


@pytest.fixture(scope="module")
def xsec():
    spec = load_spec("xsec")
    model = bayes.build_forward_model(spec)
    return spec, model


@pytest.fixture(scope="module")
def asimov(xsec):
    """Expected counts at the nominal point: σ = σ_SM, nuisances at their prior centres."""
    spec, model = xsec
    sigma_sm = model.evaluate()["sigma_sm_total_1e40cm2"]
    truth = {"sigma": sigma_sm, **{n: p.center for n, p in spec.nuisances.items()}}
    prof0 = ProfileLikelihood(spec, model)
    expected, _ = prof0.expected(truth)
    return truth, expected, ProfileLikelihood(spec, model, observed=expected)


@pytest.fixture(scope="module")
def real_fit(xsec):
    spec, model = xsec
    prof = ProfileLikelihood(spec, model)
    return prof, prof.fit()


def test_wilks_thresholds():
    assert DCHI2_1D["68"] == 1.0
    assert DCHI2_1D["90"] == pytest.approx(2.7055, abs=1e-4)
    assert DCHI2_2D["1sigma"] == pytest.approx(2.2958, abs=1e-3)
    assert DCHI2_2D["2sigma"] == pytest.approx(6.1801, abs=1e-3)
    assert DCHI2_2D["3sigma"] == pytest.approx(11.829, abs=1e-2)
    assert DCHI2_2D["90"] == pytest.approx(4.6052, abs=1e-3)


def test_asimov_fit_returns_the_truth(asimov):
    truth, _, prof = asimov
    best = prof.fit(start={"sigma": 0.8 * truth["sigma"]})
    assert best.valid
    for name, value in truth.items():
        if abs(value) > 1e-6:
            assert best.values[name] == pytest.approx(value, rel=1e-3), name
        else:
            assert abs(best.values[name]) < 1e-3, name
    # Δχ² at the truth is zero (the truth is the minimum), within MIGRAD's convergence
    # criterion EDM < 2e-4 (default tolerance 0.1 at errordef 0.5): |Δχ²| < 1e-3
    nll_truth = prof.nll(prof.vector(truth))
    assert 2.0 * (nll_truth - best.nll) == pytest.approx(0.0, abs=1e-3)
    gof = prof.goodness_of_fit(best)
    assert gof["chi2"] == pytest.approx(0.0, abs=1e-4)
    assert gof["ndof"] == 9 * 11 - 1


def test_asimov_scan_is_minimal_at_the_truth(asimov):
    truth, _, prof = asimov
    best = prof.fit()
    grid = truth["sigma"] * np.array([0.8, 0.9, 1.0, 1.1, 1.2])
    scan = prof.scan("sigma", grid, best)
    d = scan.delta_chi2
    assert np.argmin(d) == 2
    assert d[2] == pytest.approx(0.0, abs=1e-5)
    assert np.all(np.diff(d[:3]) < 0) and np.all(np.diff(d[2:]) > 0)


def test_scan_interval_agrees_with_minos(real_fit):
    prof, best = real_fit
    err = best.errors["sigma"]
    grid = np.linspace(best.values["sigma"] - 3 * err, best.values["sigma"] + 3 * err, 21)
    scan = prof.scan("sigma", grid, best)
    lo, hi = prof.interval(scan, 1.0, best)
    mlo, mhi = prof.minos(best, "sigma")
    width = hi - lo
    assert abs(lo - mlo) < 2e-3 * width
    assert abs(hi - mhi) < 2e-3 * width
    # docs/physics.md §7: best fit inside 150–195 with a 68% interval 45–70 wide
    assert 150 <= best.values["sigma"] <= 195
    assert 45 <= width <= 70


def test_no_systematics_interval_is_narrower(real_fit):
    prof, best = real_fit
    fixed = {n: prof.nominal[n] for n in prof.nuisance_names}
    best_ns = prof.fit(fixed, best.values)
    grid = np.linspace(120, 230, 23)
    scan = prof.scan("sigma", grid, best_ns, fix_nuisances=True)
    lo, hi = prof.interval(scan, 1.0, best_ns, fixed=fixed)
    scan_s = prof.scan("sigma", grid, best)
    lo_s, hi_s = prof.interval(scan_s, 1.0, best)
    # the 10% flux normalization alone adds in quadrature to the statistical width: without
    # systematics the width shrinks at least by sqrt(1 - (0.10 / rel. error)^2) (5% slack for
    # the asymmetric interval); the statistical error dominates, so by no more than half
    ratio = (hi - lo) / (hi_s - lo_s)
    rel_sigma = best.errors["sigma"] / best.values["sigma"]
    assert 0.5 < ratio < np.sqrt(1.0 - (0.10 / rel_sigma) ** 2) + 0.05


def test_significance_and_goodness_of_fit(real_fit):
    prof, best = real_fit
    z, r0 = prof.significance(best)
    assert 10.5 <= z <= 13.0  # docs/physics.md §7: 11.6 σ published
    assert r0.nll > best.nll
    gof = prof.goodness_of_fit(best)
    assert gof["pvalue"] > 0.05
    # the Poisson deviance, recomputed here from the best fit's expected counts per bin
    mu = sum(prof.components(best.values).values())
    n = prof.observed
    dev = -2.0 * (stats.poisson.logpmf(n, mu).sum() - stats.poisson.logpmf(n, n).sum())
    assert gof["chi2"] == pytest.approx(dev, rel=1e-9)
    assert gof["ndof"] == n.size - 1 == 98
    # its p-value against the Wilson–Hilferty normal approximation of χ²_k (accurate to
    # ~1e-3 at k = 98), not the same library call
    k = gof["ndof"]
    z = ((gof["chi2"] / k) ** (1 / 3) - (1 - 2 / (9 * k))) / np.sqrt(2 / (9 * k))
    assert gof["pvalue"] == pytest.approx(stats.norm.sf(z), abs=3e-3)


def test_fitted_counts_are_consistent(real_fit):
    prof, best = real_fit
    counts = prof.fitted_counts(best)
    total, per = prof.expected(best.values)
    for k in COMPONENTS:
        assert counts[k]["value"] == pytest.approx(per[k], rel=1e-12)
        assert counts[k]["error"] > 0
    cevns = sum(per[k] for k in CEVNS_COMPONENTS)
    assert counts["cevns"]["value"] == pytest.approx(cevns, rel=1e-12)
    assert total.sum() == pytest.approx(sum(per.values()), rel=1e-12)
    # the count is measured better than σ: converting counts to σ adds the 10% flux
    # normalization (and the detector-response modes) in quadrature
    rel_sigma = best.errors["sigma"] / best.values["sigma"]
    rel_count = counts["cevns"]["error"] / cevns
    assert rel_count < rel_sigma < 1.3 * np.hypot(rel_count, 0.10)


def test_interval_at_a_parameter_bound(real_fit):
    """A Δχ² region that reaches a parameter's bound ends there (not nan)."""
    prof, best = real_fit
    grid = np.linspace(0.0, 300.0, 7)
    d = np.array([50.0, 10.0, 2.0, 0.0, 0.5, 1.5, 4.0])
    scan = Scan1D("sigma", grid, d / 2.0, 0.0, 150.0, [best.values] * 7)
    lo, hi = prof.interval(scan, 1.0, best, refine=False)
    assert 100 < lo < 150 and 200 < hi < 250
    d2 = np.array([0.5, 0.2, 0.0, 0.3, 0.6, 1.2, 5.0])
    scan2 = Scan1D("sigma", grid, d2 / 2.0, 0.0, 100.0, [best.values] * 7)
    lo2, hi2 = prof.interval(scan2, 1.0, best, refine=False)
    assert lo2 == 0.0
    assert 200 < hi2 < 250


def test_compare_and_report_pipeline(tmp_path, xsec):
    """sample (tiny) + profile + compare + report on xsec: tables and figures exist."""
    from cevns_bayes.report import compare_analysis, write_report
    from cevns_bayes.workflows.analysis import run_profile_analysis, run_sampling

    spec, model = xsec
    out = tmp_path / "xsec"
    run_sampling(spec, out, chains=2, draws=150, tune=200, progressbar=False, model=model)
    prof = run_profile_analysis(spec, out, scan_points=15, model=model)
    assert {"best", "ci_68", "ci_90"} <= set(prof["pois"]["sigma"]["profile"])
    assert {"best", "ci_68"} <= set(prof["pois"]["sigma"]["profile_no_syst"])
    # the published 11.6 sigma and chi2/dof = 82.6/98 (a faithful reanalysis: 10.5-13 sigma,
    # p > 0.05); the 68% interval 45-70 wide around a best fit in 150-195
    assert 10.5 <= prof["significance_sigma"] <= 13.0
    assert prof["ndof"] == 98 and stats.chi2.sf(prof["chi2"], 98) > 0.05
    best, (lo, hi) = (
        prof["pois"]["sigma"]["profile"]["best"],
        prof["pois"]["sigma"]["profile"]["ci_68"],
    )
    assert 150 <= best <= 195 and 45 <= hi - lo <= 70
    # ε_T removes events: the paper-convention CEvNS count is larger
    assert (
        prof["fitted_counts_before_time_efficiency"]["cevns"]["value"]
        > prof["fitted_counts"]["cevns"]["value"]
    )
    assert 290 <= prof["fitted_counts_before_time_efficiency"]["cevns"]["value"] <= 345
    doc = compare_analysis(tmp_path, "xsec")
    row = doc["rows"][0]
    assert row["poi"] == "sigma" and row["published_best"] == 165.0
    assert abs(row["median_minus_best_in_sd"]) < 0.5
    assert doc["figures"]
    for f in doc["figures"]:
        assert_drawn_png(out / f)
    md, html_path = write_report(tmp_path, commands=["cevns-bayes reproduce"])
    text = md.read_text()
    assert "| `sigma` [1e-40 cm2] |" in text and "compare_sigma.png" in text
    page = html_path.read_text()
    assert "<table>" in page and "<img src='xsec/compare_sigma.png'" in page
    assert json.loads((out / "profile.json").read_text())["model"] == "xsec"
