"""The registry of parameters: names, nominal values, units, bounds, labels, roles.

Every parameter a forward model understands is listed here once, with the facts that do not
depend on an analysis. The detector, flux and background parameters (the nuisances) and the
CEvNS normalization are the core, defined in this module; the physics parameters (⟨σ⟩_Φ,
sin²θ_W, the flavored scales, the NSI couplings, and whatever a user adds) are declared by the
physics models that use them (:mod:`cevns_bayes.physics.plugins`) and registered here when the
model is registered. Analyses (``models/*.toml``) choose which are free, which are parameters
of interest, and their priors; the priors (and the constraint terms of the profile likelihood,
which are the same priors) live only there (:class:`~cevns_bayes.model.statistical.
StatisticalModel`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from cevns_bayes.errors import ConfigError

#: What a parameter usually is (:class:`Parameter`)
ROLES = ("poi", "nuisance", "internal")
_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


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
        role: ``"poi"`` (a physics parameter, usually a parameter of interest), ``"nuisance"``
            (a systematic) or ``"internal"`` (set by the package, e.g. the CEvNS
            normalization, which specs may only fix). A spec may free a ``poi`` or
            ``nuisance`` parameter in either table: the role is what it usually is.
        nominal: ``None`` when the value is the prediction of the model itself (⟨σ⟩_Φ is
            the SM one unless given).
    """

    name: str
    nominal: float | None
    unit: str
    description: str
    lower: float | None = None
    upper: float | None = None
    label: str = ""
    role: str = "poi"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise ConfigError(f"parameter name {self.name!r} must match [a-z][a-z0-9_]*")
        if self.role not in ROLES:
            raise ConfigError(
                f"parameter {self.name!r}: role {self.role!r} unknown; expected one of {ROLES}"
            )
        lo = -np.inf if self.lower is None else float(self.lower)
        hi = np.inf if self.upper is None else float(self.upper)
        if not lo < hi:
            raise ConfigError(f"parameter {self.name!r}: lower {lo} must be below upper {hi}")
        if self.nominal is not None and not (
            np.isfinite(self.nominal) and lo <= float(self.nominal) <= hi
        ):
            raise ConfigError(
                f"parameter {self.name!r}: nominal {self.nominal!r} must be finite and inside "
                f"[{lo}, {hi}]"
            )


