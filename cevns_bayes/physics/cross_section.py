"""The CEvNS differential cross section, nuclear form factors and the weak charge with NSI.

Formulas (README, *Cross section*), with recoil kinetic energy T, nuclear mass M, q = sqrt(2 M T):

    dσ/dT(E, T) = G_F² M / (4π) · Q²(q) · (1 − M T / (2 E²) − T / E),    T ≤ 2E² / (M + 2E)
    Q_α = −2 [ (g_V^p + 2 ε_αα^u + ε_αα^d) Z F_p(q) + (g_V^n + ε_αα^u + 2 ε_αα^d) N F_n(q) ]

so that with every ε = 0, Q = N F_n − (1 − 4 sin²θ_W) Z F_p (tree level). The couplings
convention lives in :func:`nucleon_couplings` only.

The functions that may sit in the pytensor graph take ``xp`` (``numpy`` or
``pytensor.tensor``) so the physics is written once and used both for precomputation and in the
differentiable model.
"""

from __future__ import annotations

import math

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError

#: The conventions of the SM prediction (the difference budget varies these)
SM_COUPLING_CONVENTIONS = ("tree", "radiative", "giunti", "coherent2021")
#: Every convention: the SM ones and ``no_charge_radius``, the base of ``giunti`` without the
#: SM charge-radius corrections, for the analysis that fits the charge radii themselves
COUPLING_CONVENTIONS = (*SM_COUPLING_CONVENTIONS, "no_charge_radius")
#: Conventions whose proton coupling depends on the neutrino flavor (charge-radius corrections)
FLAVOR_DEPENDENT_COUPLINGS = ("giunti", "coherent2021")
#: The couplings convention the paper's published SM cross sections rest on
PAPER_COUPLINGS = "coherent2021"
FORM_FACTORS = ("helm", "klein_nystrand", "helm_a13")
#: The form-factor convention of the paper's rate code
PAPER_FORM_FACTOR = "helm_a13"
#: Klein–Nystrand Yukawa range, fm
KN_YUKAWA_RANGE_FM = 0.7
#: Neutrino flavor -> (lepton, +1 for ν or −1 for ν̄)
_FLAVOR_LEPTON = {
    "nu_e": ("e", 1.0),
    "nu_e_bar": ("e", -1.0),
    "nu_mu": ("mu", 1.0),
    "nu_mu_bar": ("mu", -1.0),
}


def nucleon_couplings(sin2_theta_w, convention: str = "tree", flavor: str | None = None):
    """Vector couplings (g_V^p, g_V^n) of a neutrino of ``flavor`` to the proton and neutron.

    ``"tree"``: g_V^p = 1/2 − 2 sin²θ_W, g_V^n = −1/2 (the package default).
    ``"radiative"``: the radiatively corrected values g_V^p = 0.0229, g_V^n = −0.5117 (PDG /
    Erler & Su), flavor-independent.
    ``"giunti"``: g_V^n = −0.5117 and g_V^p = 0.0227 + δ_α with the neutrino charge-radius
    corrections of Giunti et al. (δ_e = 0.0212196, δ_μ = 0.0122716), the same for ν_α and ν̄_α
    (the corrected option of COHERENT's rate code).
    ``"coherent2021"``: the same with δ_e = 0.02191, δ_μ = 0.01267 and the sign of δ flipped
    for antineutrinos, g_V^p(ν̄_μ) = 0.0227 − 0.01267: the legacy option of COHERENT's rate
    code, which its authors mark as an error, and the convention the paper's SM cross sections
    ⟨σ⟩_μ = 197, ⟨σ⟩_e = 172 rest on (the README's *Cross-section conventions*).
    ``"no_charge_radius"``: ``giunti`` without its charge-radius terms, g_V^p = 0.0227,
    g_V^n = −0.5117 for every flavor: not an SM prediction, but the base on which the
    ``charge_radius`` physics model (:mod:`cevns_bayes.physics.bsm`) adds the charge radii as
    parameters, so that the SM terms are not counted twice (at its ``SM_VALUES`` it is
    ``giunti`` again).

    In every convention but ``tree``, g_V^p moves with sin²θ_W as at tree level,
    −2 (sin²θ_W − 0.23857), so that the weak-mixing analysis can use any of them.
    ``flavor`` (``nu_e``, ``nu_e_bar``, ``nu_mu``, ``nu_mu_bar``) is required by the
    flavor-dependent conventions and ignored by the others.
    """
    if convention == "tree":
        return 0.5 - 2.0 * sin2_theta_w, -0.5
    shift = -2.0 * (sin2_theta_w - c.SIN2_THETA_W_LOW_Q2)
    if convention == "radiative":
        return c.GV_PROTON_RADIATIVE + shift, c.GV_NEUTRON_RADIATIVE
    if convention == "no_charge_radius":
        return c.GV_PROTON_CHARGE_RADIUS_BASE + shift, c.GV_NEUTRON_CHARGE_RADIUS
    if convention in FLAVOR_DEPENDENT_COUPLINGS:
        if flavor not in _FLAVOR_LEPTON:
            raise ConfigError(
                f"couplings convention {convention!r} depends on the neutrino flavor; expected "
                f"flavor one of {tuple(_FLAVOR_LEPTON)}, got {flavor!r}"
            )
        lepton, sign = _FLAVOR_LEPTON[flavor]
        if convention == "giunti":
            delta = c.CHARGE_RADIUS_DELTA_CORRECTED[lepton]
        else:
            delta = sign * c.CHARGE_RADIUS_DELTA_LEGACY[lepton]
        return c.GV_PROTON_CHARGE_RADIUS_BASE + delta + shift, c.GV_NEUTRON_CHARGE_RADIUS
    raise ConfigError(
        f"couplings convention {convention!r} unknown; expected {COUPLING_CONVENTIONS}"
    )


