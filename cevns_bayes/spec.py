"""Analysis specifications: which parameters are free, their priors, binning, model and sampler.

An analysis is a TOML file in ``models/`` (or anywhere, given by path) with the tables

``[analysis]``
    ``name`` (``[a-z0-9_]+``, default: the file stem) and ``description``.
``[physics]`` (optional)
    ``modules``: Python files (relative to the spec) or module names imported first, which
    register physics models (:mod:`cevns_bayes.physics.plugins`); ``models``: physics models
    the analysis uses beyond those whose parameters it names (:attr:`AnalysisSpec.
    physics_models`).
``[pois.<name>]``
    parameters of interest (at least one), each with a prior and an optional ``initial`` value
    (default: the prior's centre). Names: any registered parameter but the internal ones
    (:func:`free_parameter_names`): the physics models' and the nuisances. ``sigma`` is the
    flux-averaged cross section in 1e-40 cm², which scales the SM rate by σ/⟨σ⟩_SM(R_n)
    (README, *Bayesian analyses*); it cannot be combined with other POIs, which change the same
    CEvNS rate.
``[nuisances.<name>]``
    systematic parameters with their priors. Names: :data:`NUISANCE_NAMES` (the core ones;
    a physics parameter may be a nuisance too). **A nuisance that a
    spec does not list is fixed at its registry nominal value**
    (:mod:`cevns_bayes.model.parameters`): deleting a table drops that systematic.
``[fixed]``
    registry parameters held at a value (``name = value``).
``[binning]``
    ``name = "default" | "fine" | "uniform:NPExNT"``, or both ``pe_edges`` (PE) and
    ``t_edges_us`` (µs). Default: ``name = "default"``, the 9 × 11 binning of public reanalyses.
``[model]``
    forward-model options: ``form_factor``, ``couplings``, ``pulse_shape``, ``pulse_fwhm_ns``,
    ``time_efficiency`` (defaults in :data:`MODEL_DEFAULTS`).
``[sampler]``
    NUTS settings (:class:`SamplerSpec`).

Priors (``prior = ...`` and exactly these keys; ints are read as floats, every number must be
finite):

=====================  ==========================================================
``flat``               ``lower``, ``upper`` (both required, ``lower < upper``)
``normal``             ``mu``, ``sigma`` (``sigma > 0``)
``truncated_normal``   ``mu``, ``sigma`` and ``lower`` and/or ``upper``
``lognormal``          ``median > 0``, ``sigma_log > 0`` (the sd of the log)
=====================  ==========================================================

The support of a prior must lie inside the registry bounds of its parameter (``sigma``:
[0, ∞)), so e.g. a plain normal prior on a normalization is rejected in favour of a truncated
normal with ``lower = 0`` or a lognormal. ``multimodal`` folding (see
:mod:`cevns_bayes.inference.bayes`) needs flat POI priors (a box symmetric about its centre) and
at least one ε POI.

Everything is validated on load; errors are :class:`~cevns_bayes.errors.ConfigError` naming the
file and the dotted key at fault, e.g. ``models/x.toml: pois.sigma.lower: expected a number``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError
from cevns_bayes.model.binning import Binning, binning_from_name
from cevns_bayes.model.parameters import (
    CORE_PARAMETERS,
    all_parameters,
    get_parameter,
    parameter_bounds,
    parameter_names,
)
from cevns_bayes.physics import plugins
from cevns_bayes.physics.cross_section import COUPLING_CONVENTIONS, FORM_FACTORS
from cevns_bayes.physics.flux import PULSE_SHAPES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib

#: The core nuisance parameters (the systematics of the CsI analysis, in the registry)
NUISANCE_NAMES = tuple(p.name for p in CORE_PARAMETERS if p.role == "nuisance")


def free_parameter_names() -> tuple[str, ...]:
    """Parameters a spec may free, as a POI or a nuisance: every registered one but the
    internal ones (the core's and every registered physics model's)."""
    return tuple(p.name for p in all_parameters() if p.role != "internal")


PRIOR_KINDS = ("flat", "normal", "truncated_normal", "lognormal")
#: Keys of each prior kind besides ``prior``: (required, optional)
PRIOR_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "flat": (("lower", "upper"), ()),
    "normal": (("mu", "sigma"), ()),
    "truncated_normal": (("mu", "sigma"), ("lower", "upper")),
    "lognormal": (("median", "sigma_log"), ()),
}
_PRIOR_FIELDS = ("mu", "sigma", "lower", "upper", "median", "sigma_log")
#: Smallest probability a truncated normal may keep of its parent normal
_MIN_TRUNCATED_MASS = 1e-9

#: Forward-model options and their defaults (see :class:`cevns_bayes.model.ForwardModel`)
MODEL_DEFAULTS: dict[str, Any] = {
    "form_factor": "helm",
    "couplings": "tree",
    "pulse_shape": "gaussian",
    "pulse_fwhm_ns": c.PROTON_PULSE_FWHM_NS,
    "time_efficiency": True,
}
SAMPLER_BACKENDS = ("pymc", "nutpie")
#: NUTS mass matrix adapted in tuning: diagonal, or dense (for posteriors with strongly
#: correlated parameters, such as the NSI bands; nutpie's low-rank modified matrix)
MASS_MATRICES = ("diag", "full")
MULTIMODAL_METHODS = ("none", "point_reflection", "axis_reflection")

TOP_LEVEL_TABLES = (
    "analysis",
    "physics",
    "pois",
    "nuisances",
    "fixed",
    "binning",
    "model",
    "sampler",
    "scan",
)
_NAME_RE = re.compile(r"[a-z0-9_]+")
#: Environment variable that points :func:`load_spec` at another folder of specs
MODELS_DIR_ENV = "CEVNS_BAYES_MODELS_DIR"


class _KeyProblem(Exception):
    """A problem with one key; turned into a :class:`ConfigError` once the source is known."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _fail(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {message}" if key else f"{source}: {message}")


def _fmt(x: float) -> str:
    return f"{x:g}"


