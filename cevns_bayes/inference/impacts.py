"""Pulls, constraints, impacts and correlations: the standard checks of a fit, for the profile
likelihood and for the posterior.

Profile likelihood (:func:`profile_pulls`, :func:`profile_impacts`, :func:`correlation`)
-----------------------------------------------------------------------------------------
For a nuisance θ with prior centre θ₀ and prior width σ₀ (the sd of a normal constraint, the
median × σ_log of a lognormal, (b − a)/√12 of a flat one):

- **pull** (θ̂ − θ₀)/σ₀ and **constraint** σ̂/σ₀, with θ̂ and σ̂ the MIGRAD best fit and its
  HESSE error: a pull near 0 and a constraint near 1 mean the data neither move nor measure θ;
- **impact** on a POI μ: the best fit μ̂ of the refit with θ fixed at θ̂ ± σ̂ (post-fit) and at
  θ̂ ± σ₀ (pre-fit), minus μ̂; nuisances are ranked by the largest post-fit |shift|;
- **grouped impact** of a set G of nuisances: √(σ_μ² − σ_μ,G²), with σ_μ the error of μ and
  σ_μ,G the error with every nuisance of G fixed at its best fit (the part of the uncertainty
  G carries, in quadrature), both from one Hessian of the NLL at the best fit
  (:func:`nll_hessian`), grouped as flux, detector response, backgrounds,
  nuclear physics and timing (:data:`GROUPS`); "statistical" is the error with every nuisance
  fixed;
- **correlation** of every pair of free parameters from the HESSE covariance.

Posterior (:func:`posterior_pulls`, :func:`posterior_impacts`)
--------------------------------------------------------------
The same quantities from the draws: pull (mean − θ₀)/σ₀ and constraint sd/σ₀; the impact of θ
on μ is the part of μ's posterior variance that θ explains linearly,
Var(μ) − Var(μ | θ) = Cov(μ, θ)²/Var(θ), reported as its square root (and signed by the
correlation); grouped, the same with the linear regression of μ on every nuisance of the
group (the variance the group explains, R² Var(μ)); the correlation matrix of the draws.
For a Gaussian posterior these equal the profile's post-fit impacts and grouped impacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Nuisances by systematic group (names not listed fall into "other")
GROUPS: dict[str, tuple[str, ...]] = {
    "flux": ("flux_norm",),
    "detector response": ("quench_pca0", "quench_pca1", "eff_pca"),
    "backgrounds": ("ssb_norm", "brn_norm", "nin_norm"),
    "nuclear physics": ("r_n_scale", "r_n_cs_scale", "r_n_i_scale"),
    "timing": ("timing_offset_us",),
}


def group_of(name: str) -> str:
    for group, names in GROUPS.items():
        if name in names:
            return group
    return "other"


def _prior_scale(prior) -> tuple[float, float]:
    return float(prior.center), float(prior.width)


def profile_pulls(spec, best) -> dict[str, dict[str, float | None]]:
    """Per nuisance of ``spec``: best fit, HESSE error, prior centre and width, pull and
    constraint (module docstring), from the :class:`~cevns_bayes.inference.profile.FitResult`
    ``best``."""
    out = {}
    for name, prior in spec.nuisances.items():
        c, w = _prior_scale(prior)
        value = float(best.values[name])
        err = best.errors.get(name)
        out[name] = {
            "best": value,
            "hesse_error": None if err is None else float(err),
            "prior_centre": c,
            "prior_width": w,
            "pull": (value - c) / w,
            "constraint": None if err is None else float(err) / w,
            "group": group_of(name),
        }
    return out


def profile_impacts(prof, best, poi: str) -> dict[str, Any]:
    """Impacts of every nuisance on ``poi`` by refits of the profile likelihood ``prof``
    (module docstring): ``ranking`` (largest |shift| first; shifts in the POI's units) and
    ``grouped`` (including "statistical" and "total")."""
    spec = prof.spec
    mu_hat = float(best.values[poi])
    rows = []
    for name, prior in spec.nuisances.items():
        _, w = _prior_scale(prior)
        theta = float(best.values[name])
        post = best.errors.get(name) or w
        lo, hi = prof.bounds[prof.names.index(name)]
        lo = -np.inf if lo is None else lo
        hi = np.inf if hi is None else hi
        shifts = {}
        for tag, step in (("postfit", post), ("prefit", w)):
            for sign, key in ((1.0, "up"), (-1.0, "down")):
                value = float(np.clip(theta + sign * step, lo, hi))
                fit = prof.fit({name: value}, start=best.values, hesse=False)
                shifts[f"{tag}_{key}"] = float(fit.values[poi]) - mu_hat
        rows.append(
            {
                "nuisance": name,
                "group": group_of(name),
                **shifts,
                # ranked by the post-fit shifts (what the data leave of the systematic), as
                # the field's impact plots are; the pre-fit ones are kept beside them
                "max_abs": max(abs(shifts["postfit_up"]), abs(shifts["postfit_down"])),
                "max_abs_prefit": max(abs(shifts["prefit_up"]), abs(shifts["prefit_down"])),
            }
        )
    rows.sort(key=lambda r: -r["max_abs"])
    # grouped: the POI's error with a group fixed at its best fit is the quadratic
    # approximation's [(H without the group's rows and columns)^-1]_μμ, from one Hessian of
    # the NLL (central differences of the exact gradient); a HESSE call per refit would
    # start at the minimum and give errors that vary by tens of percent with the strategy
    hess = nll_hessian(prof, best)
    names = list(prof.names)

    def error_with_fixed(fixed: Sequence[str]) -> float:
        keep = [i for i, n in enumerate(names) if n not in fixed]
        cov = np.linalg.inv(hess[np.ix_(keep, keep)])
        k = keep.index(names.index(poi))
        return float(np.sqrt(cov[k, k]))

    total = error_with_fixed(())
    grouped: dict[str, float | None] = {
        "total": total,
        "statistical": error_with_fixed(list(spec.nuisances)),
    }
    groups: dict[str, list[str]] = {}
    for name in spec.nuisances:
        groups.setdefault(group_of(name), []).append(name)
    for group, members in groups.items():
        err = error_with_fixed(members)
        grouped[group] = float(np.sqrt(max(total**2 - err**2, 0.0)))
    return {"poi": poi, "best": mu_hat, "ranking": rows, "grouped": grouped}


def nll_hessian(prof, best, rel_step: float = 1e-4) -> np.ndarray:
    """∂² NLL / ∂θ_i ∂θ_j at the best fit, by central differences of the exact gradient
    (steps ``rel_step`` × the HESSE error or the prior width; symmetrized)."""
    x0 = prof.vector(best.values)
    n = x0.size
    hess = np.empty((n, n))
    for j, name in enumerate(prof.names):
        scale = best.errors.get(name) or 1.0
        h = rel_step * max(abs(scale), 1e-8)
        e = np.zeros(n)
        e[j] = h
        hess[:, j] = (np.asarray(prof.grad(x0 + e)) - np.asarray(prof.grad(x0 - e))) / (2 * h)
    return 0.5 * (hess + hess.T)


def correlation(names: Sequence[str], covariance) -> dict[str, Any]:
    """The correlation matrix of a covariance over ``names`` (None when there is none)."""
    if covariance is None:
        return {"names": list(names), "matrix": None}
    cov = np.asarray(covariance, float)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    corr = np.clip(cov / np.outer(sd, sd), -1.0, 1.0)
    return {"names": list(names), "matrix": corr.tolist()}


def _draws(posterior, name: str) -> np.ndarray:
    return np.asarray(posterior[name].values, float).ravel()


def posterior_pulls(spec, posterior) -> dict[str, dict[str, float]]:
    """Per nuisance: posterior mean and sd, prior centre and width, pull (mean − centre)/width
    and constraint sd/width, from ``posterior`` (an ArviZ posterior group)."""
    out = {}
    for name, prior in spec.nuisances.items():
        c, w = _prior_scale(prior)
        x = _draws(posterior, name)
        out[name] = {
            "mean": float(x.mean()),
            "sd": float(x.std(ddof=1)),
            "prior_centre": c,
            "prior_width": w,
            "pull": float((x.mean() - c) / w),
            "constraint": float(x.std(ddof=1) / w),
            "group": group_of(name),
        }
    return out


def _explained_sd(mu: np.ndarray, xs: Mapping[str, np.ndarray]) -> float:
    """√(variance of ``mu`` explained by a linear regression on the columns ``xs``)."""
    x = np.column_stack([v - v.mean() for v in xs.values()])
    y = mu - mu.mean()
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(np.sqrt(max(np.var(x @ coef, ddof=1), 0.0)))


def posterior_impacts(spec, posterior, poi: str) -> dict[str, Any]:
    """The Bayesian impacts of every nuisance on ``poi`` (module docstring): ``ranking``
    (the explained posterior sd, signed by the correlation) and ``grouped`` (with "total", the
    posterior sd, and "statistical", the sd left when every nuisance is regressed out)."""
    mu = _draws(posterior, poi)
    rows = []
    for name in spec.nuisances:
        x = _draws(posterior, name)
        if np.std(x) == 0:
            continue
        r = float(np.corrcoef(mu, x)[0, 1])
        rows.append(
            {
                "nuisance": name,
                "group": group_of(name),
                "impact": r * float(mu.std(ddof=1)),
                "correlation": r,
                "max_abs": abs(r) * float(mu.std(ddof=1)),
            }
        )
    rows.sort(key=lambda r: -r["max_abs"])
    total = float(mu.std(ddof=1))
    all_x = {n: _draws(posterior, n) for n in spec.nuisances}
    explained = _explained_sd(mu, all_x)
    grouped: dict[str, float] = {
        "total": total,
        "statistical": float(np.sqrt(max(total**2 - explained**2, 0.0))),
    }
    groups: dict[str, dict[str, np.ndarray]] = {}
    for name, x in all_x.items():
        groups.setdefault(group_of(name), {})[name] = x
    for group, xs in groups.items():
        grouped[group] = _explained_sd(mu, xs)
    return {"poi": poi, "mean": float(mu.mean()), "ranking": rows, "grouped": grouped}


def posterior_correlation(spec, posterior) -> dict[str, Any]:
    """The correlation matrix of the POI and nuisance draws."""
    names = [*spec.pois, *spec.nuisances]
    x = np.stack([_draws(posterior, n) for n in names])
    return {"names": names, "matrix": np.clip(np.corrcoef(x), -1.0, 1.0).tolist()}
