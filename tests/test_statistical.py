"""The statistical model: one likelihood and one set of priors that every method consumes.

Checked against independent numbers (the numpy baseline's expected counts, scipy's Poisson and
prior densities) and against each consumer: the PyMC model's log density, the profile
likelihood's NLL and the Laplace grid's log joint are the same function of the parameters.
"""

import numpy as np
import pytest
from scipy import stats

import cevns_bayes
from cevns_bayes.baseline import from_model
from cevns_bayes.errors import ConfigError
from cevns_bayes.inference.grid import LaplaceGrid, to_unconstrained
from cevns_bayes.inference.profile import ProfileLikelihood
from cevns_bayes.model.statistical import StatisticalModel

#: a point away from every prior centre (σ in 1e-40 cm²)
POINT = {
    "sigma": 182.0,
    "flux_norm": 1.06,
    "ssb_norm": 0.99,
    "brn_norm": 1.2,
    "nin_norm": 0.8,
    "quench_pca0": 0.4,
    "quench_pca1": -0.3,
    "eff_pca": 0.6,
    "r_n_scale": 1.02,
    "timing_offset_us": 0.04,
}


@pytest.fixture(scope="module")
def xsec():
    return cevns_bayes.load_analysis("xsec")


def test_load_analysis_names_and_parameter_facts(xsec):
    assert xsec.parameter_names == tuple(POINT)
    assert xsec.poi_names == ("sigma",)
    info = xsec.parameters
    assert info["sigma"].role == "poi" and info["sigma"].unit == "1e-40 cm2"
    assert info["flux_norm"].role == "nuisance"
    assert info["timing_offset_us"].unit == "us"
    # the priors are the spec's: the timing offset TN(0, 0.3 µs) on [-1, 1] µs
    t = info["timing_offset_us"].prior
    assert (t.kind, t.mu, t.sigma, t.lower, t.upper) == ("truncated_normal", 0.0, 0.3, -1.0, 1.0)
    assert (info["timing_offset_us"].lower, info["timing_offset_us"].upper) == (-1.0, 1.0)
    assert all(p.label for p in info.values())
    assert xsec.observed.shape == (9, 11) and xsec.observed.sum() == 1578
    assert xsec.global_observable_sds()["flux_norm"] == 0.10
    with pytest.raises(ConfigError, match="unknown parameter"):
        xsec.vector({"sigmaa": 1.0})


def test_loglike_against_the_baseline_and_scipy(xsec):
    """ln L from the independent numpy baseline's expected counts and scipy's Poisson pmf;
    ln π from scipy's frozen prior distributions, written out per parameter."""
    base = from_model(xsec.spec, xsec.forward)
    theta = xsec.vector(POINT)
    mu = sum(base.components(theta).values())
    n = xsec.observed
    expect = float(stats.poisson.logpmf(n, mu).sum())
    # the baseline and the graph differ by < 1e-2 in ln L (tests/test_baseline.py)
    assert xsec.loglike(POINT, n) == pytest.approx(expect, abs=1e-2)
    priors = {
        "sigma": stats.uniform(0.0, 600.0),
        "flux_norm": stats.truncnorm(-10.0, np.inf, loc=1.0, scale=0.10),
        "ssb_norm": stats.truncnorm(-1.0 / 0.021, np.inf, loc=1.0, scale=0.021),
        "brn_norm": stats.truncnorm(-4.0, np.inf, loc=1.0, scale=0.25),
        "nin_norm": stats.truncnorm(-1.0 / 0.35, np.inf, loc=1.0, scale=0.35),
        "quench_pca0": stats.norm(0.0, 1.0),
        "quench_pca1": stats.norm(0.0, 1.0),
        "eff_pca": stats.norm(0.0, 1.0),
        "r_n_scale": stats.truncnorm(-10.0, 10.0, loc=1.0, scale=0.05),
        "timing_offset_us": stats.truncnorm(-1.0 / 0.3, 1.0 / 0.3, loc=0.0, scale=0.3),
    }
    lp = sum(float(priors[k].logpdf(v)) for k, v in POINT.items())
    assert xsec.logprior(POINT) == pytest.approx(lp, rel=1e-12)
    assert xsec.logpdf(POINT, n) == pytest.approx(xsec.loglike(POINT, n) + lp, rel=1e-12)
    assert xsec.logpdf({**POINT, "sigma": 700.0}, n) == -np.inf  # outside the flat prior


def test_data_are_passed_in(xsec):
    n = xsec.observed
    other = n.copy()
    other[3, 2] += 5
    mu = xsec.expected(POINT)
    # one bin's count moved by 5: ln L moves by 5 ln μ_b − ln((n_b + 5)! / n_b!)
    d = xsec.loglike(POINT, other) - xsec.loglike(POINT, n)
    k = n[3, 2]
    expect = 5 * np.log(mu[3, 2]) - sum(np.log(k + j) for j in range(1, 6))
    assert d == pytest.approx(expect, rel=1e-10)
    with pytest.raises(ConfigError, match=r"shape \(9, 10\)"):
        xsec.loglike(POINT, n[:, :10])
    with pytest.raises(ConfigError, match="non-negative"):
        xsec.loglike(POINT, -n)


def test_every_consumer_builds_the_same_function(xsec):
    """PyMC's log density (priors normalized, no Jacobian), the profile likelihood's NLL
    (constraints up to constants) and the Laplace grid's log joint, at two points: the
    differences between the points agree, so each is the statistical model's function."""
    other = {**POINT, "sigma": 150.0, "eff_pca": -0.7, "timing_offset_us": -0.03}
    n = xsec.observed
    ref = xsec.logpdf(POINT, n) - xsec.logpdf(other, n)

    pm_model = cevns_bayes.pymc_model(xsec, deterministics=False)
    logp = pm_model.compile_logp(jacobian=False)

    def pm_point(v):
        ip = pm_model.initial_point()
        out = {}
        for rv in pm_model.free_RVs:
            value = pm_model.rvs_to_values[rv]
            transform = pm_model.rvs_to_transforms.get(rv)
            x = v[rv.name]
            fwd = transform.forward(np.float64(x), *rv.owner.inputs) if transform else x
            out[value.name] = np.asarray(fwd.eval() if transform else fwd)
        assert set(out) == set(ip)
        return out

    assert logp(pm_point(POINT)) == pytest.approx(xsec.logpdf(POINT, n), rel=1e-9)
    assert logp(pm_point(POINT)) - logp(pm_point(other)) == pytest.approx(ref, abs=1e-8)

    prof = ProfileLikelihood(xsec)
    d_prof = prof.nll(xsec.vector(other)) - prof.nll(xsec.vector(POINT))
    # the POI's flat prior and the normalizations of the truncated priors are constants
    assert d_prof == pytest.approx(ref, abs=1e-8)

    lap = LaplaceGrid(xsec)

    def ell(v):
        u = np.array([to_unconstrained(xsec.spec.nuisances[k], v[k]) for k in lap.nuisance_names])
        ll, _, lprior = lap._extra(np.array([v["sigma"]]), u)
        return float(ll + lprior)

    assert ell(POINT) - ell(other) == pytest.approx(ref, abs=1e-6)


def test_a_model_from_a_spec_and_its_forward_model(xsec):
    again = StatisticalModel(xsec.spec, xsec.forward)
    assert again.loglike(POINT, xsec.observed) == xsec.loglike(POINT, xsec.observed)
    with pytest.raises(ConfigError, match="forward-model options"):
        StatisticalModel(xsec.spec, xsec.forward, flux="analytic")