def helm_a13_rms_radius_fm(mass_number: int, skin_fm: float = c.HELM_SKIN_FM) -> float:
    """rms radius of the Helm distribution with R_0 = 1.2 A^{1/3} fm: √(3/5 R_0² + 3 s²)."""
    r0 = c.HELM_A13_FM * mass_number ** (1.0 / 3.0)
    return math.sqrt(0.6 * r0**2 + 3.0 * skin_fm**2)


def nuclear_radii_fm(isotope, kind: str = "helm") -> tuple[float, float]:
    """(proton, neutron) rms radii in fm that the form factor ``kind`` takes for ``isotope``.

    ``helm`` and ``klein_nystrand`` use the point-proton radius from the charge radius and the
    nominal neutron radius of :mod:`cevns_bayes.constants`; ``helm_a13`` (COHERENT's rate code)
    uses R_0 = 1.2 A^{1/3} fm for protons and neutrons alike (:func:`helm_a13_rms_radius_fm`).
    The neutron-radius nuisance scales the neutron radius of every convention.
    """
    form_factor(kind)  # validates the name
    if kind == "helm_a13":
        r = helm_a13_rms_radius_fm(isotope.z + isotope.n)
        return r, r
    return isotope.proton_radius_fm, isotope.neutron_radius_fm


def momentum_transfer_fm_inv(recoil_mev, mass_mev: float, xp=np):
    """|q| = sqrt(2 M T) in fm⁻¹ for recoil energy T (MeV)."""
    return xp.sqrt(2.0 * mass_mev * recoil_mev) / c.HBARC_MEV_FM


def _three_j1_over_x(x, xp):
    """3 j₁(x)/x, with its small-x series where the closed form loses precision."""
    small = 1e-2
    xs = xp.maximum(x, small) if xp is np else xp.maximum(x, small)
    exact = 3.0 * (xp.sin(xs) - xs * xp.cos(xs)) / xs**3
    series = 1.0 - x**2 / 10.0 + x**4 / 280.0
    if xp is np:
        return np.where(x < small, series, exact)
    return xp.switch(x < small, series, exact)


def helm_form_factor(q_fm_inv, r_rms_fm, xp=np, skin_fm: float = c.HELM_SKIN_FM):
    """Helm form factor F(q) for a nucleus of rms radius ``r_rms_fm``; F(0) = 1.

    F(q) = 3 j₁(q R₀)/(q R₀) · exp(−q² s² / 2), with R₀² = 5/3 (R_rms² − 3 s²) and s = 0.9 fm.
    """
    r0 = xp.sqrt(5.0 / 3.0 * (r_rms_fm**2 - 3.0 * skin_fm**2))
    return _three_j1_over_x(q_fm_inv * r0, xp) * xp.exp(-0.5 * (q_fm_inv * skin_fm) ** 2)


def klein_nystrand_form_factor(q_fm_inv, r_rms_fm, xp=np, yukawa_fm: float = KN_YUKAWA_RANGE_FM):
    """Klein–Nystrand form factor: hard sphere ⊗ Yukawa, F(q) = 3 j₁(qR_A)/(qR_A) / (1 + q²a²).

    R_A is set from the rms radius: R_rms² = 3/5 R_A² + 6 a².
    """
    ra = xp.sqrt(5.0 / 3.0 * (r_rms_fm**2 - 6.0 * yukawa_fm**2))
    return _three_j1_over_x(q_fm_inv * ra, xp) / (1.0 + (q_fm_inv * yukawa_fm) ** 2)