# --- priors -----------------------------------------------------------------------------------
def _prior_problem(kind: str, values: Mapping[str, float | None]) -> tuple[str, str] | None:
    """The first inconsistency of a prior as (key, message), or None. Values are floats."""
    if kind not in PRIOR_KINDS:
        return "prior", f"unknown prior {kind!r}; expected one of {', '.join(PRIOR_KINDS)}"
    required, optional = PRIOR_KEYS[kind]
    for key in _PRIOR_FIELDS:
        v = values.get(key)
        if v is None:
            if key in required:
                return key, f"required by a {kind} prior"
            continue
        if key not in required + optional:
            allowed = ", ".join(("prior", *required, *optional))
            return key, f"not a key of a {kind} prior (allowed: {allowed})"
        if not math.isfinite(v):
            return key, f"must be finite, got {v!r}"
    lo, hi = values.get("lower"), values.get("upper")
    if kind == "truncated_normal" and lo is None and hi is None:
        return "lower", "a truncated_normal prior needs lower and/or upper"
    if lo is not None and hi is not None and not lo < hi:
        return "upper", f"must be greater than lower ({_fmt(lo)}), got {_fmt(hi)}"
    for key in ("sigma", "median", "sigma_log"):
        v = values.get(key)
        if v is not None and v <= 0:
            return key, f"must be > 0, got {_fmt(v)}"
    if kind == "truncated_normal":
        from scipy import stats

        mu, sd = values["mu"], values["sigma"]
        a = -math.inf if lo is None else (lo - mu) / sd
        b = math.inf if hi is None else (hi - mu) / sd
        # upper-tail probabilities stay accurate when both bounds sit far above mu
        mass = (
            stats.norm.sf(a) - stats.norm.sf(b) if a > 0 else stats.norm.cdf(b) - stats.norm.cdf(a)
        )
        if not mass > _MIN_TRUNCATED_MASS:
            shown = (
                f"[{_fmt(-math.inf if lo is None else lo)}, {_fmt(math.inf if hi is None else hi)}]"
            )
            return "mu", (
                f"the truncation {shown} keeps almost none of the normal({_fmt(mu)}, "
                f"{_fmt(sd)}); move mu or the bounds"
            )
    return None


@dataclass(frozen=True)
class Prior:
    """A one-dimensional prior: ``flat``, ``normal``, ``truncated_normal`` or ``lognormal``.

    Only the fields of its kind are set (see the module docstring); the rest are None.
    ``lognormal`` is parametrized by its ``median`` and ``sigma_log`` (the sd of log x).
    """

    kind: str
    mu: float | None = None
    sigma: float | None = None
    lower: float | None = None
    upper: float | None = None
    median: float | None = None
    sigma_log: float | None = None

    def __post_init__(self) -> None:
        for key in _PRIOR_FIELDS:
            v = getattr(self, key)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise ConfigError(f"{self.kind} prior: {key}: expected a number, got {v!r}")
            object.__setattr__(self, key, float(v))
        problem = _prior_problem(self.kind, self._values())
        if problem is not None:
            raise ConfigError(f"{self.kind} prior: {problem[0]}: {problem[1]}")

    def _values(self) -> dict[str, float | None]:
        return {key: getattr(self, key) for key in _PRIOR_FIELDS}

    @property
    def support(self) -> tuple[float, float]:
        """(lowest, highest) value with non-zero density; may be ±inf."""
        if self.kind == "flat":
            return self.lower, self.upper
        if self.kind == "truncated_normal":
            lo = -math.inf if self.lower is None else self.lower
            hi = math.inf if self.upper is None else self.upper
            return lo, hi
        if self.kind == "lognormal":
            return 0.0, math.inf
        return -math.inf, math.inf

    @property
    def center(self) -> float:
        """A representative value: flat midpoint, normal mu (clipped into the support),
        lognormal median."""
        if self.kind == "flat":
            return 0.5 * (self.lower + self.upper)
        if self.kind == "lognormal":
            return self.median
        lo, hi = self.support
        return float(min(max(self.mu, lo), hi))

    @property
    def width(self) -> float:
        """A scale: flat (upper − lower)/√12, normal sigma, lognormal median · sigma_log."""
        if self.kind == "flat":
            return (self.upper - self.lower) / math.sqrt(12.0)
        if self.kind == "lognormal":
            return self.median * self.sigma_log
        return self.sigma

    def default_initial(self) -> float:
        """Where sampling starts by default: the centre, or the median when the centre sits on
        an edge of the support (the sampler's transformed space puts the edges at infinity)."""
        lo, hi = self.support
        x = self.center
        if lo < x < hi:
            return x
        return float(self.distribution().median())

    def distribution(self):
        """The frozen :mod:`scipy.stats` distribution of this prior."""
        from scipy import stats

        if self.kind == "flat":
            return stats.uniform(loc=self.lower, scale=self.upper - self.lower)
        if self.kind == "normal":
            return stats.norm(loc=self.mu, scale=self.sigma)
        if self.kind == "truncated_normal":
            lo, hi = self.support
            a, b = (lo - self.mu) / self.sigma, (hi - self.mu) / self.sigma
            return stats.truncnorm(a, b, loc=self.mu, scale=self.sigma)
        return stats.lognorm(s=self.sigma_log, scale=self.median)

    def logpdf(self, x) -> np.ndarray:
        """Normalized log density at ``x`` (truncation included); −inf outside the support."""
        x = np.asarray(x, float)
        lo, hi = self.support
        out = np.asarray(self.distribution().logpdf(x), float)
        return np.where((x >= lo) & (x <= hi), out, -np.inf)

    def sample(self, rng: np.random.Generator, size=None) -> np.ndarray:
        """Draws from the prior (for pseudo-experiments)."""
        return np.asarray(self.distribution().rvs(size=size, random_state=rng), float)

    def pymc(self, name: str, **kwargs):
        """The PyMC random variable of this prior, created in the current model context.

        ``kwargs`` (e.g. ``initval``, ``dims``) are passed through.
        """
        import pymc as pm

        if self.kind == "flat":
            return pm.Uniform(name, lower=self.lower, upper=self.upper, **kwargs)
        if self.kind == "normal":
            return pm.Normal(name, mu=self.mu, sigma=self.sigma, **kwargs)
        if self.kind == "truncated_normal":
            return pm.TruncatedNormal(
                name, mu=self.mu, sigma=self.sigma, lower=self.lower, upper=self.upper, **kwargs
            )
        return pm.LogNormal(name, mu=math.log(self.median), sigma=self.sigma_log, **kwargs)

    def as_dict(self) -> dict[str, Any]:
        """The TOML form: ``{"prior": kind, <key>: value, ...}``."""
        out: dict[str, Any] = {"prior": self.kind}
        out.update({k: v for k, v in self._values().items() if v is not None})
        return out

    def __str__(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self._values().items() if v is not None)
        return f"{self.kind}({args})"


@dataclass(frozen=True)
class PoiSpec:
    """A parameter of interest: its prior, the sampler's starting value and its units."""

    name: str
    prior: Prior
    initial: float
    units: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "initial", float(self.initial))


@dataclass(frozen=True)
class SamplerSpec:
    """NUTS settings. ``multimodal`` chooses the reflection folding of NSI posteriors."""

    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.9
    seed: int = 20211
    backend: str = "pymc"
    multimodal: str = "none"
    mass_matrix: str = "diag"

    def __post_init__(self) -> None:
        try:
            _check_sampler_values(self)
        except _KeyProblem as err:
            raise ConfigError(f"sampler.{err.key}: {err.message}") from None
        object.__setattr__(self, "target_accept", float(self.target_accept))


