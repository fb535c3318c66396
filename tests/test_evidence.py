"""The evidence estimators against quadrature, and the Bayes factor against Savage–Dickey.

The problem: the xsec analysis with every nuisance fixed at its prior centre except
``flux_norm`` (a truncated normal), so that Z = ∫∫ L(σ, f) π(σ) π(f) dσ df is a 2-D integral
done here independently by the midpoint rule on 400 × 400 cells of the two priors' supports
(with ``flux_norm``'s prior normalized on its own truncation). Nested sampling (dynesty), SMC
(PyMC) and the Laplace grid must reproduce it within their stated errors (3σ; the grid within
0.02: its Laplace step is nearly exact for the Gaussian flux_norm); the SM reference fixes σ at
σ_SM and leaves Z_SM = ∫ L(σ_SM, f) π(f) df, a 1-D quadrature; the Savage–Dickey ratio at σ_SM
must give the same Bayes factor.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import special

from cevns_bayes.inference import evidence as ev
from cevns_bayes.model.statistical import StatisticalModel
from cevns_bayes.spec import load_spec
from cevns_bayes.workflows.comparison import run_evidence, savage_dickey, sm_spec


@pytest.fixture(scope="module")
def problem():
    spec = load_spec("xsec")
    keep = "flux_norm"
    fixed = {**spec.fixed, **{n: p.center for n, p in spec.nuisances.items() if n != keep}}
    two = dataclasses.replace(spec, nuisances={keep: spec.nuisances[keep]}, fixed=fixed)
    sm = StatisticalModel(two)
    ll = sm.loglike_function(sm.observed)
    sig_lo, sig_hi = two.pois["sigma"].prior.support
    prior_f = two.nuisances[keep]
    f_lo, f_hi = prior_f.support
    f_lo, f_hi = (
        max(f_lo, prior_f.mu - 8 * prior_f.sigma),
        min(f_hi, prior_f.mu + 8 * prior_f.sigma),
    )
    n = 400
    hs, hf = (sig_hi - sig_lo) / n, (f_hi - f_lo) / n
    s = sig_lo + hs * (np.arange(n) + 0.5)
    f = f_lo + hf * (np.arange(n) + 0.5)
    lnl = np.array([[ll([a, b]) for b in f] for a in s])
    ln_pf = prior_f.logpdf(f)
    log_z = special.logsumexp(lnl + ln_pf[None, :]) + math.log(hs * hf) - math.log(sig_hi - sig_lo)
    sigma_sm = float(sm.forward.evaluate()["sigma_sm_total_1e40cm2"])
    lnl_sm = np.array([ll([sigma_sm, b]) for b in f])
    log_z_sm = special.logsumexp(lnl_sm + ln_pf) + math.log(hf)
    return two, sm, log_z, log_z_sm, sigma_sm


def test_the_prior_transform_is_each_priors_inverse_cdf(problem):
    spec = load_spec("xsec")
    sm = StatisticalModel(spec)
    transform = ev.PriorTransform(sm)
    u = np.linspace(0.05, 0.95, 7)
    for k, name in enumerate(sm.parameter_names):
        dist = sm.parameters[name].prior.distribution()
        got = [transform(np.full(transform.ndim, ui))[k] for ui in u]
        np.testing.assert_allclose(got, dist.ppf(u), rtol=1e-9, atol=1e-12)
    for name in sm.parameter_names:  # each constant normalizes exp(constraint term)
        prior = sm.parameters[name].prior
        lo, hi = prior.distribution().ppf([1e-9, 1 - 1e-9])
        x = np.linspace(lo, hi, 20001)
        if prior.kind == "flat":
            term = np.zeros_like(x)
        elif prior.kind == "lognormal":
            term = -0.5 * ((np.log(x) - math.log(prior.median)) / prior.sigma_log) ** 2 - np.log(x)
        else:
            term = -0.5 * ((x - prior.mu) / prior.sigma) ** 2
        total = np.trapezoid(np.exp(term + ev.log_normalisation(prior)), x)
        assert total == pytest.approx(1.0, abs=2e-4), name


def test_nested_sampling_reproduces_the_quadrature(problem):
    _spec, sm, log_z, _z_sm, _s = problem
    r = ev.nested_log_z(sm, nlive=300, seed=3)
    assert 0 < r["error"] < 0.3
    assert abs(r["value"] - log_z) < 3 * r["error"], (r["value"], r["error"], log_z)


def test_smc_reproduces_the_quadrature(problem):
    _spec, sm, log_z, _z_sm, _s = problem
    r = ev.smc_log_z(sm, draws=1000, chains=4, seed=4)
    assert 0 < r["error"] < 0.2 and len(r["per_chain"]) == 4
    assert abs(r["value"] - log_z) < max(3 * r["error"], 0.05), (r["value"], r["error"], log_z)


def test_the_laplace_grid_reproduces_the_quadrature(problem):
    _spec, sm, log_z, _z_sm, _s = problem
    r = ev.grid_log_z(sm, points=81)
    assert abs(r["value"] - log_z) < 0.02


def test_bayes_factor_and_savage_dickey_agree(problem, tmp_path):
    spec, sm, log_z, log_z_sm, sigma_sm = problem
    ref = sm_spec(spec, sm.forward)
    assert ref.fixed["sigma"] == pytest.approx(sigma_sm) and list(ref.pois) == ["flux_norm"]
    doc = run_evidence(
        spec, tmp_path, estimators=("nested", "laplace_grid"), nlive=300, progress=False
    )
    exact = log_z - log_z_sm
    bf = doc["log_bayes_factor_vs_sm"]["nested"]
    assert abs(bf["value"] - exact) < 3 * bf["error"] + 0.02
    assert doc["sm"]["log_z"]["nested"]["value"] == pytest.approx(log_z_sm, abs=0.5)
    sd = doc["savage_dickey"]
    assert sd["value"] == pytest.approx(exact, abs=0.05)
    assert sd["value"] == pytest.approx(savage_dickey(sm, sigma_sm)["value"], abs=1e-9)
    # the Bayes factor against the prior width: the full box is the Savage-Dickey value, a box
    # shrunk onto the SM point has no Occam penalty left (ln B -> 0), and the penalty grows
    curve = doc["width_curve"]["curve"]
    assert curve[-1]["fraction"] == 1.0
    assert curve[-1]["log_bayes_factor"] == pytest.approx(sd["value"], abs=0.05)
    assert abs(curve[0]["log_bayes_factor"]) < 0.3
    assert curve[-1]["log_bayes_factor"] < curve[len(curve) // 2]["log_bayes_factor"]
    assert (tmp_path / "bayes_factor_width.png").stat().st_size > 10_000
    # a second run reads every estimate back instead of computing it
    again = run_evidence(
        spec, tmp_path, estimators=("nested", "laplace_grid"), nlive=300, progress=False
    )
    assert again["log_z"] == doc["log_z"] and again["timing"]["seconds"] < 30


def test_the_bayes_factor_grows_with_an_injected_signal_and_falls_with_the_box():
    # Asimov data of the universal magnetic moment (1e-10 mu_B) at three injected strengths:
    # the Savage-Dickey Bayes factor for the moment rises with the strength; on SM data it
    # favours the SM more as the flat box [0, 100 f] widens
    from cevns_bayes.workflows.comparison import width_curve

    sm = StatisticalModel(load_spec("magnetic_moment_universal"))
    ln_b = []
    for mu in (0.0, 20.0, 40.0):
        asimov = sm.expected({"mu_nu": mu})
        ln_b.append(savage_dickey(sm, 0.0, asimov, points=41)["value"])
    assert ln_b[0] < 0 < ln_b[2] and ln_b[0] < ln_b[1] < ln_b[2]
    curve = width_curve(
        sm, [0.0], sm.expected({"mu_nu": 0.0}), points=41, fractions=(0.05, 0.2, 1.0)
    )["curve"]
    b = [r["log_bayes_factor"] for r in curve]
    assert all(x >= y - 1e-3 for x, y in zip(b, b[1:])) and b[-1] < b[0] - 1.0


def test_sm_references_of_different_specs_share_a_fingerprint_when_they_are_the_same_sm():
    """light_vector with g = 0 and magnetic_moment_universal with mu = 0 are the same SM
    (couplings 'giunti', the same nuisances): one cached SM evidence serves both; xsec's
    reference (sigma-normalized, the paper's couplings) is another likelihood."""
    from cevns_bayes.inference.bayes import build_forward_model
    from cevns_bayes.workflows.comparison import likelihood_fingerprint, sm_spec

    def reference(name):
        spec = load_spec(name)
        forward = build_forward_model(spec)
        return StatisticalModel(sm_spec(spec, forward), forward)

    a, b, c = (reference(n) for n in ("light_vector", "magnetic_moment_universal", "xsec"))
    assert a.spec.name != b.spec.name
    assert likelihood_fingerprint(a) == likelihood_fingerprint(b)
    assert likelihood_fingerprint(a) != likelihood_fingerprint(c)
