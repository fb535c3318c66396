"""Physics against independent numbers: kinematics, spectra, form factors, weak charge, σ."""

import math

import numpy as np
import pytest
from scipy import integrate

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError
from cevns_bayes.io import read_flux
from cevns_bayes.physics import cross_section as xs
from cevns_bayes.physics.flux import (
    analytic_flux,
    flux_from_tables,
    michel_nu_e_pdf,
    michel_nu_mu_bar_pdf,
    prompt_numu_energy_mev,
    proton_pulse,
)


def test_prompt_numu_line_is_29_8_mev():
    # (m_pi^2 - m_mu^2) / (2 m_pi) with m_pi = 139.570, m_mu = 105.658 MeV
    assert prompt_numu_energy_mev() == pytest.approx(29.79, abs=0.01)


@pytest.mark.parametrize(
    "pdf, mean_fraction_of_mmu",
    [(michel_nu_e_pdf, 0.30), (michel_nu_mu_bar_pdf, 0.35)],
)
def test_michel_spectra_normalized_with_textbook_means(pdf, mean_fraction_of_mmu):
    m_half = c.MUON_MASS_MEV / 2
    norm, _ = integrate.quad(pdf, 0, m_half)
    mean, _ = integrate.quad(lambda e: e * pdf(e), 0, m_half)
    assert norm == pytest.approx(1.0, rel=1e-10)
    # <E> = 3/10 m_mu (nu_e), 7/20 m_mu (anti-nu_mu)
    assert mean == pytest.approx(mean_fraction_of_mmu * c.MUON_MASS_MEV, rel=1e-10)
    assert pdf(np.array([m_half + 1.0]))[0] == 0.0


@pytest.mark.parametrize("shape", ["gaussian", "triangle", "box"])
def test_proton_pulse_has_the_requested_fwhm(shape):
    t, w = proton_pulse(shape, 378.0, 1.0)
    assert w.sum() == pytest.approx(1.0)
    above = t[w >= 0.5 * w.max() - 1e-12]
    assert above.max() - above.min() == pytest.approx(378.0, abs=3.0)


def test_a_pulse_narrower_than_the_time_step_is_a_single_bin():
    t, w = proton_pulse("gaussian", 0.5, 1.0)  # 0.5 ns FWHM on a 1 ns grid: positive, allowed
    assert w.max() == pytest.approx(1.0, abs=1e-4) and t[np.argmax(w)] == 0.0
    with pytest.raises(ConfigError, match="FWHM"):
        proton_pulse("gaussian", 0.0, 1.0)


def test_analytic_time_profiles_have_the_lifetime_means():
    """Prompt: exponential τ_π; delayed: τ_π ⊗ τ_μ, mean τ_π + τ_μ. Over the 20 µs window
    (the symmetric pulse moves no mean) the truncated means and the probability beyond the
    window follow from the two exponentials, here by direct quadrature."""
    ana = analytic_flux()
    tau_pi, tau_mu, t_max = 26.033e-3, 2.1969811, 20.0

    def mean_us(f):
        mid = 0.5 * (f.time_edges_us[1:] + f.time_edges_us[:-1])
        return np.sum(mid * f.time_prob) / np.sum(f.time_prob)

    # density of the sum of two exponential times, integrated here on a fine grid
    t = np.linspace(0.0, t_max, 400001)
    dens = (np.exp(-t / tau_mu) - np.exp(-t / tau_pi)) / (tau_mu - tau_pi)
    inside = integrate.trapezoid(dens, t)
    mean_delayed = integrate.trapezoid(t * dens, t) / inside
    assert mean_delayed == pytest.approx(tau_pi + tau_mu - 20.0 * np.exp(-t_max / tau_mu), rel=2e-4)
    for name in ("nu_e", "nu_mu_bar"):
        f = ana[name]
        assert f.time_prob.sum() == pytest.approx(inside, abs=2e-6), name
        assert mean_us(f) == pytest.approx(mean_delayed, abs=2e-3), name
    assert mean_us(ana["nu_mu"]) == pytest.approx(tau_pi, abs=2e-3)


@pytest.fixture(scope="module")
def shipped_flux():
    return flux_from_tables(read_flux())


def test_shipped_flux_matches_the_pion_decay_at_rest_spectra(shipped_flux):
    ana = analytic_flux()
    # nu_mu: the line (plus 0.4% decay in flight); delayed flavors: Michel means within 1.5%
    assert shipped_flux["nu_mu"].energy_mev[np.argmax(shipped_flux["nu_mu"].energy_prob)] == (
        pytest.approx(prompt_numu_energy_mev(), abs=0.1)
    )
    for name in ("nu_e", "nu_mu_bar"):
        assert shipped_flux[name].mean_energy_mev == pytest.approx(
            ana[name].mean_energy_mev, rel=0.015
        )


def test_time_profiles_follow_pion_and_muon_lifetimes(shipped_flux):
    def mean_time_us(edges_us, prob):
        mid = 0.5 * (edges_us[1:] + edges_us[:-1])
        return np.sum(mid * prob) / np.sum(prob)

    def mean_of(f):
        return mean_time_us(f.time_edges_us, f.time_prob)

    raw = read_flux()
    # a pulse centred on 0 and symmetric moves no mean: the convolved prompt mean is the file's
    # own (4 ns bins: 46.8 ns, the pion lifetime 26.0 ns plus the spread of production times)
    raw_mu = raw.flavors["nu_mu"]
    raw_mean = mean_time_us(np.asarray(raw_mu.time_edges_ns) * 1e-3, np.asarray(raw_mu.time_prob))
    assert mean_of(shipped_flux["nu_mu"]) == pytest.approx(raw_mean, abs=1e-4)
    assert c.PION_LIFETIME_NS * 1e-3 < raw_mean < 2 * c.PION_LIFETIME_NS * 1e-3
    # the delayed flavors lag the prompt one by the muon lifetime (2.197 us), less the 20 us
    # window's truncation (20 e^{-20/2.197} = 0.002 us) and a little decay in flight
    for name in ("nu_e", "nu_mu_bar"):
        lag = mean_of(shipped_flux[name]) - mean_of(shipped_flux["nu_mu"])
        assert lag == pytest.approx(c.MUON_LIFETIME_NS * 1e-3, abs=0.012)


