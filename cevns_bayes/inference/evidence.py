"""The Bayesian evidence Z = ∫ L(data | θ) π(θ) dθ of an analysis, by three estimators.

Every estimator integrates the same statistical model
(:class:`~cevns_bayes.model.statistical.StatisticalModel`): the binned Poisson likelihood with
ln n! included, and the spec's priors, each normalized (a flat POI prior is 1/width on its box,
so Z and every Bayes factor depend on the box; that dependence is the point of
:mod:`cevns_bayes.workflows.comparison`).

- ``nested`` (:func:`nested_log_z`): nested sampling with dynesty (static sampler,
  multi-ellipsoid bounds, random-slice moves), on the unit cube mapped to θ by each prior's
  inverse CDF. Multimodal posteriors (the NSI and charge-radius sign bands) need nothing
  special: the live points populate every band. Several independent runs are combined; the
  error is the larger of dynesty's own estimate (the statistical error of the prior-volume
  shrinkage, from the information H: √(H / n_live)) and the runs' spread.
  Chosen over nautilus and UltraNest because it depends on numpy and scipy only, is
  maintained and reports ln Z with its error; nautilus needs scikit-learn, UltraNest is
  slower at this dimension.
- ``smc`` (:func:`smc_log_z`): PyMC's sequential Monte Carlo on the package's PyMC model
  (tempered from the prior to the posterior; ln Z is the sum of the log mean incremental
  weights). Each chain is an independent run: the estimate is ln of the mean of the chains'
  Z and its error the spread of the chains' ln Z over √n_chains. A folded (multimodal) spec is
  run on its folded density, whose integral over the box is |G| Z (the reflections map the box
  onto itself), so ln |G| is subtracted.
- ``laplace_grid`` (:func:`grid_log_z`, one or two POIs with flat priors): the Laplace-
  marginal posterior on a grid of the POIs (:mod:`cevns_bayes.inference.grid`) summed by the
  midpoint rule, with the normalizations of the POI box and of the nuisance priors added back.
  Its error is taken as the difference to the same sum on a grid of half the points per axis
  (the Laplace approximation's own error is not in it: it is exact for a Gaussian posterior in
  the unconstrained nuisance coordinates).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
from scipy import special

from cevns_bayes.errors import ConfigError

#: the estimators, in the order ``cevns-bayes evidence`` runs them
ESTIMATORS = ("nested", "smc", "laplace_grid")


# --- priors ----------------------------------------------------------------------------------
def log_normalisation(prior) -> float:
    """ln c such that c · exp(ln π̃) is the normalized density, for the unnormalized constraint
    term ln π̃ of :func:`~cevns_bayes.model.statistical.prior_logp_tensor` (flat: 0 inside the
    box; normal: −½ z²; lognormal: −½ z² − ln x)."""
    kind = prior.kind
    if kind == "flat":
        return -math.log(prior.upper - prior.lower)
    if kind == "normal":
        return -math.log(prior.sigma * math.sqrt(2.0 * math.pi))
    if kind == "truncated_normal":
        lo, hi = prior.support
        a, b = (lo - prior.mu) / prior.sigma, (hi - prior.mu) / prior.sigma
        mass = special.ndtr(b) - special.ndtr(a)
        return -math.log(prior.sigma * math.sqrt(2.0 * math.pi) * mass)
    if kind == "lognormal":
        # ∫ exp(−½ z² − ln x) dx with z = (ln x − ln m)/s is s √(2π)
        return -math.log(prior.sigma_log * math.sqrt(2.0 * math.pi))
    raise ConfigError(f"prior kind {kind!r} has no normalisation here")


class PriorTransform:
    """θ(u): the unit cube onto the parameters of a statistical model, each coordinate by its
    prior's inverse CDF (vectorised closed forms; the nested sampler calls it per point)."""

    def __init__(self, sm) -> None:
        self.names = sm.parameter_names
        kinds, p0, p1, lo_cdf, width_cdf = [], [], [], [], []
        for name in self.names:
            prior = sm.parameters[name].prior
            kind = prior.kind
            if kind == "flat":
                kinds.append(0)
                p0.append(prior.lower)
                p1.append(prior.upper - prior.lower)
                lo_cdf.append(0.0)
                width_cdf.append(1.0)
            elif kind in ("normal", "truncated_normal"):
                lo, hi = prior.support
                a = special.ndtr((lo - prior.mu) / prior.sigma) if np.isfinite(lo) else 0.0
                b = special.ndtr((hi - prior.mu) / prior.sigma) if np.isfinite(hi) else 1.0
                kinds.append(1)
                p0.append(prior.mu)
                p1.append(prior.sigma)
                lo_cdf.append(float(a))
                width_cdf.append(float(b - a))
            elif kind == "lognormal":
                kinds.append(2)
                p0.append(math.log(prior.median))
                p1.append(prior.sigma_log)
                lo_cdf.append(0.0)
                width_cdf.append(1.0)
            else:  # pragma: no cover - the spec admits no other kind
                raise ConfigError(f"{name}: prior kind {kind!r} has no inverse CDF here")
        self.kind = np.array(kinds)
        self.p0, self.p1 = np.array(p0, float), np.array(p1, float)
        self.lo_cdf, self.width_cdf = np.array(lo_cdf), np.array(width_cdf)

    @property
    def ndim(self) -> int:
        return len(self.names)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, float)
        flat = self.p0 + self.p1 * u
        # a (truncated) normal: Φ⁻¹ of u mapped into [Φ(a), Φ(b)], kept off 0 and 1
        q = np.clip(self.lo_cdf + self.width_cdf * u, 1e-300, 1.0 - 1e-16)
        z = special.ndtri(q)
        return np.where(
            self.kind == 0,
            flat,
            np.where(self.kind == 1, self.p0 + self.p1 * z, np.exp(self.p0 + self.p1 * z)),
        )


