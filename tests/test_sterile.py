"""The 3+1 sterile-neutrino model (cevns_bayes/physics/sterile.py).

Checked against an independent numpy computation: the disappearance probability summed over
each flavor's flux energies one by one (no energy bands), with the baseline average done by
quadrature over the two boxes (not the closed form). Also: the SM exactly at zero mixing, the
large-Δm² limit (⟨sin²⟩ → ½), the interpolated weights against the closed form between nodes,
and the profile fit recovering an injected mixing from Asimov data.
"""

from __future__ import annotations

import numpy as np
import pytest

import cevns_bayes
from cevns_bayes import constants as c
from cevns_bayes.inference.profile import ProfileLikelihood
from cevns_bayes.physics import cross_section as xs
from cevns_bayes.physics import sterile
from cevns_bayes.physics.flux import FIT_FLAVORS
from cevns_bayes.spec import spec_from_dict

SPEC = {
    "analysis": {"name": "sterile_test"},
    "pois": {
        "ue4_sq": {"prior": "flat", "lower": 0.0, "upper": 0.5, "initial": 0.1},
        "umu4_sq": {"prior": "flat", "lower": 0.0, "upper": 0.5, "initial": 0.1},
    },
    "nuisances": {
        "flux_norm": {"prior": "truncated_normal", "mu": 1.0, "sigma": 0.1, "lower": 0.0}
    },
    "fixed": {"dm2_41_ev2": 1000.0},
    "model": {"form_factor": "helm", "couplings": "tree"},
}


@pytest.fixture(scope="module")
def model():
    return cevns_bayes.load_analysis(spec_from_dict(SPEC, "sterile_test"))


def _box_average_sin2(e_mev, dm2, n=400):
    """⟨sin²(1.267 Δm² L/E)⟩ with L = L₀ + s + d, s and d uniform (midpoint quadrature)."""
    a, b = sterile.SOURCE_HALF_WIDTH_M, sterile.DETECTOR_HALF_WIDTH_M
    s = a * (2.0 * (np.arange(n) + 0.5) / n - 1.0)
    d = b * (2.0 * (np.arange(n) + 0.5) / n - 1.0)
    length = (c.BASELINE_CM / 100.0 + s[:, None] + d[None, :]).ravel()
    e = np.asarray(e_mev, float)[:, None]
    return np.mean(np.sin(1.267 * dm2 * length[None, :] / e) ** 2, axis=1)


def _reference_change(fwd, dm2, ue, um):
    """Events per recoil cell added by the mixing (numpy, energy by energy)."""
    t = fwd.recoil_mev
    us = 1.0 - ue - um
    out = np.zeros((len(FIT_FLAVORS), t.size))
    for j, name in enumerate(FIT_FLAVORS):
        f = fwd.flux[name]
        keep = f.energy_prob > 0
        e, p = f.energy_mev[keep], f.energy_prob[keep]
        prob = 4.0 * (ue if name == "nu_e" else um) * us * _box_average_sin2(e, dm2)
        for iso in c.ISOTOPES:
            rp, rn = xs.nuclear_radii_fm(iso, "helm")
            q = np.sqrt(2.0 * iso.mass_mev * t) / c.HBARC_MEV_FM
            gp, gn = xs.nucleon_couplings(c.SIN2_THETA_W_LOW_Q2, "tree", name)
            qw = -2.0 * (
                gp * iso.z * xs.helm_form_factor(q, rp) + gn * iso.n * xs.helm_form_factor(q, rn)
            )
            kin = xs.kinematic_factor(e[:, None], t[None, :], iso.mass_mev)
            reach = t[None, :] <= 2.0 * e[:, None] ** 2 / (iso.mass_mev + 2.0 * e[:, None])
            avg = (p * -prob) @ np.where(reach, kin, 0.0)
            out[j] += xs.prefactor_cm2_per_mev(iso.mass_mev) * qw**2 * avg
    return out * c.N_MOLECULES * c.FLUENCE_PER_FLAVOR_CM2 * fwd.recoil_step_mev


