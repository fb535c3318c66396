"""The registry of forward-model parameters: names, nominal values, units, default constraints.

Every parameter the forward graph understands is listed here once. Analyses (``models/*.toml``)
choose which are free, which are parameters of interest and what their priors are; the
``constraint_sd`` given here is the default Gaussian constraint (README, *Bayesian
analyses*) used when a spec does not say otherwise, and ``None`` means unconstrained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError


@dataclass(frozen=True)
class Parameter:
    name: str
    nominal: float
    unit: str
    description: str
    constraint_sd: float | None = None
    lower: float | None = None
    upper: float | None = None


PARAMETERS: tuple[Parameter, ...] = (
    # physics
    Parameter(
        "cevns_norm",
        1.0,
        "",
        "multiplier of the CEvNS prediction (the xsec POI enters "
        "through it as sigma / <sigma>_SM(R_n))",
        None,
        0.0,
    ),
    Parameter(
        "sin2_theta_w", c.SIN2_THETA_W_LOW_Q2, "", "weak mixing angle at low Q^2", None, 0.0, 1.0
    ),
    Parameter("scale_mu", 1.0, "", "scale of the nu_mu and anti-nu_mu CEvNS rates", None, 0.0),
    Parameter("scale_e", 1.0, "", "scale of the nu_e CEvNS rate", None, 0.0),
    Parameter("eps_ee_u", 0.0, "", "vector NSI coupling eps_ee^u"),
    Parameter("eps_ee_d", 0.0, "", "vector NSI coupling eps_ee^d"),
    Parameter("eps_mumu_u", 0.0, "", "vector NSI coupling eps_mumu^u"),
    Parameter("eps_mumu_d", 0.0, "", "vector NSI coupling eps_mumu^d"),
    # systematics (nuisances)
    Parameter(
        "flux_norm", 1.0, "", "neutrino flux normalization (0.0848 nu/flavor/POT +-10%)", 0.10, 0.0
    ),
    Parameter(
        "ssb_norm", 1.0, "", "steady-state background normalization (AC data, 2.1%)", 0.021, 0.0
    ),
    Parameter("brn_norm", 1.0, "", "beam-related neutron normalization (25%)", 0.25, 0.0),
    Parameter("nin_norm", 1.0, "", "neutrino-induced neutron normalization (35%)", 0.35, 0.0),
    Parameter("quench_pca0", 0.0, "sigma", "quenching PCA mode 0 (units of its 1 sigma)", 1.0),
    Parameter("quench_pca1", 0.0, "sigma", "quenching PCA mode 1 (units of its 1 sigma)", 1.0),
    Parameter("eff_pca", 0.0, "sigma", "energy-efficiency PCA mode (units of its 1 sigma)", 1.0),
    Parameter(
        "r_n_scale",
        1.0,
        "",
        "neutron rms radius relative to nominal (5.01 fm Cs, 4.94 fm I; +-5%)",
        0.05,
        0.5,
        1.5,
    ),
    Parameter(
        "timing_offset_us",
        0.0,
        "us",
        "neutrino (and BRN/NIN) arrival-time offset; free in the paper",
        None,
        -1.0,
        1.0,
    ),
)

PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
_BY_NAME = {p.name: p for p in PARAMETERS}


def get_parameter(name: str) -> Parameter:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(
            f"unknown parameter {name!r}; known: {', '.join(PARAMETER_NAMES)}"
        ) from None


def nominal_values() -> dict[str, float]:
    return {p.name: p.nominal for p in PARAMETERS}


def nominal_vector() -> np.ndarray:
    return np.array([p.nominal for p in PARAMETERS], float)


def vector_from_dict(values: dict[str, float]) -> np.ndarray:
    """Parameter vector in registry order: nominal values updated with ``values``."""
    for name in values:
        get_parameter(name)
    return np.array([values.get(p.name, p.nominal) for p in PARAMETERS], float)
