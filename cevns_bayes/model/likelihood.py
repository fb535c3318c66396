"""Binned Poisson log-likelihood on the forward graph, and its compiled value + gradient.

The same graph serves every consumer: PyMC builds its model around :meth:`ForwardModel.total`,
and the profile mode compiles :func:`compile_loglike` once and hands it to the minimizer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pytensor
import pytensor.tensor as pt
from scipy.special import gammaln

from cevns_bayes.errors import ConfigError
from cevns_bayes.model.compile import compile_function
from cevns_bayes.model.forward import ForwardModel
from cevns_bayes.model.parameters import get_parameter


def poisson_loglike(expected, observed, *, with_factorials: bool = True):
    """Σ_bins [n ln μ − μ − ln n!] as a pytensor scalar.

    ``observed`` is either an array of counts (a constant of the graph: bins with n = 0
    contribute −μ only, so bins the model leaves empty stay finite) or a symbolic tensor of
    the same shape as ``expected`` (an input of the compiled function, so new data need no
    recompilation; μ is floored at 1e-300 inside the log, so μ = n = 0 contributes 0).
    ``with_factorials=False`` leaves out −Σ ln n!, which does not depend on the parameters:
    a caller that evaluates the graph many times for the same data adds
    :func:`log_factorial_sum` once instead.
    """
    if isinstance(observed, pt.Variable):
        ll = pt.sum(observed * pt.log(pt.maximum(expected, 1e-300))) - pt.sum(expected)
        return ll - pt.sum(pt.gammaln(observed + 1.0)) if with_factorials else ll
    n = np.asarray(observed, float)
    flat = expected.ravel() if hasattr(expected, "ravel") else expected.flatten()
    nz = np.flatnonzero(n.ravel() > 0)
    ll = pt.sum(n.ravel()[nz] * pt.log(flat[nz])) - pt.sum(expected)
    return ll - log_factorial_sum(n) if with_factorials else ll


def log_factorial_sum(counts) -> float:
    """Σ_bins ln n! of observed counts (the parameter-free term of the Poisson ln L)."""
    return float(np.sum(gammaln(np.asarray(counts, float) + 1.0)))


def gaussian_constraints(
    p: Mapping, names: Sequence[str], widths: Mapping[str, float] | None = None
):
    """Σ −½ ((θ − θ₀)/σ)² over the constrained parameters among ``names``.

    Widths default to each parameter's ``constraint_sd`` in the registry; parameters with
    none are left unconstrained.
    """
    total = pt.constant(0.0)
    for name in names:
        par = get_parameter(name)
        sd = (widths or {}).get(name, par.constraint_sd)
        if sd is None:
            continue
        total = total - 0.5 * ((p[name] - par.nominal) / sd) ** 2
    return total


class CompiledLoglike(NamedTuple):
    """ln L and its gradient as one compiled function of the free-parameter vector."""

    names: tuple[str, ...]
    fn: Callable[[np.ndarray], list]

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = self.fn(np.asarray(theta, float))
        return float(value), np.asarray(grad)


def compile_loglike(
    model: ForwardModel,
    free: Sequence[str],
    *,
    observed: np.ndarray | None = None,
    fixed: Mapping[str, float] | None = None,
    constraints: bool = True,
    mode=None,
) -> CompiledLoglike:
    """Compile ln L(θ) = Poisson(data | μ(θ)) [+ Gaussian constraints] and ∂ ln L/∂θ.

    Args:
        free: names of the parameters in the vector θ, in order.
        observed: counts per bin (default: the C data in the model's binning).
        fixed: values for parameters outside ``free`` (nominal otherwise).
        constraints: add the registry's Gaussian constraint terms for the free nuisances.
    """
    free = tuple(free)
    if len(set(free)) != len(free):
        raise ConfigError(f"free parameters repeat a name: {free}")
    for name in list(free) + list(fixed or {}):
        get_parameter(name)
    theta = pt.dvector("theta")
    p = {n: theta[i] for i, n in enumerate(free)}
    for name, value in (fixed or {}).items():
        if name not in p:
            p[name] = pt.constant(float(value), dtype="float64")
    obs = model.observed if observed is None else np.asarray(observed, float)
    ll = poisson_loglike(model.total(p), obs)
    if constraints:
        ll = ll + gaussian_constraints(p, free)
    grad = pytensor.grad(ll, theta)
    fn = compile_function([theta], [ll, grad], mode=mode)
    return CompiledLoglike(free, fn)


def time_call(fn: Callable[[], object], repeat: int = 7, number: int = 200) -> list[float]:
    """Per-call times in µs of ``fn``: ``repeat`` batches of ``number`` calls (median is robust)."""
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number * 1e6)
    return out