def test_zero_mixing_is_the_sm_exactly(model):
    fwd = model.forward
    sm = fwd.recoil_counts({}).eval()
    zero = {"ue4_sq": 0.0, "umu4_sq": 0.0, "dm2_41_ev2": 37.0}
    np.testing.assert_allclose(fwd.recoil_counts(zero).eval(), sm, rtol=1e-13, atol=0)
    assert "sterile" in cevns_bayes.physics_model_names()
    assert "sterile" not in [m.name for m in cevns_bayes.physics.plugins.BUILTIN_MODELS]


# (Δm², |U_e4|², |U_μ4|², tolerance on the change relative to the SM rate of each flavor)
POINTS = [
    (0.37, 0.10, 0.05, 1e-3),  # between nodes, slow oscillation
    (3.3, 0.20, 0.10, 2e-3),  # first maxima at 30 MeV
    (41.7, 0.15, 0.25, 1.5e-2),  # fast oscillation, partly averaged
    (870.0, 0.30, 0.10, 5e-3),  # averaged out
]


@pytest.mark.parametrize(("dm2", "ue", "um", "tol"), POINTS)
def test_the_rate_change_matches_the_energy_by_energy_sum(model, dm2, ue, um, tol):
    fwd = model.forward
    sm = fwd.recoil_counts({}).eval()
    graph = fwd.recoil_counts({"ue4_sq": ue, "umu4_sq": um, "dm2_41_ev2": dm2}).eval() - sm
    ref = _reference_change(fwd, dm2, ue, um)
    for j in range(len(FIT_FLAVORS)):
        # the change summed over recoils, and cell by cell, relative to the flavor's SM rate
        assert abs(graph[j].sum() - ref[j].sum()) <= tol * sm[j].sum()
        assert np.max(np.abs(graph[j] - ref[j])) <= 3 * tol * sm[j].max()
    assert np.all(graph <= 0)


def test_the_large_dm2_limit_halves_the_oscillation(model):
    fwd = model.forward
    ue, um = 0.3, 0.1
    sm = fwd.recoil_counts({}).eval()
    change = fwd.recoil_counts({"ue4_sq": ue, "umu4_sq": um, "dm2_41_ev2": 1000.0}).eval() - sm
    us = 1.0 - ue - um
    for j, name in enumerate(FIT_FLAVORS):
        expect = -2.0 * (ue if name == "nu_e" else um) * us  # P → 2|U_α4|²|U_s4|²
        assert change[j].sum() / sm[j].sum() == pytest.approx(expect, rel=1e-2)


def test_the_interpolated_weights_are_smooth_and_match_the_closed_form():
    import pytensor
    import pytensor.tensor as pt

    m = sterile.MODEL
    x = pt.dscalar("x")
    w = sterile.hermite_interpolate(pt.log(x), m.nodes_log, *m.tables())
    fn = pytensor.function([x], [w, pytensor.gradient.jacobian(w, x)])
    for dm2 in (0.2, 2.71, 15.3, 123.4):
        val, jac = fn(dm2)
        np.testing.assert_allclose(val, sterile.band_weights(dm2)[0], atol=2e-4)
        ref = sterile.band_weights(dm2, derivative=True)[0] / dm2
        np.testing.assert_allclose(jac, ref, atol=2e-3 * np.max(np.abs(ref)) + 1e-6)
    # C¹ across a node: the derivative from both sides agrees
    node = m.nodes[1234]
    left, right = fn(node * (1 - 1e-9))[1], fn(node * (1 + 1e-9))[1]
    np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-9)


def test_the_profile_fit_recovers_an_injected_mixing(model):
    truth = {"ue4_sq": 0.25, "umu4_sq": 0.2}
    asimov = model.expected(truth)
    pl = ProfileLikelihood(model, observed=asimov, hot=False)
    fit = pl.fit(start={"ue4_sq": 0.1, "umu4_sq": 0.1}, hesse=False)
    assert fit.values["umu4_sq"] == pytest.approx(0.2, abs=0.01)
    assert fit.values["ue4_sq"] == pytest.approx(0.25, abs=0.05)
