"""The physics models beyond the SM (cevns_bayes/physics/bsm.py, docs/physics.md §9).

For each model: the SM exactly when its parameters vanish; its rate change per recoil cell
against an independent numpy computation (the formula summed over the flux spectrum, as
tests/test_plugins.py does for the user's magnetic moment); the heavy-mediator limit of the
light vector is the NSI model; the charge radii at their SM values are the ``giunti``
couplings; and an injected truth is recovered from Asimov data by the profile fit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import cevns_bayes
from cevns_bayes import ConfigError
from cevns_bayes import constants as c
from cevns_bayes.inference.profile import ProfileLikelihood
from cevns_bayes.model import build_forward_model
from cevns_bayes.model.parameters import get_parameter, parameter_owner
from cevns_bayes.physics import bsm
from cevns_bayes.physics import cross_section as xs
from cevns_bayes.physics.flux import FIT_FLAVORS
from cevns_bayes.physics.plugins import BUILTIN_MODELS, physics_model_names
from cevns_bayes.spec import load_spec

#: ε of the heavy-mediator test
HEAVY_EPS = 1.0e-3
BSM = ("light_vector", "light_vector_bl", "light_scalar", "magnetic_moment", "charge_radius")
BUILTIN = tuple(m.name for m in BUILTIN_MODELS)
COMPONENTS = ("cevns_nu_mu", "cevns_nu_mu_bar", "cevns_nu_e", "brn", "nin", "ssb")
#: fine-structure constant and G_F, written out here (the test's own numbers)
ALPHA = 1.0 / 137.035999084
G_F = 1.1663788e-11
#: Σ_q (m_N/m_q) f_Tq^N by hand: f_Tq of Ellis, Ferstl & Olive 2000 (u, d, s), PDG 2022 masses
#: (2.16, 4.67, 93.4 MeV), heavy quarks (2/9)(1 − Σ f_Tq)
C_P = 938.27208816 * (0.020 / 2.16 + 0.026 / 4.67 + 0.118 / 93.4) + 2 / 9 * (1 - 0.164)
C_N = 939.56542052 * (0.014 / 2.16 + 0.036 / 4.67 + 0.118 / 93.4) + 2 / 9 * (1 - 0.168)


@pytest.fixture(scope="module")
def giunti_spec():
    return load_spec("light_vector")  # giunti couplings, Helm form factor


@pytest.fixture(scope="module")
def fwd(giunti_spec):
    """One graph with the built-in models and every model of bsm.py but the charge radii."""
    return build_forward_model(giunti_spec, physics=BUILTIN + BSM[:-1])


@pytest.fixture(scope="module")
def sm_fwd(giunti_spec):
    """The same options without any physics model: the SM of the giunti couplings."""
    return build_forward_model(giunti_spec, physics=())


@pytest.fixture(scope="module")
def radius_fwd():
    """The charge-radius spec's graph (couplings without the SM charge radii)."""
    return build_forward_model(load_spec("charge_radius"), physics=BUILTIN + ("charge_radius",))


#: Every parameter of the graph ``fwd`` that the tests set (one compiled function for all)
GRAPH_PARAMETERS = (
    "g_zprime",
    "m_zprime_mev",
    "g_bl",
    "m_bl_mev",
    "g_phi",
    "m_phi_mev",
    "mu_nu_e",
    "mu_nu_mu",
    "mu_nu",
    "eps_ee_u",
    "eps_ee_d",
    "eps_mumu_u",
    "eps_mumu_d",
)
RADIUS_PARAMETERS = ("r2_nu_e", "r2_nu_mu")


def _full(values, names):
    """``values`` completed with 0 for the couplings and 10 MeV for the masses: every name is
    given, so one compiled function serves every test (a given 0 changes nothing exactly)."""
    return {n: values.get(n, 10.0 if n.endswith("_mev") else 0.0) for n in names}


def _evaluate(fwd, values, names=GRAPH_PARAMETERS):
    return fwd.evaluate(_full(values, names))


def _total(out):
    return sum(out[k] for k in COMPONENTS)


def _recoil_function(fwd, names):
    import pytensor
    import pytensor.tensor as pt

    theta = pt.dvector("theta")
    counts = fwd.recoil_counts({n: theta[i] for i, n in enumerate(names)})
    fn = pytensor.function([theta], counts, on_unused_input="ignore")
    return lambda values: fn(np.array([_full(values, names)[n] for n in names], float))


