"""Upper limits on one POI at a fixed value of another parameter: the pieces of an exclusion
curve (``cevns-bayes scan``, :mod:`cevns_bayes.workflows.exclusion`).

A scan fixes a parameter x (a mediator mass, Δm²) at many values and sets, at each, a 90%
upper limit on a POI g. Recompiling the likelihood for every x would cost a compilation per
point, so :func:`scan_spec` turns the spec into one where x is a POI too (flat over its
range: its prior never enters, x is always held fixed) and every other POI a nuisance with its
prior (profiled, or marginalised by Laplace): one compiled likelihood serves every x.

**Profile** (:func:`profile_upper_limit`): the best fit ĝ at fixed x, bounded at g's physical
lower bound (MIGRAD's limits: ĝ ≥ 0 for a coupling), then the g > ĝ where the profile
Δχ²(g) = 2 [NLL(g) − NLL(ĝ)] crosses 2.706 (the nuisances re-fitted at each g; Brent on the
crossing). 2.706 is the χ²₁ 90% quantile: it is the upper end of the two-sided 90% interval
(Wilks), i.e. asymptotically a one-sided 95% upper limit, the convention of most published
exclusion curves; the one-sided 90% limit would be Δχ² = 1.64 (``level``). When ĝ sits at the
bound the Δχ² is taken from the bounded minimum. If Δχ² stays below the level up to g's upper
bound, the limit is that bound and ``at_bound`` is set. With a ``curve`` the profile Δχ² is
also computed on a grid of g and every band below the level reported: a coarse grid can step
over a narrow second band (the sign-flipped weak charge of a heavy Z′ sits at a g a few times
the limit and is a few % wide), so a quick scan of −ln L at the best fit's nuisances on 800
values (:func:`island_points`) first puts points across each of its local minima, and the
bands found are refined again (:func:`refined_points`).

**Bayes** (:func:`bayes_upper_limits`): the posterior of g at fixed x with the nuisances
marginalised by a Laplace approximation (:class:`~cevns_bayes.inference.grid.LaplaceGrid`),
on a 1-D grid of g: linear points over g's prior box and log-spaced points from the log cut
up (so both priors are resolved). The flat-prior limit integrates exp(ln p) in g (trapezoid)
and the log-uniform limit in ln g over [cut, upper], cut = ``log_min`` (default
:data:`LOG_PRIOR_MIN_FRACTION` × the box's upper end): a log-uniform prior needs a lower cut
and its limit depends on it (the posterior keeps a mass ∝ ln(sensitivity / cut) below the
sensitivity), so the cut is recorded with every limit.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import optimize, stats

from cevns_bayes.errors import ConfigError
from cevns_bayes.model.parameters import parameter_bounds

#: Δχ² of the 90% CL profile limit (χ²₁ quantile; module docstring on the convention)
DCHI2_90 = float(stats.chi2.ppf(0.90, 1))
#: the log-uniform prior's lower cut as a fraction of the POI box's upper end
LOG_PRIOR_MIN_FRACTION = 1e-4


def scan_spec(spec, parameter: str, limit_on: str, *, upper: float | None = None):
    """The spec with ``parameter`` as a second POI (flat over its range, always held fixed)
    and every POI but ``limit_on`` moved to the nuisances with its prior (module docstring);
    ``upper`` widens ``limit_on``'s flat box to that upper end (a scan whose box follows x).
    """
    from cevns_bayes.spec import PoiSpec, Prior

    if limit_on not in spec.pois:
        raise ConfigError(
            f"{spec.name}: limit_on {limit_on!r} is not a POI; POIs: {', '.join(spec.pois)}"
        )
    if parameter in spec.pois or parameter in spec.nuisances:
        raise ConfigError(f"{spec.name}: the scanned {parameter!r} must be fixed, not free")
    lo, hi = parameter_bounds(parameter)
    fixed = dict(spec.fixed)
    value = fixed.pop(parameter, None)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        # an unbounded parameter: a box around the scanned values is enough (never sampled)
        centre = 1.0 if value is None else float(value)
        lo = lo if math.isfinite(lo) else centre - 1e6 * (abs(centre) + 1.0)
        hi = hi if math.isfinite(hi) else centre + 1e6 * (abs(centre) + 1.0)
    prior = Prior("flat", lower=float(lo), upper=float(hi))
    poi = spec.pois[limit_on]
    if upper is not None and upper != poi.prior.upper:
        if poi.prior.kind != "flat":
            raise ConfigError(f"{spec.name}: only a flat box on {limit_on} can follow the scan")
        poi = dataclasses.replace(poi, prior=dataclasses.replace(poi.prior, upper=float(upper)))
    pois = {limit_on: poi}
    pois[parameter] = PoiSpec(parameter, prior, 0.5 * (lo + hi), spec.pois[limit_on].units)
    nuisances = dict(spec.nuisances)
    for name, poi in spec.pois.items():
        if name != limit_on:
            nuisances[name] = poi.prior
    return dataclasses.replace(spec, pois=pois, nuisances=nuisances, fixed=fixed, scan=None)


def profile_upper_limit(
    pl,
    limit_on: str,
    parameter: str,
    x: float,
    *,
    level: float = DCHI2_90,
    start: Mapping[str, float] | None = None,
    upper: float | None = None,
    curve: np.ndarray | None = None,
    refine: int = 0,
) -> dict[str, Any]:
    """The profile-likelihood upper limit on ``limit_on`` at ``parameter = x`` (module
    docstring), from a :class:`~cevns_bayes.inference.profile.ProfileLikelihood` of
    :func:`scan_spec`. Returns the limit, the best fit and the Δχ² found at the limit.
    ``upper`` caps the search below the POI's bound (a box that follows x). With ``curve``
    (POI values) it also returns the profile Δχ² at those values (``curve``: ``values``,
    ``delta_chi2`` from this x's best fit, ``nll``) and the ``allowed`` intervals where it is
    below ``level``: every allowed band, not only the one that holds the best fit; ``refine``
    > 0 adds points where the curve matters (:func:`refined_points`) and evaluates them too,
    so ``curve["values"]`` is then a finer grid than the one given (the Bayesian limit reuses
    it)."""
    t0 = time.perf_counter()
    n0 = pl.nfcn
    i_poi = pl.names.index(limit_on)
    lo_b, hi_b = pl.bounds[i_poi]
    lo_b = -np.inf if lo_b is None else lo_b
    hi_b = np.inf if hi_b is None else hi_b
    if upper is not None:
        hi_b = min(hi_b, float(upper))
    fixed = {parameter: float(x)}
    best = pl.fit(fixed, start, hesse=False)
    if not best.valid:  # a second start from the nominal point
        other = pl.fit(fixed, None, hesse=False)
        if other.nll < best.nll:
            best = other
    g_hat = best.values[limit_on]
    cache: dict[float, Any] = {}

    def fit_at(g: float):
        # each fit starts from the nuisances of the nearest point fitted so far
        if g not in cache:
            near = min(cache, key=lambda k: abs(k - g), default=None)
            s0 = best.values if near is None else cache[near].values
            cache[g] = pl.fit({**fixed, limit_on: g}, s0, hesse=False)
        return cache[g]

    def excess(g: float) -> float:
        return 2.0 * (fit_at(g).nll - best.nll) - level

    # bracket the crossing above ĝ: steps growing from the fit's scale up to the bound
    width = max(abs(g_hat), 1e-3 * (hi_b - lo_b if np.isfinite(hi_b - lo_b) else 1.0))
    a = g_hat
    b = g_hat + width
    at_bound = False
    limit = float("nan")
    for _ in range(60):
        if b >= hi_b:
            b = hi_b
        fb = excess(b)
        if fb >= 0:
            limit = optimize.brentq(excess, a, b, xtol=1e-6 * max(abs(b), 1e-12), rtol=1e-8)
            break
        if b >= hi_b:
            at_bound, limit = True, float(hi_b)
            break
        a = b
        b = g_hat + 2.0 * (b - g_hat)
    d_at = excess(limit) + level if np.isfinite(limit) else float("nan")
    extra: dict[str, Any] = {}
    if curve is not None:
        gs = np.asarray(curve, float)
        gs = gs[(gs >= lo_b) & (gs <= hi_b)]
        if refine > 0:  # narrow islands a coarse grid would step over (module docstring)
            gs = np.unique(
                np.concatenate([gs, island_points(pl, best, limit_on, lo_b, hi_b, level)])
            )
        for _ in range(2):  # the given points, then again with points added where it matters
            nll = np.array([fit_at(float(g)).nll for g in gs])
            d = 2.0 * (nll - best.nll)
            bands = allowed_intervals(gs, d, level, best=g_hat)
            if refine <= 0:
                break
            more = refined_points(gs, lo_b, hi_b, limit, bands, refine)
            if more.size == gs.size:
                break
            gs, refine = more, 0
        extra["curve"] = {"values": gs.tolist(), "delta_chi2": d.tolist(), "nll": nll.tolist()}
        extra["allowed"] = bands
    return {
        "x": float(x),
        "upper_90": float(limit),
        "at_bound": at_bound,
        "best": float(g_hat),
        "best_at_bound": bool(abs(g_hat - lo_b) <= 1e-6 * max(1.0, abs(lo_b))),
        "nll_best": float(best.nll),
        "delta_chi2_at_limit": float(d_at),
        "valid": bool(best.valid),
        "nfcn": int(pl.nfcn - n0),
        "seconds": time.perf_counter() - t0,
        "nuisances_best": {k: v for k, v in best.values.items() if k not in (limit_on,)},
        **extra,
    }


#: points of the quick scan that looks for islands (:func:`island_points`)
ISLAND_SCAN_POINTS = 800
#: a local minimum of the quick scan within this Δχ² of the best fit is refined (the nuisances
#: held at the best fit's: re-fitting them can only lower it)
ISLAND_SCAN_MARGIN = 30.0


def island_points(pl, best, limit_on: str, lower: float, upper: float, level: float):
    """Points across every local minimum of a quick scan of the POI, where a second allowed
    band may lie: −ln L with the nuisances held at the best fit's, on
    :data:`ISLAND_SCAN_POINTS` values (half evenly spaced, half log-spaced from 1e-4 of the
    range) between ``lower`` and ``upper``; around each local minimum within
    :data:`ISLAND_SCAN_MARGIN` + ``level`` of the best fit, 9 points over its neighbours'
    span. One value costs one likelihood evaluation, not a fit."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return np.array([])
    i = pl.names.index(limit_on)
    half = ISLAND_SCAN_POINTS // 2
    g = [np.linspace(lower, upper, half)]
    log_lo = max(lower, 1e-4 * (upper - lower))
    if log_lo > 0:
        g.append(np.geomspace(log_lo, upper, half))
    g = np.unique(np.concatenate(g))
    theta = np.array([best.values[n] for n in pl.names], float)
    quick = np.empty(g.size)
    for k, v in enumerate(g):
        theta[i] = v
        quick[k] = pl.nll(theta)
    d = 2.0 * (quick - best.nll)
    out = []
    for k in range(1, g.size - 1):
        if d[k] <= d[k - 1] and d[k] <= d[k + 1] and d[k] < ISLAND_SCAN_MARGIN + level:
            out.append(np.linspace(g[k - 1], g[k + 1], 9))
    return np.concatenate(out) if out else np.array([])


def refined_points(
    values: np.ndarray, lower: float, upper: float, limit: float, bands, n: int
) -> np.ndarray:
    """``values`` with ``n`` points added evenly over [lower, 2 × limit] (where a posterior
    bounded by the limit holds its mass) and ``n`` across each allowed band, widened by a
    quarter of its width on each side (an island's edges), all clipped to [lower, upper]."""
    pts = [np.asarray(values, float)]
    if np.isfinite(limit) and limit > lower:
        pts.append(np.linspace(lower, min(upper, lower + 2.0 * (limit - lower)), n))
    for a, b in bands:
        w = 0.25 * (b - a)
        pts.append(np.linspace(max(lower, a - w), min(upper, b + w), n))
    out = np.unique(np.concatenate(pts))
    return out[(out >= lower) & (out <= upper)]


def allowed_intervals(
    values: np.ndarray, delta_chi2: np.ndarray, level: float, *, best: float | None = None
) -> list[list[float]]:
    """The intervals of ``values`` where ``delta_chi2`` < ``level``, ends interpolated linearly
    between grid points (an interval open at the grid's end keeps the end point); ``best``
    (the best fit, Δχ² = 0) is added as a point so a narrow band around it is never missed."""
    x = np.asarray(values, float)
    d = np.asarray(delta_chi2, float)
    if best is not None and np.isfinite(best) and x.size and x[0] <= best <= x[-1]:
        k = int(np.searchsorted(x, best))
        if k >= x.size or x[k] != best:
            x, d = np.insert(x, k, best), np.insert(d, k, 0.0)
    inside = d < level
    out: list[list[float]] = []
    start = None
    for k in range(x.size):
        if inside[k] and start is None:
            if k == 0:
                start = float(x[0])
            else:
                t = (level - d[k - 1]) / (d[k] - d[k - 1])
                start = float(x[k - 1] + t * (x[k] - x[k - 1]))
        if start is not None and (not inside[k] or k == x.size - 1):
            if inside[k]:
                end = float(x[k])
            else:
                t = (level - d[k - 1]) / (d[k] - d[k - 1])
                end = float(x[k - 1] + t * (x[k] - x[k - 1]))
            out.append([start, end])
            start = None
    return out


def limit_grid(lower: float, upper: float, n_linear: int, n_log: int, log_min: float):
    """The POI points of the Bayesian grid: ``n_linear`` evenly spaced over [lower, upper]
    and ``n_log`` log-spaced over [log_min, upper] (sorted, unique)."""
    pts = [np.linspace(lower, upper, n_linear)]
    if n_log > 0 and log_min > 0:
        pts.append(np.geomspace(log_min, upper, n_log))
    return np.unique(np.concatenate(pts))


def credible_upper(x: np.ndarray, log_density: np.ndarray, prob: float = 0.90, *, log_x=False):
    """The ``prob`` quantile of a density known at the points ``x`` (log values), integrating
    exp(log_density) by the trapezoid rule in x (or in ln x with ``log_x``) and interpolating
    the CDF linearly."""
    x = np.asarray(x, float)
    lp = np.asarray(log_density, float)
    keep = np.isfinite(lp)
    if log_x:
        keep &= x > 0
    x, lp = x[keep], lp[keep]
    if x.size < 2:
        return float("nan")
    w = np.exp(lp - lp.max())
    s = np.log(x) if log_x else x
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(s))])
    cdf /= cdf[-1]
    i = int(np.searchsorted(cdf, prob))
    i = min(max(i, 1), cdf.size - 1)
    # within the cell the density is linear, so the CDF is quadratic: solve it exactly
    s0, s1, w0, w1 = s[i - 1], s[i], w[i - 1], w[i]
    total = cdf[-1] if cdf[-1] else 1.0
    need = (prob - cdf[i - 1]) * total
    norm = np.sum(0.5 * (w[1:] + w[:-1]) * np.diff(s))
    need *= norm
    h = s1 - s0
    slope = (w1 - w0) / h
    if abs(slope) * h < 1e-12 * max(w0, 1e-300):
        ds = need / w0
    else:
        ds = (-w0 + math.sqrt(max(w0 * w0 + 2.0 * slope * need, 0.0))) / slope
    out = s0 + min(max(ds, 0.0), h)
    return float(math.exp(out) if log_x else out)


