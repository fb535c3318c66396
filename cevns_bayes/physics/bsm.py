"""Physics beyond the SM on the plug-in interface (docs/physics.md §9).

Five physics models (:mod:`cevns_bayes.physics.plugins`), registered when this module is
imported (``import cevns_bayes`` does it); they are not among the built-in models that every
forward graph holds, so a graph holds one only when a spec uses its parameters:

==================  ==========================  ===============================================
model               parameters                  hook
==================  ==========================  ===============================================
``light_vector``    g_zprime, m_zprime_mev      ΔQ: a q²-dependent NSI (universal couplings)
``light_vector_bl`` g_bl, m_bl_mev              ΔQ: the same with B−L couplings
``light_scalar``    g_phi, m_phi_mev            a rate term with the kernel T/E²
``magnetic_moment`` mu_nu_e, mu_nu_mu, mu_nu    a rate term with the kernel 1/T − 1/E
``charge_radius``   r2_nu_e, r2_nu_mu           ΔQ: a shift of g_V^p per flavor
==================  ==========================  ===============================================

Sign conventions. The weak charge is the package's (:mod:`cevns_bayes.physics.cross_section`),
Q_α = −2 [(g_V^p + 2 ε_αα^u + ε_αα^d) Z F_p + (g_V^n + ε_αα^u + 2 ε_αα^d) N F_n], positive in
the SM (≈ N F_n); ε > 0 lowers it. Every model here acts on ν and ν̄ of a flavor alike (the
package's convention for NSI: the SM and the new vector amplitude change sign together for
ν̄, so Q² is the same). Units: MeV for masses, energies and q² = 2 M T; cross sections come
out in MeV⁻³ and are converted with (ħc)² by the forward model's prefactor G_F² M/(4π)
(:func:`~cevns_bayes.physics.cross_section.prefactor_cm2_per_mev`), in units of which the
rate terms' amplitudes are written.

Every model leaves the rate exactly unchanged at its nominal parameters (a coupling, moment
or radius of 0; tests/test_bsm.py).
"""

from __future__ import annotations

import math

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError
from cevns_bayes.model.parameters import Parameter
from cevns_bayes.physics.cross_section import FLAVOR_DEPENDENT_COUPLINGS
from cevns_bayes.physics.plugins import Moment, PhysicsModel, register_physics_model

_SQRT2 = math.sqrt(2.0)
#: The CEvNS prefactor G_F² M/(4π) per unit nuclear mass, MeV⁻⁴ (rate terms are amplitudes in
#: units of G_F² M/(4π))
_PREFACTOR_PER_MASS = c.FERMI_CONSTANT_MEV2**2 / (4.0 * math.pi)
#: 1e-32 cm² in MeV⁻²
_CM2_1E32_IN_MEV_M2 = 1e-32 / c.HBARC_MEV_CM**2


# --- light vector mediators ---------------------------------------------------------------------
class LightVector(PhysicsModel):
    """A light vector mediator Z′ of mass m with universal couplings g_u = g_d = g_ν = g.

    Exchanged in the t channel it interferes with the Z and acts as a q²-dependent vector NSI
    of every flavor (ν_e, ν_μ, ν̄_μ alike),

        ε^q(q²) = g_ν g_q / (2√2 G_F (q² + m²)),    q² = 2 M T,
        ΔQ = −2 [(2 ε^u + ε^d) Z F_p + (ε^u + 2 ε^d) N F_n],

    so that for m² ≫ q² it is the NSI model with ε^q = g_ν g_q/(2√2 G_F m²) (a test). Universal
    couplings give ε^u = ε^d > 0: the interference is destructive, and at large enough g the
    weak charge changes sign, so that a second band of couplings can give the SM rate again.
    Formula: e.g. Cadeddu et al., arXiv:2008.05022, and Atzori Corona et al.,
    arXiv:2202.11002 (written here as an ε in the package's NSI sign convention).
    """

    name = "light_vector"
    description = "light vector mediator Z' with universal couplings to quarks and neutrinos"
    coupling = "g_zprime"
    mass = "m_zprime_mev"
    #: g_ν/g and g_q/g (g_u = g_d)
    nu_charge, quark_charge = 1.0, 1.0
    parameters = (
        Parameter(
            "g_zprime",
            0.0,
            "",
            "universal coupling g of the light vector mediator Z' (g_u = g_d = g_nu = g)",
            lower=0.0,
            upper=1.0,
            label=r"$g_{Z'}$",
        ),
        Parameter(
            "m_zprime_mev",
            1.0e4,
            "MeV",
            "mass of the light vector mediator Z'",
            lower=0.01,
            upper=1.0e4,
            label=r"$m_{Z'}$ [MeV]",
        ),
    )

    def epsilon(self, ctx):
        """ε^u = ε^d on the recoil grid, shape (n_iso, 1, n_recoil)."""
        g = ctx.value(self.coupling)
        m = ctx.value(self.mass)
        gg = self.nu_charge * self.quark_charge * g * g
        return gg / (2.0 * _SQRT2 * c.FERMI_CONSTANT_MEV2 * (ctx.q2_mev2 + m * m))

    def charge(self, ctx):
        if not ctx.given(self.coupling):  # g = 0: nothing changes
            return None
        eps = self.epsilon(ctx)  # ε^u = ε^d: 2ε^u + ε^d = ε^u + 2ε^d = 3ε
        return -2.0 * 3.0 * eps * (ctx.z * ctx.f_p + ctx.n * ctx.f_n)


