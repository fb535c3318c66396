"""A test-local plug-in with a fixed "mass" and a free coupling, for the exclusion scan.

An incoherent term on the magnetic-moment kernel 1/T − 1/E (as nu_magnetic_moment.py) whose
strength falls with a mediator-like mass: amplitude ∝ g² / (1 + (m / 10 MeV)²). Only the
scan's mechanics are under test, not the physics.
"""

import cevns_bayes
from cevns_bayes import constants as c


def em_kernel(e_mev, t_mev, mass_mev, flavor):
    return 1.0 / t_mev - 1.0 / e_mev


class ToyMediator(cevns_bayes.PhysicsModel):
    name = "toy_mediator"
    description = "an incoherent term suppressed by a mass (a test of cevns-bayes scan)"
    parameters = (
        cevns_bayes.Parameter(
            "g_toy", 0.0, "", "toy coupling", lower=0.0, upper=1000.0, label=r"$g_{toy}$"
        ),
        cevns_bayes.Parameter(
            "m_toy_mev", 10.0, "MeV", "toy mass", lower=1.0, upper=1000.0, label=r"$m$ [MeV]"
        ),
    )

    def moments(self):
        return {"em": cevns_bayes.Moment(em_kernel, "1/T - 1/E")}

    def rate_terms(self, ctx, q2):
        g, m = ctx.value("g_toy"), ctx.value("m_toy_mev")
        strength = (g * 1e-10) ** 2 / (1.0 + (m / 10.0) ** 2)
        em = 3.14159 / 137.036**2 * strength / c.ELECTRON_MASS_MEV**2 * ctx.z**2 * ctx.f_p**2
        return {"em": em / (c.FERMI_CONSTANT_MEV2**2 * ctx.mass_mev / (4.0 * 3.14159))}


MODEL = cevns_bayes.register_physics_model(ToyMediator(), replace=True)