def form_factor(kind: str):
    """The form-factor function named ``kind``: ``"helm"`` and ``"helm_a13"`` (the Helm form,
    with radii from :func:`nuclear_radii_fm`) or ``"klein_nystrand"``."""
    if kind in ("helm", "helm_a13"):
        return helm_form_factor
    if kind == "klein_nystrand":
        return klein_nystrand_form_factor
    raise ConfigError(f"form factor {kind!r} unknown; expected one of {FORM_FACTORS}")


def weak_charge(
    z: int,
    n: int,
    f_p,
    f_n,
    sin2_theta_w,
    eps_u=0.0,
    eps_d=0.0,
    convention: str = "tree",
    flavor: str | None = None,
):
    """Q_α for one nucleus and one flavor α, with flavor-diagonal vector NSI ε_αα^{u,d}.

    ``flavor`` is needed by the flavor-dependent couplings conventions
    (:func:`nucleon_couplings`). Works on numpy arrays and on pytensor tensors alike (only
    arithmetic is used).
    """
    gp, gn = nucleon_couplings(sin2_theta_w, convention, flavor)
    return -2.0 * ((gp + 2.0 * eps_u + eps_d) * z * f_p + (gn + eps_u + 2.0 * eps_d) * n * f_n)


def max_recoil_mev(e_nu_mev, mass_mev: float):
    """Kinematic end point T_max = 2E² / (M + 2E), MeV."""
    e = np.asarray(e_nu_mev, float)
    return 2.0 * e**2 / (mass_mev + 2.0 * e)


def kinematic_factor(e_nu_mev, recoil_mev, mass_mev: float):
    """(1 − M T / (2 E²) − T / E), clipped at 0 beyond the end point (numpy, broadcasting)."""
    e = np.asarray(e_nu_mev, float)
    t = np.asarray(recoil_mev, float)
    return np.clip(1.0 - mass_mev * t / (2.0 * e**2) - t / e, 0.0, None)


def prefactor_cm2_per_mev(mass_mev: float) -> float:
    """G_F² M / (4π) converted to cm²/MeV (multiply by Q² and the kinematic factor)."""
    return c.FERMI_CONSTANT_MEV2**2 * mass_mev / (4.0 * math.pi) * c.HBARC_MEV_CM**2


def differential_cross_section_cm2_per_mev(
    e_nu_mev,
    recoil_mev,
    isotope,
    sin2_theta_w=None,
    r_n_fm=None,
    form="helm",
    convention="tree",
    eps_u=0.0,
    eps_d=0.0,
    flavor=None,
):
    """dσ/dT in cm²/MeV for one isotope (numpy, broadcasting over E and T); ``r_n_fm``
    defaults to the neutron radius of the form-factor convention ``form``."""
    s2w = c.SIN2_THETA_W_LOW_Q2 if sin2_theta_w is None else sin2_theta_w
    rp, rn_nominal = nuclear_radii_fm(isotope, form)
    rn = rn_nominal if r_n_fm is None else r_n_fm
    ff = form_factor(form)
    q = momentum_transfer_fm_inv(np.asarray(recoil_mev, float), isotope.mass_mev)
    fp = ff(q, rp)
    fn = ff(q, rn)
    qw = weak_charge(isotope.z, isotope.n, fp, fn, s2w, eps_u, eps_d, convention, flavor)
    return (
        prefactor_cm2_per_mev(isotope.mass_mev)
        * qw**2
        * kinematic_factor(e_nu_mev, recoil_mev, isotope.mass_mev)
    )


def total_cross_section_cm2(e_nu_mev: float, isotope, n_nodes: int = 4000, **kwargs) -> float:
    """σ(E) = ∫₀^{T_max} dσ/dT dT in cm² for one isotope, by Gauss–Legendre quadrature."""
    t_max = float(max_recoil_mev(e_nu_mev, isotope.mass_mev))
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    t = 0.5 * t_max * (x + 1.0)
    return float(
        0.5
        * t_max
        * np.sum(w * differential_cross_section_cm2_per_mev(e_nu_mev, t, isotope, **kwargs))
    )


def neutron_skin_fm(isotope, r_n_scale, kind: str = "helm"):
    """(R_n, R_n − R_p) in fm for neutron-radius scales ``r_n_scale`` (numpy, broadcasting):
    R_n = r_n_scale × the nominal neutron rms radius of the form-factor convention ``kind``
    and R_p its proton rms radius (:func:`nuclear_radii_fm`), so the skin is that of the
    distributions the form factors describe."""
    rp, rn = nuclear_radii_fm(isotope, kind)
    r = np.asarray(r_n_scale, float) * rn
    return r, r - rp