class LightVectorBL(LightVector):
    """A light vector mediator of gauged B−L: g_q = g/3 (baryon number 1/3), g_ν = −g
    (lepton number 1), the same for ν_e and ν_μ. ε^q = −g²/(6√2 G_F (q² + m²)) < 0: the
    interference is constructive, ΔQ = g² (Z F_p + N F_n)/(√2 G_F (q² + m²)) > 0, and the
    weak charge cannot change sign. Formula: Cadeddu et al., arXiv:2008.05022; Atzori Corona
    et al., arXiv:2202.11002."""

    name = "light_vector_bl"
    description = "light vector mediator of gauged B-L (g_q = g/3, g_nu = -g)"
    coupling = "g_bl"
    mass = "m_bl_mev"
    nu_charge, quark_charge = -1.0, 1.0 / 3.0
    parameters = (
        Parameter(
            "g_bl",
            0.0,
            "",
            "gauge coupling g of the B-L vector mediator (g_q = g/3, g_nu = -g)",
            lower=0.0,
            upper=1.0,
            label=r"$g_{B-L}$",
        ),
        Parameter(
            "m_bl_mev",
            1.0e4,
            "MeV",
            "mass of the B-L vector mediator",
            lower=0.01,
            upper=1.0e4,
            label=r"$m_{B-L}$ [MeV]",
        ),
    )


# --- light scalar mediator ----------------------------------------------------------------------
#: Nucleon scalar form factors f_Tq^N = ⟨N|m_q q̄q|N⟩/m_N of the light quarks (Ellis, Ferstl &
#: Olive, Phys. Lett. B 481, 304 (2000), hep-ph/0001005)
SCALAR_FORM_FACTORS = {
    "p": {"u": 0.020, "d": 0.026, "s": 0.118},
    "n": {"u": 0.014, "d": 0.036, "s": 0.118},
}


def scalar_nucleon_charge(nucleon: str) -> float:
    """Σ_q (m_N/m_q) f_Tq^N over all six quarks, for a scalar that couples to every quark with
    the same g (Q_φ = g_ν g (c_p Z + c_n N)).

    Light quarks: :data:`SCALAR_FORM_FACTORS` with the PDG 2022 masses
    (:data:`cevns_bayes.constants.QUARK_MASS_MEV`). Heavy quarks (c, b, t) through the trace
    anomaly, f_TQ = (2/27) f_TG with f_TG = 1 − Σ_{u,d,s} f_Tq (Shifman, Vainshtein & Zakharov,
    Phys. Lett. B 78, 443 (1978)), together (2/9) f_TG. Result: c_p = 15.28, c_n = 14.71,
    against the approximation 14 N + 15.1 Z of docs/physics.md §9 (Cerdeño et al.,
    arXiv:1604.01025, written there as 14 A + 1.1 Z): Q_φ larger by 3.4% for ¹³³Cs.
    """
    f = SCALAR_FORM_FACTORS[nucleon]
    m_n = c.PROTON_MASS_MEV if nucleon == "p" else c.NEUTRON_MASS_MEV
    light = sum(m_n / c.QUARK_MASS_MEV[q] * f[q] for q in ("u", "d", "s"))
    f_tg = 1.0 - sum(f.values())
    return light + 2.0 / 9.0 * f_tg