@pytest.fixture(scope="module")
def recoil(fwd):
    """Events per recoil cell per flavor before the detector (numpy) at parameter values."""
    return _recoil_function(fwd, GRAPH_PARAMETERS)


@pytest.fixture(scope="module")
def radius_recoil(radius_fwd):
    return _recoil_function(radius_fwd, RADIUS_PARAMETERS)


def test_the_models_are_registered_but_not_built_in():
    names = physics_model_names()
    for name in BSM:
        assert name in names and name not in BUILTIN
    # a spec's graph holds the built-in models and the spec's own, not the others
    model = cevns_bayes.load_analysis("light_scalar")
    assert [m.name for m in model.forward.physics] == [*BUILTIN, "light_scalar"]
    units = {
        "g_zprime": "",
        "m_zprime_mev": "MeV",
        "g_bl": "",
        "m_bl_mev": "MeV",
        "g_phi": "",
        "m_phi_mev": "MeV",
        "mu_nu_e": "1e-10 mu_B",
        "mu_nu_mu": "1e-10 mu_B",
        "mu_nu": "1e-10 mu_B",
        "r2_nu_e": "1e-32 cm2",
        "r2_nu_mu": "1e-32 cm2",
    }
    for name, unit in units.items():
        assert get_parameter(name).unit == unit
        assert parameter_owner(name) in BSM


# --- the SM when the parameters vanish -----------------------------------------------------------
def test_each_model_is_the_sm_when_its_parameters_vanish(fwd, sm_fwd, recoil):
    """Every coupling and moment 0 (given, at masses of 10 MeV): the expected counts and ⟨σ⟩
    of the graph without any physics model, to 1e-12; and per model on the recoil grid."""
    got, ref = _evaluate(fwd, {}), sm_fwd.evaluate()
    for k in COMPONENTS:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12, atol=1e-12)
    assert got["sigma_total_1e40cm2"] == pytest.approx(ref["sigma_total_1e40cm2"], rel=1e-12)
    sm = sm_fwd.recoil_counts({}).eval()
    for values in (
        {"m_zprime_mev": 0.5},
        {"m_bl_mev": 3.0},
        {"m_phi_mev": 0.1},
        {"m_zprime_mev": 1e4, "m_bl_mev": 1e4, "m_phi_mev": 1e4},
    ):
        np.testing.assert_allclose(recoil(values), sm, rtol=1e-12, atol=0.0)
    # and each model not given at all (its nominal) leaves its graph out
    np.testing.assert_array_equal(fwd.recoil_counts({}).eval(), sm)


def test_charge_radii_of_zero_are_the_sm_of_their_couplings(radius_fwd, radius_recoil):
    ref = build_forward_model(load_spec("charge_radius"), physics=())
    np.testing.assert_allclose(
        radius_recoil({}), ref.recoil_counts({}).eval(), rtol=1e-12, atol=0.0
    )


# --- the rate change against numpy ---------------------------------------------------------------
def _numpy_extra(fwd, dsigma):
    """Extra events per recoil cell per flavor: N_CsI Φ ΔT Σ_i Σ_E p_f(E) dσ_i/dT(E, T) over
    T ≤ T_max(E), with ``dsigma(iso, flavor, e, t, q2, fp, fn)`` in MeV⁻³ (numpy)."""
    t = fwd.recoil_mev
    out = np.zeros((len(FIT_FLAVORS), t.size))
    for j, name in enumerate(FIT_FLAVORS):
        f = fwd.flux[name]
        keep = f.energy_prob > 0
        e, p = f.energy_mev[keep][:, None], f.energy_prob[keep][:, None]
        for iso in c.ISOTOPES:
            rp, rn = xs.nuclear_radii_fm(iso, "helm")
            q2 = 2.0 * iso.mass_mev * t
            q = np.sqrt(q2) / c.HBARC_MEV_FM
            fp, fn = xs.helm_form_factor(q, rp), xs.helm_form_factor(q, rn)
            reach = t <= 2.0 * e**2 / (iso.mass_mev + 2.0 * e)
            ds = np.broadcast_to(dsigma(iso, name, e, t, q2, fp, fn), reach.shape)
            out[j] += np.sum(p * np.where(reach, ds, 0.0), axis=0)
    return out * c.HBARC_MEV_CM**2 * c.N_MOLECULES * c.FLUENCE_PER_FLAVOR_CM2 * fwd.recoil_step_mev


