"""The binned Poisson log-likelihood as a pytensor expression, and a timing helper.

:class:`~cevns_bayes.model.statistical.StatisticalModel` is the one place that puts it together
with the forward model and the priors; every inference method compiles what it builds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytensor.tensor as pt
from scipy.special import gammaln


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


def log_sum_exp(x):
    """ln Σ exp(x) of a vector tensor, stable, with the shift by max(x) cut off the gradient
    (the result does not depend on it). pytensor's ``logsumexp`` returned a nan gradient for
    the stacked image log-likelihoods of a folded model when the data are an input (toys)."""
    from pytensor.gradient import disconnected_grad

    top = disconnected_grad(pt.max(x))
    return top + pt.log(pt.sum(pt.exp(x - top)))


def log_factorial_sum(counts) -> float:
    """Σ_bins ln n! of observed counts (the parameter-free term of the Poisson ln L)."""
    return float(np.sum(gammaln(np.asarray(counts, float) + 1.0)))


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