def _check_sampler_values(s: SamplerSpec) -> None:
    for key, least in (("chains", 1), ("draws", 1), ("tune", 0), ("seed", 0)):
        v = getattr(s, key)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise _KeyProblem(key, f"expected an integer, got {v!r}")
        if v < least:
            raise _KeyProblem(key, f"must be >= {least}, got {v}")
    t = s.target_accept
    if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
        raise _KeyProblem("target_accept", f"expected a number, got {t!r}")
    if not 0.0 < t < 1.0:
        raise _KeyProblem("target_accept", f"must be strictly between 0 and 1, got {t!r}")
    if s.backend not in SAMPLER_BACKENDS:
        raise _KeyProblem("backend", f"{s.backend!r} unknown; expected one of {SAMPLER_BACKENDS}")
    if s.multimodal not in MULTIMODAL_METHODS:
        raise _KeyProblem(
            "multimodal", f"{s.multimodal!r} unknown; expected one of {MULTIMODAL_METHODS}"
        )
    if s.mass_matrix not in MASS_MATRICES:
        raise _KeyProblem(
            "mass_matrix", f"{s.mass_matrix!r} unknown; expected one of {MASS_MATRICES}"
        )


# --- whole-spec checks --------------------------------------------------------------------------
def _bounds_problem(name: str, prior: Prior) -> tuple[str, str] | None:
    """(key, message) when the support of ``prior`` leaves the allowed range of ``name``."""
    lo_ok, hi_ok = parameter_bounds(name)
    lo, hi = prior.support
    below, above = lo < lo_ok, hi > hi_ok
    if not (below or above):
        return None
    allowed = f"[{_fmt(lo_ok)}, {_fmt(hi_ok)}]"
    what = f"the {prior.kind} prior's support [{_fmt(lo)}, {_fmt(hi)}] extends outside {allowed}"
    what += f", the allowed range of {name}"
    if prior.kind in ("flat", "truncated_normal") and (
        (below and prior.lower is not None) or (above and prior.upper is not None)
    ):
        key = "lower" if below and prior.lower is not None else "upper"
        keep = [f"lower >= {_fmt(lo_ok)}"] if math.isfinite(lo_ok) else []
        keep += [f"upper <= {_fmt(hi_ok)}"] if math.isfinite(hi_ok) else []
        return key, f"{what}; keep {' and '.join(keep)}"
    bounds = []
    if math.isfinite(lo_ok):
        bounds.append(f"lower = {_fmt(lo_ok)}")
    if math.isfinite(hi_ok):
        bounds.append(f"upper = {_fmt(hi_ok)}")
    fix = f"use truncated_normal with {' and '.join(bounds)}"
    if lo_ok == 0.0 and not math.isfinite(hi_ok) and prior.kind != "lognormal":
        fix += ", or lognormal"
    return "prior", f"{what}; {fix}"


def _check_initial(prior: Prior, initial: float) -> str | None:
    lo, hi = prior.support
    if not math.isfinite(initial):
        return f"must be finite, got {initial!r}"
    if not lo < initial < hi:
        return (
            f"{_fmt(initial)} is not strictly inside the prior's support ({_fmt(lo)}, {_fmt(hi)})"
        )
    return None


def _check_spec_parts(
    source: str,
    pois: Mapping[str, PoiSpec],
    nuisances: Mapping[str, Prior],
    fixed: Mapping[str, float],
    sampler: SamplerSpec,
) -> None:
    """Checks that involve more than one key; raises :class:`ConfigError` naming ``source``."""
    if not pois:
        raise _fail(
            source, "pois", f"at least one POI is required; known: {', '.join(_poi_choices())}"
        )
    for name, poi in pois.items():
        if name not in free_parameter_names():
            raise _fail(source, f"pois.{name}", f"unknown POI; known: {', '.join(_poi_choices())}")
        problem = _bounds_problem(name, poi.prior)
        if problem is not None:
            raise _fail(source, f"pois.{name}.{problem[0]}", problem[1])
        message = _check_initial(poi.prior, poi.initial)
        if message is not None:
            raise _fail(source, f"pois.{name}.initial", message)
    if "sigma" in pois and len(pois) > 1:
        others = ", ".join(n for n in pois if n != "sigma")
        raise _fail(
            source,
            "pois.sigma",
            f"sigma sets the whole CEvNS normalization and cannot be combined with {others}",
        )
    for name, prior in nuisances.items():
        if name not in free_parameter_names():
            raise _fail(
                source, f"nuisances.{name}", f"unknown nuisance; known: {', '.join(NUISANCE_NAMES)}"
            )
        problem = _bounds_problem(name, prior)
        if problem is not None:
            raise _fail(source, f"nuisances.{name}.{problem[0]}", problem[1])
    for name, value in fixed.items():
        if name not in parameter_names():
            raise _fail(
                source, f"fixed.{name}", f"unknown parameter; known: {', '.join(parameter_names())}"
            )
        if name in pois or name in nuisances:
            where = "pois" if name in pois else "nuisances"
            raise _fail(source, f"fixed.{name}", f"{name} is also listed in [{where}]")
        if name == "cevns_norm" and "sigma" in pois:
            raise _fail(
                source,
                "fixed.cevns_norm",
                "cannot be fixed when sigma is a POI (sigma sets cevns_norm)",
            )
        lo, hi = parameter_bounds(name)
        if not (math.isfinite(value) and lo <= value <= hi):
            raise _fail(
                source,
                f"fixed.{name}",
                f"{_fmt(value)} is outside the allowed range [{_fmt(lo)}, {_fmt(hi)}]",
            )
    if sampler.multimodal != "none":
        key = "sampler.multimodal"
        for name, poi in pois.items():
            if poi.prior.kind != "flat":
                raise _fail(
                    source,
                    key,
                    f"{sampler.multimodal!r} needs a flat prior on every POI (the reflections "
                    f"map a box onto itself about its centre); pois.{name} is {poi.prior.kind}",
                )
        if not any(name.startswith(("eps_", "r2_nu_")) for name in pois):
            raise _fail(
                source,
                key,
                f"{sampler.multimodal!r} folds posteriors whose bands are the signs of weak "
                "charges and needs at least one eps_* or r2_nu_* POI",
            )


# --- a scan over a fixed parameter (exclusion curves) -------------------------------------------
#: How ``[scan]`` gives the scanned values (exactly one of them)
SCAN_VALUE_KEYS = ("values", "log_range", "range")
#: How the POI's prior box follows the scanned value (``[scan] box``): ``fixed`` (the spec's box
#: at every point) or ``propagator`` (the box's upper end × √((x² + q²)/(x₀² + q²)), x₀ the
#: spec's fixed value and q = ``box_q_mev``: a mediator coupling whose limit grows ∝ mass above
#: the momentum transfer q)
SCAN_BOX_RULES = ("fixed", "propagator")