def scalar_kernel(e_mev, t_mev, mass_mev, flavor):
    """T/E², MeV⁻¹ (every flavor, every nucleus)."""
    return t_mev / e_mev**2


class LightScalar(PhysicsModel):
    """A light scalar mediator φ of mass m with universal couplings g to neutrinos and quarks.

    It flips the neutrino helicity, so it does not interfere with the vector exchange; it adds
    (Cerdeño et al., arXiv:1604.01025, Eq. for the scalar; Farzan et al., JHEP 05 (2018) 066,
    arXiv:1802.05171)

        dσ/dT|_φ = M² T Q_φ²(q) / (4π E² (q² + m²)²),
        Q_φ(q) = g² [c_n N F_n(q) + c_p Z F_p(q)],

    c_p, c_n from :func:`scalar_nucleon_charge`. The nucleus' scalar density is the nucleon
    one: each nucleon type carries its own form factor (F_n moves with R_n), which is Q_φ F
    of §9 when F_p = F_n. Units: M² T/(E² (MeV²)²) = MeV⁻³. As a rate term on the kernel T/E²
    (MeV⁻¹) the amplitude in units of G_F² M/(4π) is A = M Q_φ²/(G_F² (q² + m²)²) (MeV). The
    same for ν and ν̄ of every flavor.
    """

    name = "light_scalar"
    description = "light scalar mediator with universal couplings (no interference)"
    #: Σ_q (m_N/m_q) f_Tq^N of the proton and the neutron (:func:`scalar_nucleon_charge`)
    c_p = scalar_nucleon_charge("p")
    c_n = scalar_nucleon_charge("n")
    parameters = (
        Parameter(
            "g_phi",
            0.0,
            "",
            "universal coupling g of the light scalar mediator to quarks and neutrinos",
            lower=0.0,
            upper=1.0,
            label=r"$g_\phi$",
        ),
        Parameter(
            "m_phi_mev",
            1.0e4,
            "MeV",
            "mass of the light scalar mediator",
            lower=0.01,
            upper=1.0e4,
            label=r"$m_\phi$ [MeV]",
        ),
    )

    def moments(self):
        return {"scalar": Moment(scalar_kernel, "T/E^2")}

    def scalar_charge(self, ctx):
        g = ctx.value("g_phi")
        return g * g * (self.c_n * ctx.n * ctx.f_n + self.c_p * ctx.z * ctx.f_p)

    def rate_terms(self, ctx, q2):
        if not ctx.given("g_phi"):
            return {}
        m = ctx.value("m_phi_mev")
        q_phi = self.scalar_charge(ctx)
        amp = ctx.mass_mev * q_phi**2 / (c.FERMI_CONSTANT_MEV2**2 * (ctx.q2_mev2 + m * m) ** 2)
        return {"scalar": amp}


# --- neutrino magnetic moment -------------------------------------------------------------------
#: The magnetic moments' unit, 1e-10 Bohr magnetons
MAGNETIC_MOMENT_UNIT = 1e-10


def em_kernel(e_mev, t_mev, mass_mev, flavor):
    """1/T − 1/E, MeV⁻¹ (every flavor, every nucleus)."""
    return 1.0 / t_mev - 1.0 / e_mev


def magnetic_cross_section_per_mu2(z, f_p):
    """(π α²/m_e²) Z² F_p² for μ = 1 μ_B (MeV⁻², numpy or tensors): dσ/dT = this ·
    (μ/μ_B)² (1/T − 1/E)."""
    return math.pi * c.FINE_STRUCTURE_CONSTANT**2 / c.ELECTRON_MASS_MEV**2 * z**2 * f_p**2


