"""Posterior of one or two parameters of interest on a grid: an independent reference for NUTS.

At every grid point x of the POIs the nuisances θ are integrated out with a Laplace
approximation in unconstrained coordinates u (θ = T(u): an affine logistic map onto a bounded
support, an exponential onto a half-line, the identity otherwise):

    ln p(x | data) ≈ max_u ℓ(x, u) + ½ ln det(2π H⁻¹),   ℓ = ln L + ln π(θ(u)) + ln|dθ/du|,

with H = −∂²ℓ/∂u² at the maximum. Nothing here goes through PyMC: the log-likelihood is the
forward graph's Poisson term and the priors are written directly from the spec, so agreement
with the sampler tests the PyMC model as well as the sampler. The same scan also records the
best nuisances and the maximum of the log joint (the "profile" of the posterior). Each point is
labelled with the band it lies in (:mod:`cevns_bayes.inference.modes`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from scipy import optimize

from cevns_bayes.errors import ConfigError
from cevns_bayes.inference.modes import weak_charge_sign_label_points
from cevns_bayes.model.compile import compile_function
from cevns_bayes.model.statistical import (  # noqa: F401  (re-exported)
    StatisticalModel,
    global_observable_sd,
    prior_logp_tensor,
)
from cevns_bayes.parallel import default_workers, map_forked
from cevns_bayes.progress import point_counter


# --- priors and unconstrained coordinates, written from the spec ----------------------------------
def _support(prior) -> tuple[float, float]:
    lo, hi = prior.support
    return float(lo), float(hi)


def to_constrained(prior, u):
    """θ = T(u) and ln|dθ/du| for a prior's support."""
    lo, hi = _support(prior)
    if np.isfinite(lo) and np.isfinite(hi):
        s = pt.sigmoid(u)
        return lo + (hi - lo) * s, math.log(hi - lo) + pt.log(s) + pt.log1p(-s)
    if np.isfinite(lo):
        return lo + pt.exp(u), u
    if np.isfinite(hi):
        return hi - pt.exp(u), u
    return u, pt.zeros_like(u)


def to_unconstrained(prior, theta: float) -> float:
    lo, hi = _support(prior)
    if np.isfinite(lo) and np.isfinite(hi):
        s = (theta - lo) / (hi - lo)
        s = min(max(s, 1e-12), 1 - 1e-12)
        return math.log(s / (1.0 - s))
    if np.isfinite(lo):
        return math.log(max(theta - lo, 1e-12))
    if np.isfinite(hi):
        return math.log(max(hi - theta, 1e-12))
    return float(theta)