@dataclass(frozen=True)
class ScanSpec:
    """``[scan]``: fits at each of ``values`` of the fixed parameter ``parameter``, each giving
    an upper limit on the POI ``limit_on`` (``cevns-bayes scan``, :mod:`cevns_bayes.workflows.
    exclusion`). ``how`` records the form the values were given in (``values``, ``log_range``
    or ``range``) and ``given`` its TOML value, so :meth:`as_dict` writes the table back."""

    parameter: str
    values: tuple[float, ...]
    limit_on: str
    how: str = "values"
    given: Any = None
    #: how the POI's box follows the scanned value (:data:`SCAN_BOX_RULES`)
    box: str = "fixed"
    #: the momentum transfer q [MeV] of the ``propagator`` rule
    box_q_mev: float | None = None

    def as_dict(self) -> dict[str, Any]:
        given = list(self.values) if self.given is None else self.given
        doc = {"parameter": self.parameter, self.how: given, "limit_on": self.limit_on}
        if self.box != "fixed":
            doc.update(box=self.box, box_q_mev=self.box_q_mev)
        return doc

    def box_scale(self, x: float, x_ref: float | None) -> float:
        """The factor on the POI box's upper end at the scanned value ``x`` (``x_ref``: the
        spec's fixed value of the parameter, where the factor is 1)."""
        if self.box == "fixed":
            return 1.0
        q2 = float(self.box_q_mev) ** 2
        return math.sqrt((x * x + q2) / (float(x_ref) ** 2 + q2))


def scan_values(how: str, given: Any, key: str, source: str) -> tuple[float, ...]:
    """The scanned values of ``values = [...]``, ``log_range = [min, max, n]`` (n log-spaced
    values, min > 0) or ``range = [min, max, n]`` (evenly spaced); ``key`` is the dotted key
    named in errors."""
    if not isinstance(given, list):
        raise _fail(source, key, f"expected a list, got {_type_name(given)}")
    if how == "values":
        vals = [_number(v, f"{key}[{i}]", source) for i, v in enumerate(given)]
        if not vals:
            raise _fail(source, key, "needs at least one value")
        for i in range(1, len(vals)):
            if not vals[i] > vals[i - 1]:
                raise _fail(
                    source,
                    f"{key}[{i}]",
                    f"values must be strictly increasing: {_fmt(vals[i])} after "
                    f"{_fmt(vals[i - 1])}",
                )
        return tuple(vals)
    if len(given) != 3:
        raise _fail(source, key, f"expected [min, max, n], got {given!r}")
    lo = _number(given[0], f"{key}[0]", source)
    hi = _number(given[1], f"{key}[1]", source)
    n = _integer(given[2], f"{key}[2]", source)
    if n < 1:
        raise _fail(source, f"{key}[2]", f"needs n >= 1 points, got {n}")
    if n > 1 and not hi > lo:
        raise _fail(source, f"{key}[1]", f"max {_fmt(hi)} must be above min {_fmt(lo)}")
    if how == "log_range":
        if lo <= 0:
            raise _fail(source, f"{key}[0]", f"a log range needs min > 0, got {_fmt(lo)}")
        vals = np.geomspace(lo, hi, n) if n > 1 else np.array([lo])
    else:
        vals = np.linspace(lo, hi, n) if n > 1 else np.array([lo])
    return tuple(float(v) for v in vals)


def check_scan(
    scan: ScanSpec, pois: Mapping[str, PoiSpec], nuisances, source: str, key: str = "scan"
) -> None:
    """The scan's consistency with the spec: ``parameter`` a known parameter that the spec fixes
    (or leaves out), never free; its values inside the parameter's range; ``limit_on`` a
    POI."""
    name = scan.parameter
    if name not in parameter_names():
        raise _fail(
            source,
            f"{key}.parameter",
            f"{name!r}: unknown parameter; known: {', '.join(parameter_names())}",
        )
    if name in pois or name in nuisances:
        where = "pois" if name in pois else "nuisances"
        raise _fail(
            source,
            f"{key}.parameter",
            f"{name} is free (in [{where}]); a scanned parameter must be under [fixed] or left out",
        )
    lo, hi = parameter_bounds(name)
    for i, v in enumerate(scan.values):
        if not lo <= v <= hi:
            raise _fail(
                source,
                f"{key}.{scan.how}",
                f"value {_fmt(v)} (point {i}) is outside the range of {name} "
                f"[{_fmt(lo)}, {_fmt(hi)}]",
            )
    if scan.limit_on not in pois:
        raise _fail(
            source,
            f"{key}.limit_on",
            f"{scan.limit_on!r} is not a POI of this spec; POIs: {', '.join(pois)}",
        )


def _parse_scan(doc: Any, source: str) -> ScanSpec:
    table = _table(doc, "scan", source)
    _check_keys(
        table, ("parameter", "limit_on", "box", "box_q_mev", *SCAN_VALUE_KEYS), "scan", source
    )
    for k in ("parameter", "limit_on"):
        if k not in table:
            raise _fail(source, f"scan.{k}", "required")
    parameter = _string(table["parameter"], "scan.parameter", source)
    limit_on = _string(table["limit_on"], "scan.limit_on", source)
    given = [k for k in SCAN_VALUE_KEYS if k in table]
    if len(given) != 1:
        which = given[1] if given else SCAN_VALUE_KEYS[0]
        raise _fail(
            source,
            f"scan.{which}",
            "give exactly one of values = [...], log_range = [min, max, n] or "
            "range = [min, max, n]",
        )
    how = given[0]
    values = scan_values(how, table[how], f"scan.{how}", source)
    box = _string(table.get("box", "fixed"), "scan.box", source)
    if box not in SCAN_BOX_RULES:
        raise _fail(source, "scan.box", f"{box!r}: expected one of {', '.join(SCAN_BOX_RULES)}")
    q = None
    if box == "propagator":
        if "box_q_mev" not in table:
            raise _fail(source, "scan.box_q_mev", "required by box = 'propagator'")
        q = _number(table["box_q_mev"], "scan.box_q_mev", source)
        if not q > 0:
            raise _fail(source, "scan.box_q_mev", f"must be > 0, got {_fmt(q)}")
    elif "box_q_mev" in table:
        raise _fail(source, "scan.box_q_mev", "only with box = 'propagator'")
    return ScanSpec(parameter, values, limit_on, how, table[how], box, q)