class MagneticMoment(PhysicsModel):
    """Effective neutrino magnetic moments μ_να (in 1e-10 μ_B): incoherent electromagnetic
    scattering on the nucleus' protons, added to CEvNS (Vogel & Engel, Phys. Rev. D 39, 3378
    (1989); as used on COHERENT data by e.g. Cadeddu et al., arXiv:1908.06045),

        dσ/dT|_μ = (π α²/m_e²) (μ_να/μ_B)² (1/T − 1/E) Z² F_p²(q),

    with the Helm (or the spec's) proton form factor F_p. ``mu_nu_e`` is that of ν_e,
    ``mu_nu_mu`` that of ν_μ and ν̄_μ. ``mu_nu`` is a flavor-universal moment: it applies to
    every flavor and adds to a flavored one in quadrature, μ²_eff,α = μ²_να + μ²_ν (the rate is
    incoherent, linear in μ²); a spec uses either the flavored moments or ``mu_nu`` alone.
    Rate term on the kernel 1/T − 1/E with the amplitude
    A = (π α²/m_e²) μ² Z² F_p² / (G_F² M/(4π)) (MeV).
    """

    name = "magnetic_moment"
    description = "effective neutrino magnetic moments (flavored and universal)"
    #: the flavored moment of each charged-lepton flavor (ν̄_μ shares ν_μ's)
    moment_of = {"e": "mu_nu_e", "mu": "mu_nu_mu"}
    parameters = tuple(
        Parameter(
            name,
            0.0,
            "1e-10 mu_B",
            f"effective neutrino magnetic moment, {what}",
            lower=0.0,
            upper=1000.0,
            label=rf"$\mu_{{{tex}}}$ [$10^{{-10}}\,\mu_B$]",
        )
        for name, what, tex in (
            ("mu_nu_e", "nu_e", r"\nu_e"),
            ("mu_nu_mu", "nu_mu and anti-nu_mu", r"\nu_\mu"),
            ("mu_nu", "every flavor (adds in quadrature to the flavored ones)", r"\nu"),
        )
    )

    def moments(self):
        return {"em": Moment(em_kernel, "1/T - 1/E")}

    def rate_terms(self, ctx, q2):
        given = [p.name for p in self.parameters if ctx.given(p.name)]
        if not given:
            return {}
        rows = {}
        for f, lep in zip(ctx.flavors, ctx.lepton):
            mu2 = 0.0
            for name in (self.moment_of[lep], "mu_nu"):
                if name in given:
                    mu2 = mu2 + ctx.value(name) ** 2
            rows[f] = mu2
        mu2 = ctx.per_flavor(rows) * MAGNETIC_MOMENT_UNIT**2
        per_mu2 = magnetic_cross_section_per_mu2(ctx.z, ctx.f_p)
        coeff = per_mu2 / (_PREFACTOR_PER_MASS * ctx.mass_mev)
        return {"em": mu2 * coeff}


# --- neutrino charge radius ---------------------------------------------------------------------
#: Shift of g_V^p per 1e-32 cm² of ⟨r²_ν⟩: √2 π α/(3 G_F) · 1e-32 cm² (≈ 0.02380)
CHARGE_RADIUS_GVP_PER_1E32CM2 = (
    _SQRT2 * math.pi * c.FINE_STRUCTURE_CONSTANT / (3.0 * c.FERMI_CONSTANT_MEV2)
) * _CM2_1E32_IN_MEV_M2


def sm_charge_radius_1e32cm2(lepton_mass_mev: float) -> float:
    """The SM neutrino charge radius ⟨r²_να⟩ = −G_F/(2√2 π²) [3 − 2 ln(m_α²/m_W²)] in
    1e-32 cm² (Bernabéu, Papavassiliou & Vidal, Phys. Rev. Lett. 89, 101802 (2002),
    hep-ph/0206015): −0.83 (ν_e), −0.48 (ν_μ)."""
    log = math.log(lepton_mass_mev**2 / c.W_MASS_MEV**2)
    r2 = -c.FERMI_CONSTANT_MEV2 / (2.0 * _SQRT2 * math.pi**2) * (3.0 - 2.0 * log)
    return r2 / _CM2_1E32_IN_MEV_M2