# --- the grid ---------------------------------------------------------------------------------
@dataclass
class GridResult:
    """A POI grid: cell centres per axis and maps of shape ``tuple(len(a) for a in axes)``."""

    poi_names: tuple[str, ...]
    axes: list[np.ndarray]
    log_posterior: np.ndarray  # Laplace ln p(x | data), unnormalized
    log_joint_max: np.ndarray  # max over nuisances of ln L + ln π(θ)
    log_like_max: np.ndarray  # ln L at that maximum
    nuisance_names: tuple[str, ...]
    nuisance_best: np.ndarray  # (*shape, n_nuisance)
    labels: np.ndarray  # band label per cell
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.size for a in self.axes)

    def cell_volume(self) -> float:
        return float(np.prod([a[1] - a[0] if a.size > 1 else 1.0 for a in self.axes]))

    def probabilities(self) -> np.ndarray:
        """Posterior probability of each cell (flat POI prior over the grid's box)."""
        lp = self.log_posterior - np.nanmax(self.log_posterior)
        w = np.exp(np.where(np.isfinite(lp), lp, -np.inf))
        return w / w.sum()

    def density(self) -> np.ndarray:
        """Posterior density (per unit POI volume) at the cell centres."""
        return self.probabilities() / self.cell_volume()

    def mode_masses(self) -> dict[str, float]:
        p = self.probabilities()
        out: dict[str, float] = {}
        for lab in sorted(set(self.labels.ravel().tolist())):
            out[str(lab)] = float(p[self.labels == lab].sum())
        return out

    def marginal(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(cell centres, density) of one POI, the others summed out."""
        i = self.poi_names.index(name)
        p = self.probabilities()
        other = tuple(j for j in range(p.ndim) if j != i)
        m = p.sum(axis=other) if other else p
        ax = self.axes[i]
        return ax, m / (ax[1] - ax[0])

    def delta_chi2(self) -> np.ndarray:
        """−2 Δ(max ln joint): the posterior's profile, in χ² units."""
        return -2.0 * (self.log_joint_max - np.nanmax(self.log_joint_max))

    def quantiles(self, name: str, probs: Sequence[float]) -> np.ndarray:
        """Quantiles of a POI's marginal (piecewise-constant density within cells)."""
        ax, dens = self.marginal(name)
        h = ax[1] - ax[0]
        edges = np.concatenate([[ax[0] - h / 2], ax + h / 2])
        cdf = np.concatenate([[0.0], np.cumsum(dens * h)])
        cdf /= cdf[-1]
        return np.interp(np.asarray(probs, float), cdf, edges)

    def to_dict(self) -> dict[str, Any]:
        return {
            "poi_names": list(self.poi_names),
            "shape": list(self.shape),
            "ranges": [[float(a[0]), float(a[-1])] for a in self.axes],
            "mode_masses": self.mode_masses(),
            "seconds": self.seconds,
            **self.meta,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The grid as named arrays (the contents of ``grid.npz``:
        :func:`cevns_bayes.output.write_npz`)."""
        return {
            "poi_names": np.array(self.poi_names),
            "nuisance_names": np.array(self.nuisance_names),
            "log_posterior": self.log_posterior,
            "log_joint_max": self.log_joint_max,
            "log_like_max": self.log_like_max,
            "nuisance_best": self.nuisance_best,
            "labels": self.labels.astype(str),
            **{f"axis_{i}": a for i, a in enumerate(self.axes)},
        }


class LaplaceGrid:
    """Compiled ℓ(x, u), its gradient and Hessian in u, for one spec and forward model."""

    def __init__(self, spec, model=None, observed: np.ndarray | None = None) -> None:
        """``spec`` and its forward ``model``, or a :class:`StatisticalModel` alone."""
        sm = spec if isinstance(spec, StatisticalModel) else StatisticalModel(spec, model)
        spec = sm.spec
        self.statistical_model = sm
        self.spec = spec
        self.poi_names = sm.poi_names
        self.nuisance_names = sm.nuisance_names
        obs = sm.observed if observed is None else sm.check_data(observed)
        x = pt.dvector("x")
        u = pt.dvector("u")
        values: dict[str, Any] = {n: x[i] for i, n in enumerate(self.poi_names)}
        log_jac = pt.constant(0.0)
        for j, name in enumerate(self.nuisance_names):
            theta, jac = to_constrained(spec.nuisances[name], u[j])
            values[name] = theta
            log_jac = log_jac + jac
        ll = sm.loglike_tensor(values, obs)
        log_prior_theta = sm.log_constraint_tensor(values)
        ell = ll + log_prior_theta + log_jac
        grad = pytensor.grad(ell, u)
        theta_vec = pt.stack([values[n] for n in self.nuisance_names])
        self._f = compile_function([x, u], [-ell, -grad])
        self._extra = compile_function([x, u], [ll, theta_vec, log_prior_theta], hot=False)
        self.u0 = np.array(
            [
                to_unconstrained(spec.nuisances[n], spec.nuisances[n].center)
                for n in self.nuisance_names
            ]
        )

    def point(self, x: np.ndarray, u_start: np.ndarray):
        """Laplace log marginal, max log joint, ln L, best θ and best u at POI values x."""
        res = optimize.minimize(
            self,
            u_start,
            args=(x,),
            jac=True,
            method="BFGS",
            options={"gtol": 1e-6, "maxiter": 500},
        )
        u = res.x
        if not res.success and np.max(np.abs(res.jac)) > 1e-4:
            # BFGS stopped early (line-search precision): restart it once from where it stopped
            res2 = optimize.minimize(
                self, u, args=(x,), jac=True, method="BFGS", options={"maxiter": 500}
            )
            if res2.fun <= res.fun:
                res, u = res2, res2.x
        neg_hess = self.hessian(x, u)
        ll, theta, lprior = self._extra(x, u)
        sign, logdet = np.linalg.slogdet(neg_hess)
        if sign <= 0:
            log_laplace = -np.inf
        else:
            log_laplace = -res.fun + 0.5 * (u.size * math.log(2 * math.pi) - logdet)
        return log_laplace, float(ll + lprior), float(ll), np.asarray(theta), u

    def posterior_scales(self, x: np.ndarray, u: np.ndarray, iterations: int = 3) -> np.ndarray:
        """Per-coordinate posterior width in u from second differences of ℓ itself.

        The step starts at 0.1 and is reset to half the width found, so the curvature is
        measured over the posterior's own scale, not over the 2 ns lookup-table cells of the
        timing offset or the kinks of the efficiency mode (a gradient difference over 1e-4
        there sees a jump, not a curvature).
        """
        f0 = self._f(x, u)[0]
        scales = np.full(u.size, 0.2)
        for _ in range(iterations):
            for j in range(u.size):
                h = 0.5 * scales[j]
                e = np.zeros(u.size)
                e[j] = h
                c = (self._f(x, u + e)[0] + self._f(x, u - e)[0] - 2.0 * f0) / h**2
                scales[j] = 1.0 / np.sqrt(c) if c > 0 else 2.0 * scales[j]
        return np.clip(scales, 1e-4, 10.0)

    def hessian(self, x: np.ndarray, u: np.ndarray, step=None) -> np.ndarray:
        """−∂²ℓ/∂u² by central differences of the exact gradient (symmetrized).

        ``step`` (scalar or per coordinate) defaults to half the posterior width of each
        coordinate (:meth:`posterior_scales`): a secant curvature over the posterior's scale,
        robust to the piecewise-linear table lookups in the forward model.
        """
        n = u.size
        steps = (
            0.5 * self.posterior_scales(x, u)
            if step is None
            else np.broadcast_to(np.asarray(step, float), (n,))
        )
        h = np.empty((n, n))
        for j in range(n):
            e = np.zeros(n)
            e[j] = steps[j]
            h[:, j] = (self._f(x, u + e)[1] - self._f(x, u - e)[1]) / (2 * steps[j])
        return 0.5 * (h + h.T)

    def __call__(self, u, x):
        """−ℓ and −∇ℓ at (x, u), in the argument order scipy.optimize passes."""
        return self._f(x, u)


def default_axes(spec, points: int | Sequence[int]) -> list[np.ndarray]:
    """Cell centres spanning each POI's flat prior box (or ±6 prior widths otherwise)."""
    n_poi = len(spec.pois)
    pts = [points] * n_poi if isinstance(points, int) else list(points)
    if len(pts) != n_poi:
        raise ConfigError(f"grid points {pts} do not match the {n_poi} POIs {tuple(spec.pois)}")
    axes = []
    for k, (name, poi) in enumerate(spec.pois.items()):
        lo, hi = poi.prior.support
        if not (np.isfinite(lo) and np.isfinite(hi)):
            lo = max(lo, poi.prior.center - 6 * poi.prior.width)
            hi = min(hi, poi.prior.center + 6 * poi.prior.width)
        h = (hi - lo) / pts[k]
        if pts[k] < 2:
            raise ConfigError(f"grid for {name}: need at least 2 points, got {pts[k]}")
        axes.append(lo + h * (np.arange(pts[k]) + 0.5))
    return axes


#: grids with at least this many points are split over worker processes (see posterior_grid)
PARALLEL_GRID_MIN_POINTS = 400


def posterior_grid(
    spec,
    model,
    points: int | Sequence[int] = 61,
    *,
    axes: Sequence[np.ndarray] | None = None,
    observed: np.ndarray | None = None,
    progressbar: bool = False,
    workers: int | None = None,
    laplace: LaplaceGrid | None = None,
) -> GridResult:
    """Laplace-marginal posterior of the spec's POIs (1 or 2 of them) on a grid.

    ``laplace``: a :class:`LaplaceGrid` of this spec already compiled (for its data: then
    ``observed`` must be None), so that several grids of one analysis compile it once.

    Every cell's optimization starts from the prior centres of the nuisances. (Starting from
    the neighbouring cell's optimum saves iterations, but a walk that once lands in a wrong
    basin of the nuisances, near the kinks of the piecewise-linear lookups or the clipped
    efficiency, carries it on to the next cells: up to 30 units of ln p off on half of the
    nsi_ee grid, seen as a broken reflection symmetry.) So each cell is a function of its
    POI values alone and the result does not depend on how the grid is split: ``workers``
    processes (default: every core for a grid of at least :data:`PARALLEL_GRID_MIN_POINTS`
    points with at least two rows, else one) each take a contiguous block of rows of the
    first axis. The workers are forked (where the platform can), so they share the likelihood
    compiled here; elsewhere the grid runs in one process.
    """
    if len(spec.pois) not in (1, 2):
        raise ConfigError(f"a posterior grid takes 1 or 2 POIs, the spec has {tuple(spec.pois)}")
    t0 = time.perf_counter()
    axes = [np.asarray(a, float) for a in (axes or default_axes(spec, points))]
    shape = tuple(a.size for a in axes)
    n_rows = shape[0] if len(shape) == 2 else 1
    if workers is None:
        big = int(np.prod(shape)) >= PARALLEL_GRID_MIN_POINTS
        workers = default_workers(n_rows) if big else 1
    blocks = [r for r in np.array_split(np.arange(n_rows), max(1, min(workers, n_rows))) if r.size]
    bar = point_counter(int(np.prod(shape)), progressbar)
    if laplace is not None and observed is not None:
        raise ConfigError("give the data to the LaplaceGrid, not with a compiled one")
    # compiled once; forked workers share it
    lap = laplace if laplace is not None else LaplaceGrid(spec, model, observed)
    if len(blocks) == 1:
        parts = [_grid_block(lap, axes, None, bar)]
    else:
        finished = []

        def progress(_rows, part):
            finished.append(part["log_post"].size)
            bar(sum(finished))

        parts = map_forked(
            lambda rows: _grid_block(lap, axes, rows),
            blocks,
            workers=len(blocks),
            on_result=progress,
        )
    cat = {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0] if k != "names"}
    if len(shape) == 1:  # drop the one "row" of a 1-D grid
        cat = {k: v[0] for k, v in cat.items()}
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    labels = weak_charge_sign_label_points(
        tuple(spec.pois), mesh, couplings=spec.model.get("couplings", "tree")
    ).reshape(shape)
    return GridResult(
        tuple(spec.pois),
        axes,
        cat["log_post"],
        cat["log_joint"],
        cat["log_like"],
        parts[0]["names"],
        cat["best"],
        labels,
        time.perf_counter() - t0,
        {"method": "laplace", "nuisances": list(parts[0]["names"]), "workers": len(blocks)},
    )


def _grid_block(lap: LaplaceGrid, axes, rows, bar=None) -> dict[str, Any]:
    """Laplace posterior on the rows ``rows`` of the first axis (all of a 1-D grid when
    ``rows`` is None), every cell optimized from the prior centres of the nuisances."""
    if rows is None or len(axes) == 1:
        sub_axes = list(axes)
    else:
        sub_axes = [axes[0][np.asarray(rows)], axes[1]]
    shape = tuple(a.size for a in sub_axes)
    n_nuis = len(lap.nuisance_names)
    out = {
        "log_post": np.full(shape, -np.inf),
        "log_joint": np.full(shape, -np.inf),
        "log_like": np.full(shape, -np.inf),
        "best": np.full((*shape, n_nuis), np.nan),
    }
    for k, idx in enumerate(np.ndindex(*shape)):
        x = np.array([sub_axes[d][i] for d, i in enumerate(idx)])
        lp, lj, ll, theta, _ = lap.point(x, lap.u0)
        out["log_post"][idx], out["log_joint"][idx], out["log_like"][idx] = lp, lj, ll
        out["best"][idx] = theta
        if bar is not None:
            bar(k + 1)
    if len(axes) == 1:  # one "row" holding the whole 1-D grid
        out = {k: v[None, ...] for k, v in out.items()}
    out["names"] = lap.nuisance_names
    return out