def with_fixed(spec, values: Mapping[str, float], key: str = "--fix"):
    """``spec`` with the parameters of ``values`` fixed there (``[fixed]`` entries replaced or
    added; e.g. a mediator mass from the command line's ``--fix m_zprime_mev=1000``). Each must
    be a known parameter that the spec does not free, inside its range; errors name ``key``."""
    for name, value in values.items():
        if name not in parameter_names():
            raise ConfigError(
                f"{key} {name}: unknown parameter; known: {', '.join(parameter_names())}"
            )
        if name in spec.pois or name in spec.nuisances:
            raise ConfigError(f"{key} {name}: is free in {spec.name}; only a fixed one can be set")
        lo, hi = parameter_bounds(name)
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ConfigError(
                f"{key} {name}={_fmt(value)}: outside the range of {name} [{_fmt(lo)}, {_fmt(hi)}]"
            )
    return dataclasses.replace(
        spec, fixed={**spec.fixed, **{k: float(v) for k, v in values.items()}}
    )


# --- the analysis spec --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AnalysisSpec:
    """A validated analysis: POIs and nuisances with priors, fixed values, binning, model
    options and sampler settings. Nuisances it does not list stay at their nominal values.

    ``path`` is the file it was loaded from (None for a dict); the ``with_*`` and
    :meth:`replace_prior` methods return new, re-validated specs and keep ``path`` as the
    origin. Two specs are equal when they describe the same analysis: the same :meth:`to_dict`
    form apart from the binning's label (``path`` is not part of it).
    """

    name: str
    description: str
    pois: dict[str, PoiSpec]
    nuisances: dict[str, Prior]
    fixed: dict[str, float]
    binning: Binning
    model: dict[str, Any] = field(default_factory=lambda: dict(MODEL_DEFAULTS))
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    path: Path | None = None
    #: physics models the spec names under ``[physics] models`` (beyond those whose
    #: parameters it uses: :attr:`physics_models`)
    physics: tuple[str, ...] = ()
    #: Python modules or files that register physics models (``[physics] modules``; files
    #: as absolute paths), imported when the spec is loaded
    physics_modules: tuple[str, ...] = ()
    #: the ``[scan]`` table (None without one): :class:`ScanSpec`
    scan: ScanSpec | None = None

    def __post_init__(self) -> None:
        label = self._label()
        object.__setattr__(self, "physics", tuple(self.physics))
        object.__setattr__(self, "physics_modules", tuple(self.physics_modules))
        for module in self.physics_modules:
            import_physics_module(module, label, "physics.modules")
        for j, model in enumerate(self.physics):
            if model not in plugins.physics_model_names():
                raise _fail(
                    label,
                    f"physics.models[{j}]",
                    f"no physics model {model!r} is registered; registered: "
                    f"{', '.join(plugins.physics_model_names())}",
                )
        for name, poi in self.pois.items():
            if not isinstance(poi, PoiSpec) or poi.name != name:
                raise _fail(label, f"pois.{name}", f"expected a PoiSpec named {name!r}")
        for name, prior in self.nuisances.items():
            if not isinstance(prior, Prior):
                raise _fail(label, f"nuisances.{name}", f"expected a Prior, got {prior!r}")
        if not isinstance(self.binning, Binning):
            raise _fail(label, "binning", f"expected a Binning, got {self.binning!r}")
        if not isinstance(self.sampler, SamplerSpec):
            raise _fail(label, "sampler", f"expected a SamplerSpec, got {self.sampler!r}")
        # every option present, with its default when left out
        object.__setattr__(self, "model", _parse_model(dict(self.model), label))
        _check_spec_parts(label, self.pois, self.nuisances, self.fixed, self.sampler)
        if self.scan is not None:
            if not isinstance(self.scan, ScanSpec):
                raise _fail(label, "scan", f"expected a ScanSpec, got {self.scan!r}")
            check_scan(self.scan, self.pois, self.nuisances, label)

    def __reduce__(self):
        """Pickled as its constructor's arguments, so that unpickling (in a worker process)
        runs :meth:`__post_init__`: it imports the ``[physics] modules`` again, which
        registers the user's physics models there before the spec's parameters are checked."""
        return (type(self), tuple(getattr(self, f.name) for f in dataclasses.fields(self)))

    def _label(self) -> str:
        return str(self.path) if self.path is not None else f"<spec {self.name}>"

    @property
    def poi_names(self) -> tuple[str, ...]:
        return tuple(self.pois)

    @property
    def physics_models(self) -> tuple[str, ...]:
        """The physics models the analysis needs: those it names and those that declare a
        parameter it frees or fixes, in registration order."""
        used = (*self.pois, *self.nuisances, *self.fixed)
        named = set(self.physics) | set(plugins.models_of(used))
        return tuple(m for m in plugins.physics_model_names() if m in named)

    @property
    def free_names(self) -> tuple[str, ...]:
        """Sampled parameters: POIs, then nuisances."""
        return (*self.pois, *self.nuisances)

    def prior(self, name: str) -> Prior:
        """The prior of a POI or nuisance."""
        if name in self.pois:
            return self.pois[name].prior
        if name in self.nuisances:
            return self.nuisances[name]
        raise ConfigError(
            f"{self._label()}: {name!r} is not a free parameter; free: {', '.join(self.free_names)}"
        )

    def with_sampler(self, **changes) -> AnalysisSpec:
        """A copy with some sampler settings changed (``draws=200``, ``seed=1``, ...)."""
        allowed = [f.name for f in dataclasses.fields(SamplerSpec)]
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise ConfigError(
                f"{self._label()}: sampler.{unknown[0]}: unknown setting; "
                f"allowed: {', '.join(allowed)}"
            )
        try:
            sampler = dataclasses.replace(self.sampler, **changes)
        except ConfigError as err:
            raise ConfigError(f"{self._label()}: {err}") from None
        return dataclasses.replace(self, sampler=sampler)

    def replace_prior(self, name: str, prior: Prior | Mapping[str, Any]) -> AnalysisSpec:
        """A copy with the prior of POI or nuisance ``name`` replaced.

        ``prior`` is a :class:`Prior` or its TOML form (``{"prior": "normal", "mu": 1, ...}``).
        A POI keeps its initial value if it is strictly inside the new support, else it starts
        at the new prior's default.
        """
        label = self._label()
        table = "pois" if name in self.pois else "nuisances"
        if not isinstance(prior, Prior):
            prior = _parse_prior(prior, f"{table}.{name}", label, allow_initial=False)
        if name in self.pois:
            old = self.pois[name]
            initial = old.initial
            if _check_initial(prior, initial) is not None:
                initial = prior.default_initial()
            pois = dict(self.pois)
            pois[name] = PoiSpec(name, prior, initial, old.units)
            return dataclasses.replace(self, pois=pois)
        if name in self.nuisances:
            nuisances = dict(self.nuisances)
            nuisances[name] = prior
            return dataclasses.replace(self, nuisances=nuisances)
        raise ConfigError(
            f"{label}: {name!r} is not a POI or nuisance of this spec; free: "
            f"{', '.join(self.free_names)}"
        )

    def with_binning(self, binning: Binning | str) -> AnalysisSpec:
        """A copy with another binning (a :class:`Binning` or a name for
        :func:`~cevns_bayes.model.binning.binning_from_name`)."""
        if isinstance(binning, str):
            binning = binning_from_name(binning)
        if not isinstance(binning, Binning):
            raise ConfigError(f"binning: expected a Binning or a name, got {binning!r}")
        return dataclasses.replace(self, binning=binning)

    def with_model(self, **changes) -> AnalysisSpec:
        """A copy with some forward-model options changed (``form_factor="klein_nystrand"``)."""
        model = _parse_model({**self.model, **changes}, self._label())
        return dataclasses.replace(self, model=model)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable description in the layout of the TOML file; ``binning`` holds
        its name and both edge lists. (Without ``binning.name`` it loads back through
        :func:`spec_from_dict`.)"""
        physics = {}
        if self.physics:
            physics["models"] = list(self.physics)
        if self.physics_modules:
            physics["modules"] = list(self.physics_modules)
        return {
            "analysis": {"name": self.name, "description": self.description},
            **({"physics": physics} if physics else {}),
            "pois": {n: {**p.prior.as_dict(), "initial": p.initial} for n, p in self.pois.items()},
            "nuisances": {n: p.as_dict() for n, p in self.nuisances.items()},
            "fixed": dict(self.fixed),
            "binning": {
                "name": self.binning.name,
                "pe_edges": [float(x) for x in self.binning.pe_edges],
                "t_edges_us": [float(x) for x in self.binning.t_edges_us],
            },
            "model": dict(self.model),
            "sampler": dataclasses.asdict(self.sampler),
            **({"scan": self.scan.as_dict()} if self.scan is not None else {}),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnalysisSpec):
            return NotImplemented
        a, b = self.to_dict(), other.to_dict()
        a["binning"].pop("name")
        b["binning"].pop("name")
        return a == b

    __hash__ = None  # type: ignore[assignment]


# --- parsing ------------------------------------------------------------------------------------
def _type_name(value: Any) -> str:
    return f"{value!r}" if not isinstance(value, (dict, list)) else type(value).__name__


def _table(value: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, key, f"expected a table, got {_type_name(value)}")
    return value


def _check_keys(table: Mapping[str, Any], allowed, key: str, source: str) -> None:
    for k in table:
        if k not in allowed:
            prefix = f"{key}.{k}" if key else k
            what = "table" if not key else "key"
            raise _fail(source, prefix, f"unknown {what}; allowed: {', '.join(allowed)}")


def _number(value: Any, key: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(source, key, f"expected a number, got {_type_name(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise _fail(source, key, f"expected a finite number, got {value!r}")
    return x


def _integer(value: Any, key: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(source, key, f"expected an integer, got {_type_name(value)}")
    return value


def _string(value: Any, key: str, source: str, choices=None) -> str:
    if not isinstance(value, str):
        raise _fail(source, key, f"expected a string, got {_type_name(value)}")
    if choices is not None and value not in choices:
        raise _fail(source, key, f"{value!r} unknown; expected one of {', '.join(choices)}")
    return value


def _parse_prior(table: Any, key: str, source: str, *, allow_initial: bool) -> Prior:
    table = _table(table, key, source)
    if "prior" not in table:
        raise _fail(source, f"{key}.prior", f"required; one of {', '.join(PRIOR_KINDS)}")
    kind = _string(table["prior"], f"{key}.prior", source, PRIOR_KINDS)
    required, optional = PRIOR_KEYS[kind]
    allowed = ("prior", *required, *optional) + (("initial",) if allow_initial else ())
    for k in table:
        if k not in allowed:
            hint = " (initial is allowed only on POIs)" if k == "initial" else ""
            raise _fail(
                source,
                f"{key}.{k}",
                f"not a key of a {kind} prior{hint}; allowed: {', '.join(allowed)}",
            )
    values = {
        k: _number(table[k], f"{key}.{k}", source) for k in (*required, *optional) if k in table
    }
    problem = _prior_problem(kind, values)
    if problem is not None:
        raise _fail(source, f"{key}.{problem[0]}", problem[1])
    return Prior(kind, **values)


def _parse_pois(doc: Any, source: str) -> dict[str, PoiSpec]:
    pois_table = _table(doc, "pois", source)
    pois: dict[str, PoiSpec] = {}
    for name, table in pois_table.items():
        key = f"pois.{name}"
        if name not in free_parameter_names():
            raise _fail(source, key, f"unknown POI; known: {', '.join(_poi_choices())}")
        prior = _parse_prior(table, key, source, allow_initial=True)
        if "initial" in table:
            initial = _number(table["initial"], f"{key}.initial", source)
            message = _check_initial(prior, initial)
            if message is not None:
                raise _fail(source, f"{key}.initial", message)
        else:
            initial = prior.default_initial()
        pois[name] = PoiSpec(name, prior, initial, get_parameter(name).unit)
    return pois


def _parse_nuisances(doc: Any, source: str) -> dict[str, Prior]:
    out: dict[str, Prior] = {}
    for name, table in _table(doc, "nuisances", source).items():
        key = f"nuisances.{name}"
        if name not in free_parameter_names():
            raise _fail(source, key, f"unknown nuisance; known: {', '.join(NUISANCE_NAMES)}")
        out[name] = _parse_prior(table, key, source, allow_initial=False)
    return out


def _parse_fixed(doc: Any, source: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in _table(doc, "fixed", source).items():
        key = f"fixed.{name}"
        if name not in parameter_names():
            raise _fail(source, key, f"unknown parameter; known: {', '.join(parameter_names())}")
        out[name] = _number(value, key, source)
    return out


def _edges(value: Any, key: str, source: str) -> list[float]:
    if not isinstance(value, list):
        raise _fail(source, key, f"expected a list of numbers, got {_type_name(value)}")
    return [_number(v, f"{key}[{i}]", source) for i, v in enumerate(value)]


def _parse_binning(doc: Any, source: str) -> Binning:
    table = _table(doc, "binning", source)
    _check_keys(table, ("name", "pe_edges", "t_edges_us"), "binning", source)
    has_edges = [k for k in ("pe_edges", "t_edges_us") if k in table]
    if "name" in table:
        if has_edges:
            raise _fail(
                source, f"binning.{has_edges[0]}", "give either name or pe_edges and t_edges_us"
            )
        name = _string(table["name"], "binning.name", source)
        try:
            return binning_from_name(name)
        except ConfigError as err:
            raise _fail(source, "binning.name", str(err)) from None
    if len(has_edges) != 2:
        missing = "pe_edges" if "pe_edges" not in table else "t_edges_us"
        raise _fail(
            source,
            f"binning.{missing}",
            "required: give either name or both pe_edges (PE) and t_edges_us (µs)",
        )
    pe = _edges(table["pe_edges"], "binning.pe_edges", source)
    t = _edges(table["t_edges_us"], "binning.t_edges_us", source)
    for label, edges in (("pe_edges", pe), ("t_edges_us", t)):
        key = f"binning.{label}"
        if len(edges) < 2:
            raise _fail(source, key, f"need at least two edges, got {edges}")
        for i in range(1, len(edges)):
            if not edges[i] > edges[i - 1]:
                raise _fail(
                    source,
                    key,
                    f"edges must be strictly increasing: {label}[{i}] = {_fmt(edges[i])} "
                    f"after {_fmt(edges[i - 1])}",
                )
    if pe[0] < 0:
        raise _fail(source, "binning.pe_edges", f"lowest edge must be >= 0 PE, got {_fmt(pe[0])}")
    try:
        return Binning(np.array(pe), np.array(t))
    except ConfigError as err:  # anything else Binning checks
        which = "t_edges_us" if "t_edges_us" in str(err) else "pe_edges"
        raise _fail(source, f"binning.{which}", str(err)) from None


def _parse_model(doc: Any, source: str) -> dict[str, Any]:
    table = _table(doc, "model", source)
    _check_keys(table, tuple(MODEL_DEFAULTS), "model", source)
    model = dict(MODEL_DEFAULTS)
    if "form_factor" in table:
        model["form_factor"] = _string(
            table["form_factor"], "model.form_factor", source, FORM_FACTORS
        )
    if "couplings" in table:
        model["couplings"] = _string(
            table["couplings"], "model.couplings", source, COUPLING_CONVENTIONS
        )
    if "pulse_shape" in table:
        model["pulse_shape"] = _string(
            table["pulse_shape"], "model.pulse_shape", source, PULSE_SHAPES
        )
    if "pulse_fwhm_ns" in table:
        fwhm = _number(table["pulse_fwhm_ns"], "model.pulse_fwhm_ns", source)
        if fwhm <= 0:
            raise _fail(source, "model.pulse_fwhm_ns", f"must be > 0 ns, got {_fmt(fwhm)}")
        model["pulse_fwhm_ns"] = fwhm
    if "time_efficiency" in table:
        value = table["time_efficiency"]
        if not isinstance(value, bool):
            raise _fail(
                source, "model.time_efficiency", f"expected true or false, got {_type_name(value)}"
            )
        model["time_efficiency"] = value
    return model


def _parse_sampler(doc: Any, source: str) -> SamplerSpec:
    table = _table(doc, "sampler", source)
    allowed = tuple(f.name for f in dataclasses.fields(SamplerSpec))
    _check_keys(table, allowed, "sampler", source)
    kwargs: dict[str, Any] = {}
    for key in ("chains", "draws", "tune", "seed"):
        if key in table:
            kwargs[key] = _integer(table[key], f"sampler.{key}", source)
    if "target_accept" in table:
        kwargs["target_accept"] = _number(table["target_accept"], "sampler.target_accept", source)
    if "backend" in table:
        kwargs["backend"] = _string(table["backend"], "sampler.backend", source, SAMPLER_BACKENDS)
    if "multimodal" in table:
        kwargs["multimodal"] = _string(
            table["multimodal"], "sampler.multimodal", source, MULTIMODAL_METHODS
        )
    if "mass_matrix" in table:
        kwargs["mass_matrix"] = _string(
            table["mass_matrix"], "sampler.mass_matrix", source, MASS_MATRICES
        )
    try:
        return SamplerSpec(**kwargs)
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def spec_from_dict(
    doc: Mapping[str, Any], source: str = "<dict>", *, path: Path | None = None
) -> AnalysisSpec:
    """Validate a parsed TOML document and build its :class:`AnalysisSpec`.

    ``source`` names the document in error messages; ``path`` is recorded in the spec, and its
    stem is the default analysis name (otherwise ``"custom"``).
    """
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{source}: expected a table of tables, got {type(doc).__name__}")
    _check_keys(doc, TOP_LEVEL_TABLES, "", source)
    analysis = _table(doc.get("analysis", {}), "analysis", source)
    _check_keys(analysis, ("name", "description"), "analysis", source)
    default_name = path.stem if path is not None else "custom"
    name = _string(analysis.get("name", default_name), "analysis.name", source)
    if not _NAME_RE.fullmatch(name):
        hint = "" if "name" in analysis else " (the file stem; set analysis.name)"
        raise _fail(source, "analysis.name", f"{name!r} must match [a-z0-9_]+{hint}")
    description = _string(analysis.get("description", ""), "analysis.description", source)
    physics, modules = _parse_physics(doc.get("physics", {}), source, path)
    if "pois" not in doc:
        raise _fail(
            source, "pois", f"at least one POI is required; known: {', '.join(_poi_choices())}"
        )
    pois = _parse_pois(doc["pois"], source)
    nuisances = _parse_nuisances(doc.get("nuisances", {}), source)
    fixed = _parse_fixed(doc.get("fixed", {}), source)
    binning = _parse_binning(doc.get("binning", {"name": "default"}), source)
    model = _parse_model(doc.get("model", {}), source)
    sampler = _parse_sampler(doc.get("sampler", {}), source)
    _check_spec_parts(source, pois, nuisances, fixed, sampler)
    scan = None
    if "scan" in doc:
        scan = _parse_scan(doc["scan"], source)
        check_scan(scan, pois, nuisances, source)
    return AnalysisSpec(
        name,
        description,
        pois,
        nuisances,
        fixed,
        binning,
        model,
        sampler,
        path,
        physics=physics,
        physics_modules=modules,
        scan=scan,
    )


def import_physics_module(name: str, source: str, key: str):
    """Import a module that registers physics models: an importable module name, or the path
    of a ``.py`` file (absolute, or relative to the working directory). A file is imported once
    per process (again loading it returns the same module)."""
    import importlib
    import importlib.util

    if name.endswith(".py") or "/" in name or os.sep in name:
        path = Path(name).resolve()
        if not path.is_file():
            raise _fail(source, key, f"{path}: no such Python file")
        mod_name = "cevns_bayes_physics_" + re.sub(r"\W", "_", str(path))
        if mod_name in sys.modules:
            return sys.modules[mod_name]
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[mod_name]
            if isinstance(err, ConfigError):
                raise ConfigError(f"{source}: {key}: {path}: {err}") from None
            raise _fail(source, key, f"{path}: importing it failed: {err!r}") from err
        return module
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise _fail(source, key, f"cannot import module {name!r}: {err}") from None


def _parse_physics(
    doc: Any, source: str, path: Path | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``[physics]``: ``modules`` (imported now, so that the models they register are known to
    the rest of the spec; file paths relative to the spec's folder) and ``models``."""
    table = _table(doc, "physics", source)
    _check_keys(table, ("models", "modules"), "physics", source)
    lists = {}
    for key in ("modules", "models"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise _fail(source, f"physics.{key}", "expected a list of names (strings)")
        lists[key] = value
    modules = []
    for i, name in enumerate(lists["modules"]):
        if (name.endswith(".py") or "/" in name) and not Path(name).is_absolute():
            base = path.parent if path is not None else Path.cwd()
            name = str((base / name).resolve())
        import_physics_module(name, source, f"physics.modules[{i}]")
        modules.append(name)
    for j, model in enumerate(lists["models"]):
        if model not in plugins.physics_model_names():
            raise _fail(
                source,
                f"physics.models[{j}]",
                f"no physics model {model!r} is registered; registered: "
                f"{', '.join(plugins.physics_model_names())}",
            )
    return tuple(lists["models"]), tuple(modules)


def _poi_choices() -> tuple[str, ...]:
    """The physics parameters (role ``poi``), then the nuisances, for error messages."""
    names = free_parameter_names()
    return tuple(n for n in names if get_parameter(n).role == "poi") + tuple(
        n for n in names if get_parameter(n).role != "poi"
    )


# --- files --------------------------------------------------------------------------------------
def models_dir() -> Path:
    """The folder of shipped specs (``$CEVNS_BAYES_MODELS_DIR`` overrides it)."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env)
    from cevns_bayes.paths import MODELS_DIR

    return MODELS_DIR


def list_specs() -> list[str]:
    """Names of the specs in :func:`models_dir`, sorted."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.toml") if p.is_file())


