"""The registry of forward-model parameters: names, nominal values, units, bounds, labels.

Every parameter the forward graph understands is listed here once, with the facts that do not
depend on an analysis. Analyses (``models/*.toml``) choose which are free, which are parameters
of interest, and their priors; the priors (and the constraint terms of the profile likelihood,
which are the same priors) live only there (:class:`~cevns_bayes.model.statistical.
StatisticalModel`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError


@dataclass(frozen=True)
class Parameter:
    """A forward-model parameter.

    Attributes:
        name: its name in specs, graphs and results.
        nominal: its value when an analysis does not free or fix it.
        unit: its unit ("" when dimensionless; "sigma" for PCA modes in units of their 1σ).
        description: what it is.
        lower, upper: the physical range (None: unbounded); a prior must stay inside it.
        label: the axis label of figures.
    """

    name: str
    nominal: float
    unit: str
    description: str
    lower: float | None = None
    upper: float | None = None
    label: str = ""


PARAMETERS: tuple[Parameter, ...] = (
    # physics
    Parameter(
        "cevns_norm",
        1.0,
        "",
        "multiplier of the CEvNS prediction (the xsec POI enters "
        "through it as sigma / <sigma>_SM(R_n))",
        lower=0.0,
        label="CEvNS normalization",
    ),
    Parameter(
        "sin2_theta_w",
        c.SIN2_THETA_W_LOW_Q2,
        "",
        "weak mixing angle at low Q^2",
        lower=0.0,
        upper=1.0,
        label=r"$\sin^2\theta_W$",
    ),
    Parameter(
        "scale_mu",
        1.0,
        "",
        "scale of the nu_mu and anti-nu_mu CEvNS rates",
        lower=0.0,
        label=r"$\sigma_\mu/\sigma_\mu^{SM}$",
    ),
    Parameter(
        "scale_e",
        1.0,
        "",
        "scale of the nu_e CEvNS rate",
        lower=0.0,
        label=r"$\sigma_e/\sigma_e^{SM}$",
    ),
    Parameter("eps_ee_u", 0.0, "", "vector NSI coupling eps_ee^u", label=r"$\varepsilon_{ee}^{u}$"),
    Parameter("eps_ee_d", 0.0, "", "vector NSI coupling eps_ee^d", label=r"$\varepsilon_{ee}^{d}$"),
    Parameter(
        "eps_mumu_u", 0.0, "", "vector NSI coupling eps_mumu^u", label=r"$\varepsilon_{\mu\mu}^{u}$"
    ),
    Parameter(
        "eps_mumu_d", 0.0, "", "vector NSI coupling eps_mumu^d", label=r"$\varepsilon_{\mu\mu}^{d}$"
    ),
    # systematics (nuisances)
    Parameter(
        "flux_norm",
        1.0,
        "",
        "neutrino flux normalization (0.0848 nu/flavor/POT +-10%)",
        lower=0.0,
        label="flux norm.",
    ),
    Parameter(
        "ssb_norm",
        1.0,
        "",
        "steady-state background normalization (AC data, 2.1%)",
        lower=0.0,
        label="SSB norm.",
    ),
    Parameter(
        "brn_norm",
        1.0,
        "",
        "beam-related neutron normalization (25%)",
        lower=0.0,
        label="BRN norm.",
    ),
    Parameter(
        "nin_norm",
        1.0,
        "",
        "neutrino-induced neutron normalization (35%)",
        lower=0.0,
        label="NIN norm.",
    ),
    Parameter(
        "quench_pca0",
        0.0,
        "sigma",
        "quenching PCA mode 0 (units of its 1 sigma)",
        label="quenching PCA 0 [σ]",
    ),
    Parameter(
        "quench_pca1",
        0.0,
        "sigma",
        "quenching PCA mode 1 (units of its 1 sigma)",
        label="quenching PCA 1 [σ]",
    ),
    Parameter(
        "eff_pca",
        0.0,
        "sigma",
        "energy-efficiency PCA mode (units of its 1 sigma)",
        label="efficiency PCA [σ]",
    ),
    Parameter(
        "r_n_scale",
        1.0,
        "",
        "neutron rms radius relative to nominal (5.01 fm Cs, 4.94 fm I; +-5%)",
        lower=0.5,
        upper=1.5,
        label=r"$R_n/R_n^{nom}$",
    ),
    Parameter(
        "timing_offset_us",
        0.0,
        "us",
        "neutrino (and BRN/NIN) arrival-time offset; free in the paper",
        lower=-1.0,
        upper=1.0,
        label="timing offset [µs]",
    ),
)

PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
_BY_NAME = {p.name: p for p in PARAMETERS}


#: Parameters of interest that are not forward-model parameters but map onto them (the
#: statistical model's job): name -> (unit, description, label)
MAPPED_POIS: dict[str, tuple[str, str, str]] = {
    "sigma": (
        "1e-40 cm2",
        "flux-averaged CEvNS cross section <sigma>_Phi (enters as cevns_norm = sigma / "
        "<sigma>_SM(R_n))",
        r"$\langle\sigma\rangle_\Phi$ [$10^{-40}$ cm$^2$]",
    ),
}


def parameter_facts(name: str) -> tuple[str, str, str]:
    """(unit, description, label) of a forward-model parameter or a mapped POI."""
    if name in MAPPED_POIS:
        return MAPPED_POIS[name]
    par = get_parameter(name)
    return par.unit, par.description, par.label or name


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