def pt_scalar(x):
    import pytensor.tensor as pt

    return pt.constant(float(x), dtype="float64")


def _coherent(iso, e, t, q_new, q_sm):
    """The CEvNS dσ/dT difference for weak charges q_new and q_sm, MeV⁻³."""
    kin = 1.0 - iso.mass_mev * t / (2.0 * e**2) - t / e
    return G_F**2 * iso.mass_mev / (4.0 * math.pi) * kin * (q_new**2 - q_sm**2)


def _graph_extra(recoil, values):
    return recoil(values) - recoil({})


@pytest.mark.parametrize(
    "model, g, m",
    [("light_vector", 4e-5, 10.0), ("light_vector", 2e-4, 50.0), ("light_vector_bl", 6e-5, 5.0)],
)
def test_light_vector_rate_change_matches_numpy(fwd, recoil, model, g, m):
    coupling, mass, gq = {
        "light_vector": ("g_zprime", "m_zprime_mev", 1.0),
        "light_vector_bl": ("g_bl", "m_bl_mev", -1.0 / 3.0),
    }[model]
    s2w = c.SIN2_THETA_W_LOW_Q2

    def dsigma(iso, flavor, e, t, q2, fp, fn):
        eps = gq * g**2 / (2.0 * math.sqrt(2.0) * G_F * (q2 + m**2))
        sm = xs.weak_charge(iso.z, iso.n, fp, fn, s2w, convention="giunti", flavor=flavor)
        new = xs.weak_charge(iso.z, iso.n, fp, fn, s2w, eps, eps, "giunti", flavor)
        return _coherent(iso, e, t, new, sm)

    graph = _graph_extra(recoil, {coupling: g, mass: m})
    ref = _numpy_extra(fwd, dsigma)
    # the graph's F_n is a Chebyshev series in R_n (accurate to ~1e-9 of F_n)
    np.testing.assert_allclose(graph, ref, rtol=1e-6, atol=1e-9 * np.abs(ref).max())
    if g < 1e-4:  # universal: destructive interference at small g; B-L: constructive
        assert (graph.sum() < 0) == (model == "light_vector")


def test_light_scalar_charges_and_rate_change_match_numpy(fwd, recoil):
    assert bsm.LightScalar.c_p == pytest.approx(C_P, rel=1e-12)
    assert bsm.LightScalar.c_n == pytest.approx(C_N, rel=1e-12)
    # against the approximation 14 N + 15.1 Z of docs/physics.md §9: 3.4% larger for Cs and I
    for iso in c.ISOTOPES:
        ratio = (C_P * iso.z + C_N * iso.n) / (15.1 * iso.z + 14.0 * iso.n)
        assert ratio == pytest.approx(1.034, abs=0.001)
    g, m = 1.5e-5, 10.0

    def dsigma(iso, flavor, e, t, q2, fp, fn):
        q_phi = g**2 * (C_N * iso.n * fn + C_P * iso.z * fp)
        return iso.mass_mev**2 * t * q_phi**2 / (4.0 * math.pi * e**2 * (q2 + m**2) ** 2)

    graph = _graph_extra(recoil, {"g_phi": g, "m_phi_mev": m})
    ref = _numpy_extra(fwd, dsigma)
    np.testing.assert_allclose(graph, ref, rtol=1e-6, atol=1e-9 * ref.max())
    assert np.all(graph >= 0) and graph.sum() > 10.0  # no interference: only adds events


@pytest.mark.parametrize(
    "values",
    [{"mu_nu_e": 40.0, "mu_nu_mu": 20.0}, {"mu_nu": 25.0}, {"mu_nu_e": 30.0, "mu_nu": 10.0}],
    ids=["flavored", "universal", "both"],
)
def test_magnetic_moment_rate_change_matches_numpy(fwd, recoil, values):
    def dsigma(iso, flavor, e, t, q2, fp, fn):
        own = values.get("mu_nu_e" if flavor == "nu_e" else "mu_nu_mu", 0.0)
        mu2 = (own**2 + values.get("mu_nu", 0.0) ** 2) * 1e-20  # in quadrature
        return (
            math.pi * ALPHA**2 / c.ELECTRON_MASS_MEV**2 * mu2 * (1 / t - 1 / e) * iso.z**2 * fp**2
        )

    graph = _graph_extra(recoil, values)
    ref = _numpy_extra(fwd, dsigma)
    np.testing.assert_allclose(graph, ref, rtol=1e-9, atol=1e-12 * ref.max())
    if "mu_nu" not in values:
        # ν̄_μ shares ν_μ's moment: its extra events follow its own spectrum, not ν_e's
        assert np.all(graph[1] > 0) and not np.allclose(graph[1], graph[2])