def _looks_like_path(name: str | os.PathLike) -> bool:
    if isinstance(name, os.PathLike):
        return True
    return name.endswith(".toml") or "/" in name or os.sep in name


def load_spec(name_or_path: str | os.PathLike) -> AnalysisSpec:
    """Load and validate a spec: a path to a ``.toml`` file, or the name of one in
    :func:`models_dir` (``"xsec"``)."""
    if _looks_like_path(name_or_path):
        path = Path(name_or_path)
    else:
        path = models_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            available = ", ".join(list_specs()) or "none"
            raise ConfigError(
                f"unknown analysis {name_or_path!r}; available in {models_dir()}: {available} "
                "(or give the path of a .toml file)"
            )
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a .toml file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    return spec_from_dict(resolve_includes(doc, path), str(path), path=path)


#: Tables a shared file (``analysis.include``) may hold: what analyses have in common
INCLUDABLE_TABLES = ("nuisances", "fixed", "binning", "model")


def _read_toml(path: Path, source: str, key: str) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise _fail(source, key, f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(source, key, f"{path}: cannot read ({err})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


def _include_path(name: str, spec_path: Path) -> Path:
    """An included file: relative to the spec's folder, else to the shipped specs' folder (so a
    copy of a shipped spec elsewhere still finds the shared files)."""
    candidate = Path(name)
    if candidate.is_absolute():
        return candidate
    local = spec_path.parent / candidate
    if local.is_file():
        return local
    from cevns_bayes.paths import MODELS_DIR

    shipped = Path(MODELS_DIR) / candidate
    return shipped if shipped.is_file() else local


def resolve_includes(doc: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The spec document with its shared files merged in.

    ``analysis.include`` lists TOML files (paths relative to the spec) holding tables every
    analysis shares (:data:`INCLUDABLE_TABLES`: the nuisance priors, fixed values, binning and
    forward-model options). They are merged in order, then the spec's own tables on top: a
    nuisance table of the spec replaces the shared one whole, ``model`` and ``binning`` keys
    override one by one. ``analysis.drop`` removes shared nuisances (they are then fixed at
    their registry nominal), and a parameter under ``[fixed]`` is no longer a nuisance. Each
    shared file is validated with its own name in the errors.
    """
    source = str(path)
    doc = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in doc.items()}
    analysis = doc.get("analysis", {})
    if not isinstance(analysis, Mapping):
        return doc  # spec_from_dict reports it
    includes = analysis.pop("include", [])
    drop = analysis.pop("drop", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(x, str) for x in includes):
        raise _fail(source, "analysis.include", "expected a list of file names (strings)")
    if not isinstance(drop, list) or not all(isinstance(x, str) for x in drop):
        raise _fail(source, "analysis.drop", "expected a list of nuisance names (strings)")
    merged: dict[str, dict[str, Any]] = {t: {} for t in INCLUDABLE_TABLES}
    for i, name in enumerate(includes):
        key = f"analysis.include[{i}]"
        inc_path = _include_path(name, path)
        inc = _read_toml(inc_path, source, key)
        _check_keys(inc, INCLUDABLE_TABLES, "", str(inc_path))
        _parse_nuisances(inc.get("nuisances", {}), str(inc_path))  # errors name that file
        _parse_fixed(inc.get("fixed", {}), str(inc_path))
        for table in INCLUDABLE_TABLES:
            merged[table].update(_table(inc.get(table, {}), table, str(inc_path)))
    for table in INCLUDABLE_TABLES:
        own = doc.get(table, {})
        if isinstance(own, Mapping):
            merged[table].update(own)
        elif table in doc:
            merged[table] = own  # not a table: spec_from_dict names the key
    for j, name in enumerate(drop):
        if name not in merged["nuisances"]:
            raise _fail(
                source,
                f"analysis.drop[{j}]",
                f"{name!r} is not among the included nuisances "
                f"({', '.join(merged['nuisances']) or 'none'})",
            )
        del merged["nuisances"][name]
    own = doc.get("nuisances", {})
    own_nuisances = set(own) if isinstance(own, Mapping) else set()
    if isinstance(merged["fixed"], Mapping) and isinstance(merged["nuisances"], Mapping):
        for name in merged["fixed"]:
            if name not in own_nuisances:  # a shared nuisance fixed by the spec
                merged["nuisances"].pop(name, None)
    out = dict(doc)
    out["analysis"] = analysis
    for table, value in merged.items():
        if value or table in doc:
            out[table] = value
    return out


__all__ = [
    "MODEL_DEFAULTS",
    "NUISANCE_NAMES",
    "PRIOR_KINDS",
    "AnalysisSpec",
    "free_parameter_names",
    "import_physics_module",
    "PoiSpec",
    "Prior",
    "SamplerSpec",
    "list_specs",
    "load_spec",
    "models_dir",
    "parameter_bounds",
    "resolve_includes",
    "spec_from_dict",
]