class ChargeRadius(PhysicsModel):
    """Neutrino charge radii ⟨r²_να⟩ (1e-32 cm²): the photon exchange shifts the proton coupling,

        g_V^p → g_V^p − (√2 π α/(3 G_F)) ⟨r²_να⟩,   ΔQ_α = 2 (√2 π α/(3 G_F)) ⟨r²_να⟩ Z F_p,

    the same for ν_α and ν̄_α (Bernabéu et al., hep-ph/0206015; Cadeddu et al., Phys. Rev. D
    98, 113010 (2018), arXiv:1810.05606); 1e-32 cm² shifts g_V^p by 0.02380. ``r2_nu_e`` is
    that of ν_e, ``r2_nu_mu`` that of ν_μ and ν̄_μ.

    The couplings conventions ``giunti`` and ``coherent2021`` already hold the SM charge radii
    (their δ_α), so this model refuses them; its spec uses ``no_charge_radius`` (g_V^p =
    0.0227), on which :attr:`SM_VALUES` (⟨r²⟩ = −δ_α/0.02380 with ``giunti``'s δ_α) give
    ``giunti``'s rate exactly. :attr:`SM_VALUES_THEORY` are the one-loop SM values
    (:func:`sm_charge_radius_1e32cm2`), 7% smaller in magnitude than δ_α implies.
    """

    name = "charge_radius"
    description = "neutrino charge radii <r^2_nu_e>, <r^2_nu_mu>"
    radius_of = {"e": "r2_nu_e", "mu": "r2_nu_mu"}
    parameters = tuple(
        Parameter(
            name,
            0.0,
            "1e-32 cm2",
            f"neutrino charge radius <r^2> of {what} (0: none; the SM values are "
            "ChargeRadius.SM_VALUES, with couplings no_charge_radius)",
            lower=-500.0,
            upper=500.0,
            label=rf"$\langle r^2_{{{tex}}}\rangle$ [$10^{{-32}}$ cm$^2$]",
        )
        for name, what, tex in (
            ("r2_nu_e", "nu_e", r"\nu_e"),
            ("r2_nu_mu", "nu_mu and anti-nu_mu", r"\nu_\mu"),
        )
    )
    #: The values that reproduce the ``giunti`` couplings on ``no_charge_radius``:
    #: −δ_α / 0.02380, i.e. −0.8917 (ν_e), −0.5157 (ν_μ)
    SM_VALUES = {
        name: -c.CHARGE_RADIUS_DELTA_CORRECTED[lep] / CHARGE_RADIUS_GVP_PER_1E32CM2
        for lep, name in radius_of.items()
    }
    #: The one-loop SM charge radii: −0.8275 (ν_e), −0.4805 (ν_μ)
    SM_VALUES_THEORY = {
        "r2_nu_e": sm_charge_radius_1e32cm2(c.ELECTRON_MASS_MEV),
        "r2_nu_mu": sm_charge_radius_1e32cm2(c.MUON_MASS_MEV),
    }

    def charge(self, ctx):
        given = [p.name for p in self.parameters if ctx.given(p.name)]
        if not given:
            return None
        if ctx.couplings in FLAVOR_DEPENDENT_COUPLINGS:
            raise ConfigError(
                f"physics model 'charge_radius' ({', '.join(given)}): the couplings convention "
                f"{ctx.couplings!r} already holds the SM charge radii; use couplings "
                "'no_charge_radius' (or 'tree' / 'radiative')"
            )
        rows, of_lepton = {}, {}
        for f, lep in zip(ctx.flavors, ctx.lepton):
            if lep not in of_lepton:
                of_lepton[lep] = ctx.value(self.radius_of[lep])
            rows[f] = of_lepton[lep]
        r2 = ctx.per_flavor(rows)
        return 2.0 * CHARGE_RADIUS_GVP_PER_1E32CM2 * r2 * ctx.z * ctx.f_p


#: The models of this module, registered on import
BSM_MODELS: tuple[PhysicsModel, ...] = (
    LightVector(),
    LightVectorBL(),
    LightScalar(),
    MagneticMoment(),
    ChargeRadius(),
)
for _model in BSM_MODELS:
    register_physics_model(_model, replace=True)
del _model

__all__ = [
    "BSM_MODELS",
    "CHARGE_RADIUS_GVP_PER_1E32CM2",
    "ChargeRadius",
    "LightScalar",
    "LightVector",
    "LightVectorBL",
    "MagneticMoment",
    "scalar_nucleon_charge",
    "sm_charge_radius_1e32cm2",
]
