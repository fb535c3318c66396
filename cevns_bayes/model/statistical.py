"""The statistical model of an analysis: one likelihood, one set of priors, every method.

:class:`StatisticalModel` is built from an :class:`~cevns_bayes.spec.AnalysisSpec` and its
:class:`~cevns_bayes.model.ForwardModel`. It owns what every inference method needs and is the
only place where they are put together:

* the parameter list (POIs, then nuisances) with their roles, units, labels, bounds, initial
  values and priors (the spec's, the one source of truth);
* the mapping from the parameters to the forward model's (the spec's fixed values; the
  physics parameters go to the physics models of the forward graph,
  :mod:`cevns_bayes.physics.plugins`, e.g. ``sigma`` scales the rate by
  ``sigma / <sigma>_SM(R_n)``);
* ln L(θ; data), binned Poisson, with the data always passed in; the nuisance constraint
  terms (the same priors, as −½ z² up to constants, centred on global observables that
  frequentist toys re-draw); their sum and gradient;
* numeric shortcuts compiled on first use: :meth:`expected`, :meth:`components`,
  :meth:`loglike`, :meth:`logprior`, :meth:`logpdf`;
* the PyMC model (named coords and dims).

The symbolic pieces (:meth:`forward_parameters`, :meth:`loglike_tensor`,
:meth:`log_constraint_tensor`) are what the profile likelihood, the Laplace grid, NUTS and the
toys compile; nothing else in the package assembles a likelihood.

Example::

    from cevns_bayes import load_analysis
    model = load_analysis("xsec")
    model.logpdf({"sigma": 170.0}, model.observed)   # unnamed parameters: initial values
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt

from cevns_bayes.errors import ConfigError
from cevns_bayes.model.compile import compile_function
from cevns_bayes.model.forward import COMPONENTS, ForwardModel
from cevns_bayes.model.likelihood import log_factorial_sum, poisson_loglike
from cevns_bayes.model.parameters import parameter_facts


@dataclass(frozen=True)
class ParameterInfo:
    """One free parameter of a statistical model.

    Attributes:
        name: the parameter's name (registry or ``sigma``).
        role: ``"poi"`` or ``"nuisance"``.
        unit: its unit ("" when dimensionless).
        description: what it is (from the registry).
        label: its axis label (from the registry).
        prior: its :class:`~cevns_bayes.spec.Prior` (for nuisances also the constraint).
        lower, upper: the prior's support.
        initial: where fits and chains start.
    """

    name: str
    role: str
    unit: str
    description: str
    label: str
    prior: Any
    lower: float
    upper: float
    initial: float


def prior_logp_tensor(prior, x, centre_shift=0.0):
    """ln π(x) up to a constant, as a pytensor expression (inside the support).

    ``centre_shift`` moves the centre of the constraint (its global observable): by δ for a
    (truncated) normal, μ → μ + δ, and by a factor e^δ of the median for a lognormal (δ in
    units of ln x). Frequentist toys re-draw it (:mod:`cevns_bayes.toys`); a flat prior has none.
    """
    kind = prior.kind
    if kind == "flat":
        return pt.zeros_like(x)
    if kind in ("normal", "truncated_normal"):
        return -0.5 * ((x - prior.mu - centre_shift) / prior.sigma) ** 2
    if kind == "lognormal":
        z = (pt.log(x) - math.log(prior.median) - centre_shift) / prior.sigma_log
        return -0.5 * z**2 - pt.log(x)
    raise ConfigError(f"prior kind {kind!r} has no log density here")


def global_observable_sd(prior) -> float:
    """The spread of a constraint's global observable in the units of ``centre_shift``
    (:func:`prior_logp_tensor`): σ for a (truncated) normal, σ_log for a lognormal, 0 for flat."""
    if prior.kind in ("normal", "truncated_normal"):
        return float(prior.sigma)
    if prior.kind == "lognormal":
        return float(prior.sigma_log)
    return 0.0


def forward_parameters(
    spec, forward: ForwardModel, values: Mapping[str, Any], signal_scale=None
) -> dict:
    """Forward-model parameters from POI and nuisance values (tensors or numbers).

    The spec's fixed values, then every POI and nuisance (the forward graph's physics models
    turn them into the rate). ``signal_scale`` (a tensor) multiplies the CEvNS normalization:
    0 is the background-only hypothesis.
    """
    p: dict[str, Any] = {k: pt.as_tensor_variable(float(v)) for k, v in spec.fixed.items()}
    for name in (*spec.pois, *spec.nuisances):
        p[name] = values[name]
    if signal_scale is not None:
        p["cevns_norm"] = p.get("cevns_norm", pt.constant(1.0)) * signal_scale
    return p


class StatisticalModel:
    """ln L(θ; data) + ln π(θ) of one analysis spec on its forward model (module docstring).

    Args:
        spec: the :class:`~cevns_bayes.spec.AnalysisSpec`.
        forward: its forward model (built from the spec's binning and model options when
            omitted; ``forward_options`` are then passed to
            :func:`~cevns_bayes.model.build_forward_model`).
    """

    def __init__(self, spec, forward: ForwardModel | None = None, **forward_options) -> None:
        if forward is None:
            from cevns_bayes.model import build_forward_model

            forward = build_forward_model(spec, **forward_options)
        elif forward_options:
            raise ConfigError(
                f"forward-model options {sorted(forward_options)} given with a forward model"
            )
        missing = [m for m in spec.physics_models if m not in (x.name for x in forward.physics)]
        if missing:
            raise ConfigError(
                f"{spec.name}: the forward model lacks the physics model(s) {missing} the spec "
                f"uses (build it with physics={list(spec.physics_models)})"
            )
        forward.check_parameters((*spec.pois, *spec.nuisances, *spec.fixed))
        self.spec = spec
        self.forward = forward
        self.poi_names: tuple[str, ...] = tuple(spec.pois)
        self.nuisance_names: tuple[str, ...] = tuple(spec.nuisances)
        self.parameter_names: tuple[str, ...] = self.poi_names + self.nuisance_names
        infos = {}
        for name in self.parameter_names:
            is_poi = name in spec.pois
            prior = spec.pois[name].prior if is_poi else spec.nuisances[name]
            unit, description, label = parameter_facts(name)
            lo, hi = prior.support
            infos[name] = ParameterInfo(
                name=name,
                role="poi" if is_poi else "nuisance",
                unit=unit,
                description=description,
                label=label,
                prior=prior,
                lower=float(lo),
                upper=float(hi),
                initial=float(spec.pois[name].initial if is_poi else prior.center),
            )
        self.parameters: dict[str, ParameterInfo] = infos
        self._compiled: dict[str, Any] = {}

    # --- facts -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def binning(self):
        return self.forward.binning

    @property
    def observed(self) -> np.ndarray:
        """The shipped C-window counts in the model's binning (a copy)."""
        return np.array(self.forward.observed, float)

    @property
    def data_shape(self) -> tuple[int, int]:
        return tuple(self.forward.observed.shape)

    @property
    def initial(self) -> dict[str, float]:
        """Where fits and chains start: the POIs' initial values, the nuisances' prior centres."""
        return {n: p.initial for n, p in self.parameters.items()}

    def bounds(self) -> list[tuple[float | None, float | None]]:
        """(lower, upper) per parameter in order, None where unbounded (for minimisers)."""
        return [
            (p.lower if np.isfinite(p.lower) else None, p.upper if np.isfinite(p.upper) else None)
            for p in self.parameters.values()
        ]

    def global_observable_sds(self) -> dict[str, float]:
        """Spread of each nuisance's global observable (0 for a flat prior)."""
        return {n: global_observable_sd(self.spec.nuisances[n]) for n in self.nuisance_names}

    def vector(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Parameter vector in :attr:`parameter_names` order (initial values where missing)."""
        values = dict(values or {})
        unknown = set(values) - set(self.parameter_names)
        if unknown:
            raise ConfigError(
                f"{self.name}: unknown parameter(s) {sorted(unknown)}; the model's parameters "
                f"are {', '.join(self.parameter_names)}"
            )
        init = self.initial
        return np.array([float(values.get(n, init[n])) for n in self.parameter_names], float)

    def check_data(self, data) -> np.ndarray:
        """``data`` as a float array of the binning's shape, or a :class:`ConfigError`."""
        arr = np.ascontiguousarray(data, dtype=float)
        if arr.shape != self.data_shape:
            raise ConfigError(
                f"{self.name}: data of shape {arr.shape}; the binning has {self.data_shape} "
                "(PE bins, t bins)"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ConfigError(f"{self.name}: data must be finite, non-negative counts")
        return arr

    # --- the one assembly (symbolic) -------------------------------------------------------
    def forward_parameters(self, values: Mapping[str, Any], signal_scale=None) -> dict:
        """Forward-model parameters at ``values`` (:func:`forward_parameters`)."""
        return forward_parameters(self.spec, self.forward, values, signal_scale)

    def expected_tensor(self, values: Mapping[str, Any], signal_scale=None):
        """Expected counts per (PE, t) bin at ``values`` (tensors)."""
        return self.forward.total(self.forward_parameters(values, signal_scale))

    def loglike_tensor(
        self, values: Mapping[str, Any], data, *, with_factorials: bool = True, signal_scale=None
    ):
        """Σ_bins [n ln μ − μ (− ln n!)] at ``values`` for ``data`` (array or tensor)."""
        mu = self.expected_tensor(values, signal_scale)
        return poisson_loglike(mu, data, with_factorials=with_factorials)

    def log_constraint_tensor(self, values: Mapping[str, Any], shift=None):
        """Σ over nuisances of ln π(θ) up to constants (the constraint terms), with the
        constraint centres moved by ``shift`` (a tensor with one entry per nuisance)."""
        total = pt.constant(0.0)
        for k, name in enumerate(self.nuisance_names):
            centre = 0.0 if shift is None else shift[k]
            total = total + prior_logp_tensor(self.spec.nuisances[name], values[name], centre)
        return total

    def symbolic_vector(self, name: str = "theta"):
        """A parameter-vector input and the name → entry mapping for graphs of θ."""
        theta = pt.dvector(name)
        return theta, {n: theta[i] for i, n in enumerate(self.parameter_names)}

    # --- compiled numbers ------------------------------------------------------------------
    def _fn(self, key: str):
        if key not in self._compiled:
            theta, values = self.symbolic_vector()
            if key == "expected":
                p = self.forward_parameters(values)
                comps = self.forward.components(p)
                outs = [sum(comps[k] for k in COMPONENTS), *(comps[k] for k in COMPONENTS)]
                self._compiled[key] = compile_function([theta], outs, hot=False)
            elif key == "loglike":
                data = pt.dmatrix("data")
                ll = self.loglike_tensor(values, data, with_factorials=False)
                grad = pytensor.grad(ll, theta)
                self._compiled[key] = compile_function([theta, data], [ll, grad], hot=False)
            else:  # pragma: no cover - internal keys only
                raise KeyError(key)
        return self._compiled[key]

    def expected(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Expected counts per (PE, t) bin at ``values`` (initial values where missing)."""
        return np.asarray(self._fn("expected")(self.vector(values))[0])

    def components(self, values: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
        """Expected counts per component per bin at ``values``."""
        out = self._fn("expected")(self.vector(values))[1:]
        return {k: np.asarray(v) for k, v in zip(COMPONENTS, out)}

    def loglike(self, values: Mapping[str, float] | None, data) -> float:
        """ln L(θ; data), Poisson over the bins, ln n! included."""
        return self.loglike_and_grad(values, data)[0]

    def loglike_and_grad(self, values: Mapping[str, float] | None, data):
        """ln L and ∂ ln L/∂θ (in :attr:`parameter_names` order)."""
        data = self.check_data(data)
        ll, grad = self._fn("loglike")(self.vector(values), data)
        return float(ll) - log_factorial_sum(data), np.asarray(grad)

    def loglike_function(self, data):
        """θ (a vector in :attr:`parameter_names` order) → ln L(θ; data), ln n! included: the
        value alone, compiled once, for the samplers that need no gradient (nested sampling)."""
        data = self.check_data(data)
        if "loglike_value" not in self._compiled:
            theta, values = self.symbolic_vector()
            d = pt.dmatrix("data")
            ll = self.loglike_tensor(values, d, with_factorials=False)
            self._compiled["loglike_value"] = compile_function([theta, d], [ll])
        fn = self._compiled["loglike_value"]
        const = log_factorial_sum(data)

        def loglike(theta) -> float:
            return float(fn(np.asarray(theta, float), data)[0]) - const

        return loglike

    def logprior(self, values: Mapping[str, float] | None = None) -> float:
        """Σ ln π(θ_j), each prior normalized (truncation included); −inf outside a support."""
        vec = self.vector(values)
        return float(
            sum(
                float(self.parameters[n].prior.logpdf(x)) for n, x in zip(self.parameter_names, vec)
            )
        )

    def logpdf(self, values: Mapping[str, float] | None, data) -> float:
        """ln L(θ; data) + ln π(θ): the unnormalized log posterior density at ``values``."""
        lp = self.logprior(values)
        return lp if not np.isfinite(lp) else self.loglike(values, data) + lp

    def __repr__(self) -> str:
        return (
            f"StatisticalModel({self.name!r}: POIs {', '.join(self.poi_names)}; "
            f"{len(self.nuisance_names)} nuisances; binning {self.data_shape})"
        )


def load_analysis(spec, **forward_options) -> StatisticalModel:
    """The statistical model of a shipped spec name, a TOML path or an ``AnalysisSpec``."""
    from cevns_bayes.spec import AnalysisSpec, load_spec

    if not isinstance(spec, AnalysisSpec):
        spec = load_spec(spec)
    return StatisticalModel(spec, **forward_options)
