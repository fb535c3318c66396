"""A physics model defined outside the package, as a user would write one.

A flavor-universal neutrino magnetic moment μ_ν adds to CEvNS the incoherent electromagnetic
scattering on the nucleus' protons (Vogel & Engel 1989),

    dσ/dT = (π α² κ² / m_e²) · (1/T − 1/E) · Z² F_p²(q),        μ_ν = κ μ_B,

which has its own kinematic factor, 1/T − 1/E: the model declares it as a moment and returns
its amplitude in units of the CEvNS prefactor G_F² M/(4π). ``mu_nu_demo`` is κ in units of
1e-10. Importing this file registers the model (``[physics] modules`` of a spec does that).
"""

import math

import cevns_bayes
from cevns_bayes import constants as c

#: fine-structure constant at zero momentum transfer (CODATA 2018)
ALPHA = 1.0 / 137.035999084
#: μ_ν unit: 1e-10 Bohr magnetons
UNIT = 1e-10


def em_kernel(e_mev, t_mev, mass_mev, flavor):
    """1/T − 1/E, MeV⁻¹ (the same for every flavor and nucleus)."""
    return 1.0 / t_mev - 1.0 / e_mev


def magnetic_rate_mev(kappa, z, f_p, mass_mev):
    """The amplitude A with dσ/dT = G_F² M/(4π) · (1/T − 1/E) · A (MeV; numpy or tensors)."""
    em = math.pi * ALPHA**2 * (kappa * UNIT) ** 2 / c.ELECTRON_MASS_MEV**2 * z**2 * f_p**2
    return em / (c.FERMI_CONSTANT_MEV2**2 * mass_mev / (4.0 * math.pi))


class MagneticMomentDemo(cevns_bayes.PhysicsModel):
    name = "magnetic_moment_demo"
    description = "flavor-universal neutrino magnetic moment (a user's plug-in)"
    parameters = (
        cevns_bayes.Parameter(
            "mu_nu_demo",
            0.0,
            "1e-10 mu_B",
            "neutrino magnetic moment, all flavors",
            lower=0.0,
            upper=1000.0,
            label=r"$\mu_\nu$ [$10^{-10}\,\mu_B$]",
        ),
    )

    def moments(self):
        return {"em": cevns_bayes.Moment(em_kernel, "1/T - 1/E")}

    def rate_terms(self, ctx, q2):
        kappa = ctx.value("mu_nu_demo")
        return {"em": magnetic_rate_mev(kappa, ctx.z, ctx.f_p, ctx.mass_mev)}


MODEL = cevns_bayes.register_physics_model(MagneticMomentDemo(), replace=True)