# --- nested sampling ---------------------------------------------------------------------------
def nested_log_z(
    sm,
    data=None,
    *,
    nlive: int = 400,
    dlogz: float = 0.1,
    runs: int = 3,
    seed: int = 20211,
    progress: bool = False,
) -> dict[str, Any]:
    """ln Z by dynesty's static nested sampler (module docstring), ``runs`` independent runs
    (seeds ``seed``, ``seed + 1``, ...) combined as ln of their mean Z. The error is the larger
    of dynesty's own (combined over the runs) and the runs' spread over √runs: on the xsec
    analysis single runs scatter by 0.2 in ln Z where dynesty states 0.13. Returns ``value``,
    ``error``, ``runs`` (each run's ln Z, error, calls, H), ``ncall``, ``seconds``, settings."""
    import dynesty

    data = sm.observed if data is None else sm.check_data(data)
    transform = PriorTransform(sm)
    loglike = sm.loglike_function(data)

    def lnl(theta):
        value = loglike(theta)
        return value if np.isfinite(value) else -1e300

    t0 = time.perf_counter()
    per_run = []
    for k in range(runs):
        sampler = dynesty.NestedSampler(
            lnl,
            transform,
            transform.ndim,
            nlive=nlive,
            bound="multi",
            sample="rslice",
            rstate=np.random.default_rng(seed + k),
        )
        sampler.run_nested(dlogz=dlogz, print_progress=progress)
        res = sampler.results
        per_run.append(
            {
                "value": float(res.logz[-1]),
                "error": float(res.logzerr[-1]),
                "ncall": int(np.sum(res.ncall)),
                "niter": int(res.niter),
                "information": float(res.information[-1]),
            }
        )
    values = np.array([r["value"] for r in per_run])
    own = float(np.sqrt(np.mean([r["error"] ** 2 for r in per_run])) / math.sqrt(runs))
    spread = float(np.std(values, ddof=1) / math.sqrt(runs)) if runs > 1 else 0.0
    return {
        "value": float(special.logsumexp(values) - math.log(runs)),
        "error": max(own, spread),
        "error_dynesty": own,
        "error_spread": spread if runs > 1 else None,
        "runs": per_run,
        "ncall": int(sum(r["ncall"] for r in per_run)),
        "seconds": time.perf_counter() - t0,
        "settings": {
            "sampler": f"dynesty {dynesty.__version__} NestedSampler",
            "bound": "multi",
            "sample": "rslice",
            "nlive": nlive,
            "dlogz": dlogz,
            "runs": runs,
            "seed": seed,
        },
    }