def bayes_upper_limits(
    lap,
    limit_on: str,
    parameter: str,
    x: float,
    *,
    grid: np.ndarray,
    log_min: float,
    prob: float = 0.90,
) -> dict[str, Any]:
    """Flat- and log-uniform-prior credible upper limits on ``limit_on`` at ``parameter = x``
    from a :class:`~cevns_bayes.inference.grid.LaplaceGrid` of :func:`scan_spec` (module
    docstring); ``grid`` are the POI points. Returns the limits and the grid's ln p."""
    t0 = time.perf_counter()
    order = [limit_on, parameter]
    if tuple(lap.poi_names) != tuple(order):
        raise ConfigError(f"the Laplace grid's POIs are {lap.poi_names}, expected {order}")
    grid = np.asarray(grid, float)
    log_post = np.empty(grid.size)
    for k, g in enumerate(grid):
        log_post[k] = lap.point(np.array([g, float(x)]), lap.u0)[0]
    flat = credible_upper(grid, log_post, prob)
    sel = grid >= log_min
    log = credible_upper(grid[sel], log_post[sel], prob, log_x=True)
    return {
        "x": float(x),
        "upper_90_flat": flat,
        "upper_90_log": log,
        "log_prior_min": float(log_min),
        "grid": grid.tolist(),
        "log_posterior": log_post.tolist(),
        "seconds": time.perf_counter() - t0,
    }