def test_charge_radius_rate_change_matches_numpy(radius_fwd, radius_recoil):
    k = math.sqrt(2.0) * math.pi * ALPHA / (3.0 * G_F) * 1e-32 / c.HBARC_MEV_CM**2
    assert k == pytest.approx(0.02380, abs=1e-5)  # docs/physics.md §9: ≈ 0.0238
    assert bsm.CHARGE_RADIUS_GVP_PER_1E32CM2 == pytest.approx(k, rel=1e-12)
    r2 = {"r2_nu_e": 3.0, "r2_nu_mu": -2.0}
    s2w = c.SIN2_THETA_W_LOW_Q2

    def dsigma(iso, flavor, e, t, q2, fp, fn):
        gp, gn = 0.0227, -0.5117  # no_charge_radius
        rad = r2["r2_nu_e" if flavor == "nu_e" else "r2_nu_mu"]
        new = -2.0 * ((gp - k * rad) * iso.z * fp + gn * iso.n * fn)
        sm = xs.weak_charge(iso.z, iso.n, fp, fn, s2w, convention="no_charge_radius")
        return _coherent(iso, e, t, new, sm)

    graph = _graph_extra(radius_recoil, r2)
    ref = _numpy_extra(radius_fwd, dsigma)
    np.testing.assert_allclose(graph, ref, rtol=1e-6, atol=1e-9 * np.abs(ref).max())
    # a positive radius lowers g_V^p and Q's proton part: Q = −2 g_V^n N ... grows
    assert graph[2].sum() > 0 > graph[0].sum() and graph[1].sum() < 0


# --- limits and conventions ----------------------------------------------------------------------
def test_heavy_mediator_limit_is_the_nsi_model(fwd):
    """m → ∞: at m = 1e4 MeV the light vector's expected counts equal those of the NSI model
    with ε^u = ε^d = g²/(2√2 G_F m²) for ν_e and ν_μ to 1e-6 (relative): the q²/m² correction.
    g is chosen so that ε = EPS, a CEvNS rate change of several % (the correction, about
    2 ΔQ/Q · q²/m², grows with it)."""
    m = 1.0e4
    eps = HEAVY_EPS
    g = math.sqrt(eps * 2.0 * math.sqrt(2.0) * G_F * m**2)
    light = _evaluate(fwd, {"g_zprime": g, "m_zprime_mev": m})
    nsi = _evaluate(fwd, {"eps_ee_u": eps, "eps_ee_d": eps, "eps_mumu_u": eps, "eps_mumu_d": eps})
    np.testing.assert_allclose(_total(light), _total(nsi), rtol=1e-6)
    sm = _evaluate(fwd, {})
    assert nsi["cevns"].sum() / sm["cevns"].sum() < 0.99  # the test has teeth


def test_charge_radii_at_the_sm_values_are_the_giunti_couplings(radius_fwd, sm_fwd):
    sm = bsm.ChargeRadius.SM_VALUES
    for lep, name in (("e", "r2_nu_e"), ("mu", "r2_nu_mu")):
        delta = c.CHARGE_RADIUS_DELTA_CORRECTED[lep]
        assert sm[name] == pytest.approx(-delta / bsm.CHARGE_RADIUS_GVP_PER_1E32CM2, rel=1e-12)
    assert sm == pytest.approx({"r2_nu_e": -0.8917, "r2_nu_mu": -0.5157}, abs=1e-4)
    got = radius_fwd.evaluate(sm)
    ref = sm_fwd.evaluate()  # the giunti couplings, same form factor and binning
    for k in COMPONENTS:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12, atol=1e-12)
    # the one-loop SM radii (−0.83, −0.48; 7% smaller) give 0.32% more CEvNS events
    theory = bsm.ChargeRadius.SM_VALUES_THEORY
    assert theory == pytest.approx({"r2_nu_e": -0.8275, "r2_nu_mu": -0.4805}, abs=1e-4)
    ratio = radius_fwd.evaluate(theory)["cevns"].sum() / ref["cevns"].sum()
    assert ratio == pytest.approx(1.0032, abs=2e-4)


