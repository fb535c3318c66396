"""Pulls, impacts and correlations (:mod:`cevns_bayes.inference.impacts`): the posterior
versions against a linear Gaussian model with known answers, the profile versions against
the σ–flux degeneracy of the xsec analysis (the CEvNS rate depends on σ · flux_norm only)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from cevns_bayes.inference import impacts as imp
from cevns_bayes.inference.profile import ProfileLikelihood
from cevns_bayes.model.statistical import StatisticalModel
from cevns_bayes.spec import load_spec


def _synthetic_posterior(rng, n=200_000):
    """μ = 2 θ_flux − 1.5 θ_ssb + 0.5 ε, θ's independent N(0, 1) posteriors (one chain)."""
    spec = load_spec("xsec")
    names = list(spec.nuisances)
    data = {n: rng.normal(size=(1, n_)) for n, n_ in zip(names, [n] * len(names))}
    noise = rng.normal(size=(1, n))
    data["sigma"] = 2.0 * data["flux_norm"] - 1.5 * data["ssb_norm"] + 0.5 * noise
    post = xr.Dataset({k: (("chain", "draw"), v) for k, v in data.items()})
    return spec, post


def test_posterior_impacts_of_a_linear_gaussian_model():
    spec, post = _synthetic_posterior(np.random.default_rng(1))
    out = imp.posterior_impacts(spec, post, "sigma")
    by = {r["nuisance"]: r for r in out["ranking"]}
    total = np.sqrt(2.0**2 + 1.5**2 + 0.5**2)
    assert out["grouped"]["total"] == pytest.approx(total, rel=0.01)
    assert out["ranking"][0]["nuisance"] == "flux_norm"
    assert by["flux_norm"]["impact"] == pytest.approx(2.0, rel=0.01)
    assert by["ssb_norm"]["impact"] == pytest.approx(-1.5, rel=0.01)
    assert abs(by["eff_pca"]["impact"]) < 0.02
    assert out["grouped"]["flux"] == pytest.approx(2.0, rel=0.01)
    assert out["grouped"]["backgrounds"] == pytest.approx(1.5, rel=0.01)
    assert out["grouped"]["statistical"] == pytest.approx(0.5, rel=0.02)
    pulls = imp.posterior_pulls(spec, post)
    # prior of flux_norm: centre 1, width 0.1 (truncated normal); draws N(0, 1)
    p = spec.nuisances["flux_norm"]
    assert pulls["flux_norm"]["pull"] == pytest.approx((0.0 - p.center) / p.width, abs=0.05)
    assert pulls["flux_norm"]["constraint"] == pytest.approx(1.0 / p.width, rel=0.01)
    corr = np.array(imp.posterior_correlation(spec, post)["matrix"])
    np.testing.assert_allclose(np.diag(corr), 1.0)
    np.testing.assert_allclose(corr, corr.T)
    assert corr[0, 1] == pytest.approx(2.0 / total, abs=0.01)  # sigma vs flux_norm


@pytest.fixture(scope="module")
def asimov_fit():
    spec = load_spec("xsec")
    sm = StatisticalModel(spec)
    truth = {**{n: p.center for n, p in spec.nuisances.items()}, "sigma": 170.0}
    prof = ProfileLikelihood(sm, observed=sm.expected(truth))
    best = prof.fit(start=truth)
    return spec, prof, best


def test_profile_pulls_vanish_on_asimov_data(asimov_fit):
    spec, _prof, best = asimov_fit
    pulls = imp.profile_pulls(spec, best)
    for name, p in pulls.items():
        assert abs(p["pull"]) < 0.02, (name, p)
        assert 0.0 < p["constraint"] <= 1.02, (name, p)
    corr = imp.correlation(best.cov_names, best.covariance)
    m = np.array(corr["matrix"])
    np.testing.assert_allclose(np.diag(m), 1.0)
    i, j = corr["names"].index("sigma"), corr["names"].index("flux_norm")
    assert m[i, j] < -0.4  # the rate fixes sigma x flux: strongly anti-correlated


def test_profile_impact_of_the_flux_follows_the_sigma_flux_degeneracy(asimov_fit):
    spec, prof, best = asimov_fit
    out = imp.profile_impacts(prof, best, "sigma")
    flux = next(r for r in out["ranking"] if r["nuisance"] == "flux_norm")
    s, f, e = best.values["sigma"], best.values["flux_norm"], best.errors["flux_norm"]
    # with flux fixed at f ± e the refit keeps sigma x flux: sigma -> sigma f / (f ± e)
    assert flux["postfit_up"] == pytest.approx(s * (f / (f + e) - 1.0), rel=0.03)
    assert flux["postfit_down"] == pytest.approx(s * (f / (f - e) - 1.0), rel=0.03)
    g = out["grouped"]
    assert g["total"] == pytest.approx(best.errors["sigma"], rel=0.05)  # Hessian vs HESSE
    assert g["statistical"] < g["total"] and g["flux"] < g["total"]
    # the quadrature sum of the parts is the total to within their correlations (~20%)
    parts = [v for k, v in g.items() if k not in ("total",)]
    assert np.sqrt(np.sum(np.square(parts))) == pytest.approx(g["total"], rel=0.25)