#: The core parameters: the CEvNS normalization and the systematics (nuisances) of the CsI
#: analysis. Physics parameters come with their physics models (module docstring).
CORE_PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "cevns_norm",
        1.0,
        "",
        "multiplier of the CEvNS prediction (1: the prediction of the spec's physics; 0: the "
        "background-only hypothesis)",
        lower=0.0,
        label="CEvNS normalization",
        role="internal",
    ),
    # systematics (nuisances)
    Parameter(
        "flux_norm",
        1.0,
        "",
        "neutrino flux normalization (0.0848 nu/flavor/POT +-10%)",
        lower=0.0,
        label="flux norm.",
        role="nuisance",
    ),
    Parameter(
        "ssb_norm",
        1.0,
        "",
        "steady-state background normalization (AC data, 2.1%)",
        lower=0.0,
        label="SSB norm.",
        role="nuisance",
    ),
    Parameter(
        "brn_norm",
        1.0,
        "",
        "beam-related neutron normalization (25%)",
        lower=0.0,
        label="BRN norm.",
        role="nuisance",
    ),
    Parameter(
        "nin_norm",
        1.0,
        "",
        "neutrino-induced neutron normalization (35%)",
        lower=0.0,
        label="NIN norm.",
        role="nuisance",
    ),
    Parameter(
        "quench_pca0",
        0.0,
        "sigma",
        "quenching PCA mode 0 (units of its 1 sigma)",
        label="quenching PCA 0 [σ]",
        role="nuisance",
    ),
    Parameter(
        "quench_pca1",
        0.0,
        "sigma",
        "quenching PCA mode 1 (units of its 1 sigma)",
        label="quenching PCA 1 [σ]",
        role="nuisance",
    ),
    Parameter(
        "eff_pca",
        0.0,
        "sigma",
        "energy-efficiency PCA mode (units of its 1 sigma)",
        label="efficiency PCA [σ]",
        role="nuisance",
    ),
    Parameter(
        "r_n_scale",
        1.0,
        "",
        "neutron rms radius relative to nominal (5.01 fm Cs, 4.94 fm I; +-5%)",
        lower=0.5,
        upper=1.5,
        label=r"$R_n/R_n^{nom}$",
        role="nuisance",
    ),
    Parameter(
        "r_n_scale_cs",
        1.0,
        "",
        "133Cs neutron rms radius relative to nominal, on top of r_n_scale (analyses that free "
        "each nucleus' radius drop r_n_scale; the product must stay in [0.5, 1.5])",
        lower=0.5,
        upper=1.5,
        label=r"$R_n^{Cs}/R_n^{Cs,nom}$",
        role="poi",
    ),
    Parameter(
        "r_n_scale_i",
        1.0,
        "",
        "127I neutron rms radius relative to nominal, on top of r_n_scale",
        lower=0.5,
        upper=1.5,
        label=r"$R_n^{I}/R_n^{I,nom}$",
        role="poi",
    ),
    Parameter(
        "timing_offset_us",
        0.0,
        "us",
        "neutrino (and BRN/NIN) arrival-time offset; free in the paper",
        lower=-1.0,
        upper=1.0,
        label="timing offset [µs]",
        role="nuisance",
    ),
)

_BY_NAME: dict[str, Parameter] = {p.name: p for p in CORE_PARAMETERS}
#: name -> the physics model that declared it (absent for the core)
_OWNER: dict[str, str] = {}


def register_parameters(parameters: Iterable[Parameter], owner: str) -> None:
    """Add the parameters a physics model declares (:mod:`cevns_bayes.physics.plugins` calls
    this when a model is registered); a name already taken by another owner is an error."""
    parameters = tuple(parameters)
    for par in parameters:
        if not isinstance(par, Parameter):
            raise ConfigError(
                f"physics model {owner!r}: parameters must be Parameter objects, got {par!r}"
            )
        taken = _BY_NAME.get(par.name)
        if taken is not None and _OWNER.get(par.name) != owner:
            who = _OWNER.get(par.name, "the core registry")
            raise ConfigError(
                f"physics model {owner!r}: parameter {par.name!r} is already declared by {who}"
            )
    for par in parameters:
        _BY_NAME[par.name] = par
        _OWNER[par.name] = owner


def unregister_parameters(owner: str) -> None:
    """Remove the parameters of one physics model (when it is replaced or unregistered)."""
    for name in [n for n, o in _OWNER.items() if o == owner]:
        del _BY_NAME[name]
        del _OWNER[name]


def all_parameters() -> tuple[Parameter, ...]:
    """Every registered parameter: the core, then each physics model's in registration order."""
    return tuple(_BY_NAME.values())


def parameter_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def parameter_owner(name: str) -> str | None:
    """The physics model that declared ``name`` (None for a core parameter)."""
    get_parameter(name)
    return _OWNER.get(name)


def parameter_facts(name: str) -> tuple[str, str, str]:
    """(unit, description, label) of a parameter."""
    par = get_parameter(name)
    return par.unit, par.description, par.label or name


def get_parameter(name: str) -> Parameter:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(
            f"unknown parameter {name!r}; known: {', '.join(parameter_names())}"
        ) from None


def parameter_bounds(name: str) -> tuple[float, float]:
    """Allowed range of a parameter (±inf where unbounded)."""
    p = get_parameter(name)
    return (
        -np.inf if p.lower is None else float(p.lower),
        np.inf if p.upper is None else float(p.upper),
    )
