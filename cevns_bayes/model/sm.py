"""The Standard-Model value of a parameter (the truth of SM toys, the SM point of figures)."""

from __future__ import annotations

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError
from cevns_bayes.model.parameters import get_parameter, parameter_owner


def sm_value(name: str, model=None) -> float:
    """The SM value of parameter ``name``: σ_SM of the forward ``model`` for ``sigma``,
    sin²θ_W(low Q²) = 0.23857, 1 for the flavor scales and the neutron-radius scales, the
    physics model's ``SM_VALUES_THEORY`` where it has one (the one-loop neutrino charge radii),
    else the registry's nominal value, which is the SM for every new-physics parameter
    (couplings, moments, mixings: 0)."""
    if name == "sigma":
        if model is None:
            raise ConfigError("the SM cross section needs the forward model")
        return float(model.evaluate()["sigma_sm_total_1e40cm2"])
    if name == "sin2_theta_w":
        return float(c.SIN2_THETA_W_LOW_Q2)
    if name.startswith("scale_"):
        return 1.0
    if name.startswith("eps_"):
        return 0.0
    owner = parameter_owner(name)
    if owner is not None:
        from cevns_bayes.physics.plugins import get_physics_model

        theory = getattr(get_physics_model(owner), "SM_VALUES_THEORY", None) or {}
        if name in theory:
            return float(theory[name])
    try:
        nominal = get_parameter(name).nominal
    except ConfigError:
        nominal = None
    if nominal is None:
        raise ConfigError(f"no SM value known for {name!r}")
    return float(nominal)