@pytest.mark.parametrize("ff", [xs.helm_form_factor, xs.klein_nystrand_form_factor])
def test_form_factor_limits_and_rms_radius(ff):
    r = 4.8
    assert ff(np.array([0.0]), r)[0] == pytest.approx(1.0, abs=1e-12)
    # F(q) = 1 - q^2 <r^2> / 6 + ... : the small-q curvature gives back the rms radius
    q = 1e-2
    r2 = 6.0 * (1.0 - ff(np.array([q]), r)[0]) / q**2
    assert math.sqrt(r2) == pytest.approx(r, rel=2e-3)
    qs = np.linspace(0.0, 0.6, 200)
    assert np.all(np.diff(ff(qs, r)) < 0)  # decreasing up to the first zero


def test_helm_first_zero_at_bessel_root():
    r = 5.0
    r0 = math.sqrt(5.0 / 3.0 * (r**2 - 3 * c.HELM_SKIN_FM**2))
    q0 = 4.493409457909064 / r0  # first zero of j1(x)/x
    assert abs(xs.helm_form_factor(np.array([q0]), r)[0]) < 1e-10


def test_weak_charge_tree_level_and_nsi():
    s2w = c.SIN2_THETA_W_LOW_Q2
    for iso in c.ISOTOPES:
        expected = iso.n - (1.0 - 4.0 * s2w) * iso.z
        assert xs.weak_charge(iso.z, iso.n, 1.0, 1.0, s2w) == pytest.approx(expected, rel=1e-12)
    # the eps_u that cancels the Cs weak charge: (gp + 2e) Z + (gn + e) N = 0
    cs = c.CS133
    gp, gn = xs.nucleon_couplings(s2w)
    eps = -(gp * cs.z + gn * cs.n) / (2 * cs.z + cs.n)
    assert xs.weak_charge(cs.z, cs.n, 1.0, 1.0, s2w, eps_u=eps) == pytest.approx(0.0, abs=1e-12)
    # eps_d enters with weight (Z + 2N) instead of (2Z + N)
    d = 0.01
    dq = xs.weak_charge(cs.z, cs.n, 1.0, 1.0, s2w, eps_d=d) - xs.weak_charge(
        cs.z, cs.n, 1.0, 1.0, s2w
    )
    assert dq == pytest.approx(-2 * d * (cs.z + 2 * cs.n))


def test_low_energy_cross_section_is_gf2_q2_e2_over_4pi():
    # E << M and q R << 1: sigma -> G_F^2 Q_W^2 E^2 / (4 pi)
    e = 1.0
    cs = c.CS133
    qw = cs.n - (1 - 4 * c.SIN2_THETA_W_LOW_Q2) * cs.z
    expected = c.FERMI_CONSTANT_MEV2**2 * qw**2 * e**2 / (4 * math.pi) * c.HBARC_MEV_CM**2
    assert xs.total_cross_section_cm2(e, cs) == pytest.approx(expected, rel=2e-3)


def test_radiative_couplings_raise_the_weak_charge_by_the_neutron_coupling():
    cs = c.CS133
    tree = xs.weak_charge(cs.z, cs.n, 1.0, 1.0, c.SIN2_THETA_W_LOW_Q2)
    rad = xs.weak_charge(cs.z, cs.n, 1.0, 1.0, c.SIN2_THETA_W_LOW_Q2, convention="radiative")
    assert rad / tree == pytest.approx(
        (2 * 0.5117 * cs.n - 2 * 0.0229 * cs.z) / (cs.n - 2 * 0.0229 * cs.z / 1.0), rel=1e-3
    )


def test_proton_radii_from_charge_radii():
    # R_p^2 = R_ch^2 - r_p^2 - 3/(4 m_p^2) - N/Z <r_n^2>, written out by hand: r_p = 0.8414 fm,
    # the Darwin-Foldy term 3/4 (hbar c / m_p)^2 with 197.327 MeV fm / 938.272 MeV, and the
    # neutron's <r_n^2> = -0.1161 fm^2 (a wrong sign of the last term gives 4.675 / 4.619 fm)
    darwin_foldy = 0.75 * (197.327 / 938.272) ** 2
    for iso, r_ch, z, n in ((c.CS133, 4.804, 55, 78), (c.I127, 4.750, 53, 74)):
        r_p = math.sqrt(r_ch**2 - 0.8414**2 - darwin_foldy + n / z * 0.1161)
        assert iso.proton_radius_fm == pytest.approx(r_p, abs=1e-4)
    assert c.CS133.proton_radius_fm == pytest.approx(4.74362, abs=1e-4)
    assert c.I127.proton_radius_fm == pytest.approx(4.68865, abs=1e-4)


def test_exposure_numbers():
    assert c.FLUENCE_PER_FLAVOR_CM2 == pytest.approx(
        0.0848 * 3.198e23 / (4 * math.pi * 1930.0**2), rel=1e-12
    )
    assert c.N_MOLECULES == pytest.approx(14600 / 259.81 * 6.02214076e23, rel=1e-12)