# --- sequential Monte Carlo ------------------------------------------------------------------
def smc_log_z(
    sm,
    data=None,
    *,
    draws: int = 2000,
    chains: int = 4,
    seed: int = 20211,
    cores: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """ln Z by PyMC's SMC, ``chains`` independent runs of ``draws`` particles (module
    docstring). Returns ``value``, ``error``, ``per_chain``, ``stages`` and ``seconds``."""
    import pymc as pm

    from cevns_bayes.inference.bayes import build_pymc_model, reflection_group

    data = sm.observed if data is None else sm.check_data(data)
    group = reflection_group(sm.spec)
    t0 = time.perf_counter()
    pm_model = build_pymc_model(
        sm.spec, sm.forward, data, deterministics=False, initial_values=False
    )
    with pm_model, warnings.catch_warnings():
        # PyMC stores the per-stage SMC statistics as (chain, stage) arrays; when a run takes
        # fewer stages than there are chains, ArviZ's shape heuristic warns "More chains than
        # draws" about arrays that are the right way round
        warnings.filterwarnings("ignore", message="More chains .* than draws")
        idata = pm.sample_smc(
            draws=draws,
            chains=chains,
            cores=cores or min(chains, 2),
            random_seed=seed,
            progressbar=progress,
            compute_convergence_checks=False,
            return_inferencedata=True,
        )
    # one entry per chain: its ln Z after the last stage (beta = 1)
    # one entry per chain: its ln Z after the last stage (beta = 1). The stored array's layout
    # depends on whether the chains took the same number of stages (then one float per
    # (chain, draw, stage)) or not (object entries, nan-padded), so read it flat per chain
    lml = np.asarray(idata.sample_stats["log_marginal_likelihood"].values, dtype=object)
    per_chain = []
    for row in lml.reshape(chains, -1):
        vals = np.array([v for v in np.ravel(np.stack(row)) if np.isfinite(v)], float)
        per_chain.append(float(vals[-1]))
    per_chain_arr = np.array(per_chain)
    if per_chain_arr.size != chains:
        raise RuntimeError(f"SMC returned {per_chain_arr.size} ln Z values for {chains} chains")
    shift = math.log(group.n_images) if group is not None else 0.0
    value = float(special.logsumexp(per_chain_arr) - math.log(chains)) - shift
    error = float(np.std(per_chain_arr, ddof=1) / math.sqrt(chains)) if chains > 1 else math.nan
    betas = idata.sample_stats.get("beta")
    return {
        "value": value,
        "error": error,
        "per_chain": [v - shift for v in per_chain],
        "folded_images": group.n_images if group is not None else 1,
        "stages": int(np.asarray(betas).shape[-1]) if betas is not None else None,
        "seconds": time.perf_counter() - t0,
        "settings": {
            "sampler": f"pymc {pm.__version__} sample_smc",
            "draws": draws,
            "chains": chains,
            "seed": seed,
        },
    }


# --- the Laplace grid ------------------------------------------------------------------------
def grid_log_z(sm, data=None, *, points: int = 41, workers: int | None = None) -> dict[str, Any]:
    """ln Z from the Laplace-marginal posterior on a grid of the POIs (module docstring); one
    or two POIs with flat priors. ``points`` per axis; the error is the change from a grid of
    ``points // 2``. Returns ``value``, ``error``, ``coarse`` and ``seconds``."""
    from cevns_bayes.inference.grid import LaplaceGrid, default_axes, posterior_grid

    spec = sm.spec
    if len(spec.pois) not in (1, 2):
        raise ConfigError(f"{spec.name}: the grid estimate needs 1 or 2 POIs, not {len(spec.pois)}")
    bad = [n for n, p in spec.pois.items() if p.prior.kind != "flat"]
    if bad:
        raise ConfigError(
            f"{spec.name}: the grid estimate needs flat POI priors ({', '.join(bad)})"
        )
    data = sm.observed if data is None else sm.check_data(data)
    t0 = time.perf_counter()
    constant = sum(log_normalisation(spec.pois[n].prior) for n in spec.pois)
    constant += sum(log_normalisation(spec.nuisances[n]) for n in spec.nuisances)

    lap = LaplaceGrid(sm, observed=data) if spec.nuisances else None  # both grids share it

    def integral(n: int) -> float:
        if lap is None:  # nothing to marginalise: ln L on the cell centres
            axes = default_axes(spec, n)
            ll = sm.loglike_function(data)
            pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
            lp = np.array([ll(x) for x in pts])
            volume = float(np.prod([a[1] - a[0] for a in axes]))
        else:
            grid = posterior_grid(spec, sm.forward, n, workers=workers, laplace=lap)
            lp = grid.log_posterior[np.isfinite(grid.log_posterior)]
            volume = grid.cell_volume()
        return float(special.logsumexp(lp) + math.log(volume) + constant)

    fine = integral(points)
    coarse = integral(max(points // 2, 3))
    return {
        "value": fine,
        "error": abs(fine - coarse),
        # the resolution only: the Laplace step's own error is not in it (0.15-0.2 nats below
        # SMC on the shipped specs, README *Model comparison*)
        "error_covers": "grid resolution only, not the Laplace approximation",
        "coarse": coarse,
        "points": points,
        "seconds": time.perf_counter() - t0,
    }
