"""The neutron radius as a parameter of interest: common, and Cs and I separately.

Checks: the per-isotope scales at a common value are the common scale; one nucleus' scale
moves the SM flux-averaged cross section as an independent quadrature over the flux says;
the skin; and a profile fit recovers an injected radius from Asimov data.
"""

from __future__ import annotations

import numpy as np
import pytest

import cevns_bayes
from cevns_bayes import constants as c
from cevns_bayes.physics import cross_section as xs
from cevns_bayes.physics.flux import FIT_FLAVORS


@pytest.fixture(scope="module")
def model():
    return cevns_bayes.load_analysis("neutron_radius_cs_i")


def test_equal_isotope_scales_are_the_common_scale(model):
    f = model.forward
    common = f.evaluate({"r_n_scale": 1.07})
    split = f.evaluate({"r_n_scale_cs": 1.07, "r_n_scale_i": 1.07})
    np.testing.assert_allclose(split["cevns"], common["cevns"], rtol=1e-12)
    assert split["sigma_sm_total_1e40cm2"] == pytest.approx(common["sigma_sm_total_1e40cm2"], 1e-12)


def test_one_nucleus_radius_moves_sigma_sm_as_the_quadrature_says(model):
    """⟨σ⟩_SM with R_n(Cs) × 1.10 and R_n(I) nominal against Σ_E p(E) σ(E), σ(E) the
    Gauss–Legendre integral of ``differential_cross_section_cm2_per_mev`` over T, per
    isotope, averaged over Cs and I and weighted by each flavor's flux."""
    f = model.forward
    got = f.evaluate({"r_n_scale_cs": 1.10})["sigma_sm_total_1e40cm2"]
    kind, conv = model.spec.model["form_factor"], model.spec.model["couplings"]
    x, w = np.polynomial.legendre.leggauss(400)
    per_flavor, weights = [], []
    for name in FIT_FLAVORS:
        fl = f.flux[name]
        keep = fl.energy_prob > 0
        e, p = fl.energy_mev[keep], fl.energy_prob[keep]
        sig = 0.0
        for iso, scale in zip(c.ISOTOPES, (1.10, 1.0)):
            rn = xs.nuclear_radii_fm(iso, kind)[1] * scale
            t_max = xs.max_recoil_mev(e, iso.mass_mev)
            t = 0.5 * t_max[:, None] * (x[None, :] + 1.0)
            dsig = xs.differential_cross_section_cm2_per_mev(
                e[:, None], t, iso, r_n_fm=rn, form=kind, convention=conv, flavor=name
            )
            s_e = 0.5 * t_max * (dsig @ w)  # σ(E), Gauss–Legendre in T
            sig = sig + 0.5 * np.dot(p, s_e) / p.sum()
        per_flavor.append(sig / c.CM2_PER_1E40)
        weights.append(p.sum())
    expected = np.dot(per_flavor, weights) / np.sum(weights)
    assert got == pytest.approx(expected, rel=2e-3)
    nominal = f.evaluate()["sigma_sm_total_1e40cm2"]
    assert got < nominal  # a larger neutron radius: a faster form-factor fall


def test_neutron_skin():
    cs = c.ISOTOPES[0]
    rn, skin = xs.neutron_skin_fm(cs, 1.0, "helm_a13")
    assert skin == pytest.approx(0.0, abs=1e-12)  # R0 = 1.2 A^(1/3) fm for both
    rp, rn_nom = xs.nuclear_radii_fm(cs, "helm")
    rn, skin = xs.neutron_skin_fm(cs, np.array([1.0, 1.1]), "helm")
    np.testing.assert_allclose(rn, [rn_nom, 1.1 * rn_nom])
    np.testing.assert_allclose(skin, rn - rp)


def test_profile_recovers_an_injected_common_radius():
    model = cevns_bayes.load_analysis("neutron_radius")
    truth = 1.15
    asimov = model.expected({"r_n_scale": truth})
    fit = cevns_bayes.profile(model, data=asimov, scan_points=11)
    assert fit.best.values["r_n_scale"] == pytest.approx(truth, abs=0.01)
    lo, hi = fit.interval("r_n_scale", "68")
    assert lo < truth < hi and hi - lo < 0.6