def test_charge_radius_refuses_couplings_that_hold_the_sm_radii(giunti_spec):
    graph = build_forward_model(giunti_spec, physics=BUILTIN + ("charge_radius",))
    with pytest.raises(ConfigError, match="already holds the SM charge radii.*no_charge_radius"):
        graph.recoil_counts({"r2_nu_e": pt_scalar(-0.9)})
    assert graph.recoil_counts({}) is not None  # unused, the model changes nothing


# --- fits ----------------------------------------------------------------------------------------
def test_the_profile_recovers_an_injected_light_vector_coupling():
    """The full profile run (MIGRAD from 5 starts across the box, scans, intervals) on Asimov
    data of g = 4e-5: the global minimum is the truth, not the sign-flipped solution."""
    model = cevns_bayes.load_analysis("light_vector")
    truth = 4.0e-5
    fit = cevns_bayes.profile(model, data=model.expected({"g_zprime": truth}), scan_points=5)
    assert fit.best.values["g_zprime"] == pytest.approx(truth, rel=0.03)
    lo, hi = fit.interval("g_zprime", "90")
    assert lo < truth < hi < 1.0e-4


@pytest.mark.parametrize(
    "spec, truth",
    [
        ("light_vector_bl", {"g_bl": 6.0e-5}),
        ("light_scalar", {"g_phi": 2.0e-5}),
        ("magnetic_moment_universal", {"mu_nu": 30.0}),
        ("magnetic_moment", {"mu_nu_e": 50.0, "mu_nu_mu": 30.0}),
        pytest.param("charge_radius", {"r2_nu_e": 6.0, "r2_nu_mu": -4.0}, marks=pytest.mark.slow),
    ],
)
def test_the_profile_fit_recovers_an_injected_truth_from_asimov_data(spec, truth):
    """MIGRAD (the profile fit, nuisances free) from the spec's initial values on the Asimov
    data of ``truth`` (the charge radii: slow, 50 s, MIGRAD along the ring-like valley)."""
    model = cevns_bayes.load_analysis(spec)
    prof = ProfileLikelihood(model, observed=model.expected(truth))
    best = prof.fit()
    for name, value in truth.items():
        assert best.values[name] == pytest.approx(value, rel=0.03), name


def test_sm_values_of_the_new_parameters():
    from cevns_bayes.model.sm import sm_value

    # the one-loop charge radii (Bernabeu et al., hep-ph/0206015): -0.83 and -0.48 x 1e-32 cm2
    assert sm_value("r2_nu_e") == pytest.approx(-0.83, abs=0.005)
    assert sm_value("r2_nu_mu") == pytest.approx(-0.48, abs=0.005)
    for name in ("g_zprime", "g_bl", "g_phi", "mu_nu", "mu_nu_e", "ue4_sq", "umu4_sq"):
        assert sm_value(name) == 0.0  # no new physics
    assert sm_value("r_n_scale") == sm_value("r_n_scale_cs") == 1.0
    assert sm_value("sin2_theta_w") == pytest.approx(0.23857)


def test_charge_radius_bands_are_the_signs_of_the_weak_charges():
    from cevns_bayes import constants as c
    from cevns_bayes.inference.modes import weak_charge_sign_label_points
    from cevns_bayes.physics.cross_section import nucleon_couplings

    # Q = -2 (g_p Z + g_n N) + 2 k <r^2> Z (k = 0.02380 per 1e-32 cm2) vanishes at
    # <r^2>* = sum (g_p Z + g_n N) / (k sum Z): about -29.3, next to the box centre -30
    gp, gn = nucleon_couplings(c.SIN2_THETA_W_LOW_Q2, "no_charge_radius", "nu_e")
    zs = [iso.z for iso in c.ISOTOPES]
    ns = [iso.n for iso in c.ISOTOPES]
    r_star = sum(gp * z + gn * n for z, n in zip(zs, ns)) / (0.02380 * sum(zs))
    assert r_star == pytest.approx(-29.3, abs=0.1)
    pts = np.array([[r_star + 1, 0.0], [r_star - 1, 0.0], [0.0, r_star - 1], [-80.0, -80.0]])
    labels = weak_charge_sign_label_points(("r2_nu_e", "r2_nu_mu"), pts, "no_charge_radius")
    assert list(labels) == ["ee+,mumu+", "ee-,mumu+", "ee+,mumu-", "ee-,mumu-"]
