"""Prior sensitivity of the POI summaries, by importance-reweighting the posterior draws.

Two questions, both answered without re-sampling:

- **Power scaling** (each prior on its own): replace the prior π_j of one parameter by
  π_j^α (α < 1 tempers it, α > 1 sharpens it), i.e. weight each draw by π_j(θ_j)^(α − 1).
  A flat prior is unchanged by power scaling (π^α ∝ π on its box), so for the POIs' flat
  boxes this measures nothing and the alternative priors below matter; for the nuisance
  constraints it measures how much each one's width drives the POIs.
- **Named alternative priors** on each POI: log-uniform (∝ 1/θ above a cut, for a positive
  POI) and Jeffreys (∝ √I(θ), I the Fisher information of the binned Poisson likelihood in θ
  at the nuisances' prior centres, Σ_bins (∂μ_b/∂θ)² / μ_b, computed from the forward model on
  a grid of θ), each against the spec's flat box: weights π_alt(θ)/π_flat(θ).

Weights are Pareto-smoothed (``arviz.psislw``); the fitted Pareto k says when reweighting is
reliable (k < 0.7) or not (the alternative prior puts its mass where the posterior has few
draws; the number is then a direction, not a value). Each POI summary (mean, sd, 5% and 95%
quantiles) is compared with the unweighted one, its shift in posterior sd; a shift above
:data:`FLAG_SD` is flagged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: |shift| of a POI summary, in posterior sd, above which it is flagged
FLAG_SD = 0.2
#: the power-scaling exponents: tempered and sharpened
ALPHAS = (0.8, 1.25)
#: Pareto k above which importance reweighting is not reliable
PARETO_K_MAX = 0.7


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw /= cw[-1]
    return float(np.interp(q, cw, x[order]))


def _summaries(x: np.ndarray, w: np.ndarray | None = None) -> dict[str, float]:
    w = np.full(x.size, 1.0 / x.size) if w is None else w / w.sum()
    mean = float(np.sum(w * x))
    sd = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
    return {
        "mean": mean,
        "sd": sd,
        "q05": _weighted_quantile(x, w, 0.05),
        "q95": _weighted_quantile(x, w, 0.95),
    }


def reweigh(draws: dict[str, np.ndarray], log_w: np.ndarray, pois) -> dict[str, Any]:
    """PSIS-smoothed reweighting of the POI draws by ``log_w``: per POI the summaries, their
    shifts in units of the unweighted posterior sd, and the Pareto k of the weights."""
    import arviz as az

    log_w = np.asarray(log_w, float)
    log_w = np.where(np.isfinite(log_w), log_w, -np.inf)
    lw, k = az.psislw(log_w - np.max(log_w))
    w = np.exp(lw - np.max(lw))
    out: dict[str, Any] = {"pareto_k": float(k), "reliable": bool(k < PARETO_K_MAX)}
    for poi in pois:
        x = draws[poi]
        base = _summaries(x)
        new = _summaries(x, w)
        sd = base["sd"] if base["sd"] > 0 else 1.0
        shifts = {key: (new[key] - base[key]) / sd for key in ("mean", "q05", "q95")}
        out[poi] = {
            "summary": new,
            "shift_sd": shifts,
            "sd_ratio": new["sd"] / base["sd"] if base["sd"] > 0 else None,
            "flagged": bool(max(abs(v) for v in shifts.values()) > FLAG_SD),
        }
    return out


def fisher_information(sm, poi: str, values: np.ndarray) -> np.ndarray:
    """I(θ) = Σ_bins (∂μ_b/∂θ)² / μ_b of the binned Poisson likelihood in ``poi`` at each of
    ``values``, the other parameters at their initial values (central differences)."""
    info = np.empty(len(values))
    lo, hi = sm.parameters[poi].lower, sm.parameters[poi].upper
    for k, v in enumerate(values):
        h = 1e-4 * max(abs(v), (hi - lo) if np.isfinite(hi - lo) else 1.0, 1e-12)
        a, b = max(v - h, lo), min(v + h, hi)
        mu_a = sm.expected({poi: a})
        mu_b = sm.expected({poi: b})
        mu = np.maximum(sm.expected({poi: v}), 1e-12)
        dmu = (mu_b - mu_a) / (b - a)
        info[k] = float(np.sum(dmu**2 / mu))
    return info


def prior_sensitivity(
    sm, idata, *, alphas=ALPHAS, log_cut_fraction: float = 1e-4, jeffreys_points: int = 41
) -> dict[str, Any]:
    """The sensitivity document (module docstring) of the posterior ``idata`` of the
    statistical model ``sm``: ``power_scaling`` (per parameter, per α), ``alternatives`` (per
    POI: ``log_uniform`` and ``jeffreys``), ``base`` (the unweighted summaries), ``flags`` (what
    moved by more than :data:`FLAG_SD` posterior sd, reliable weights only), settings."""
    post = idata.posterior
    pois = list(sm.poi_names)
    draws = {n: np.asarray(post[n].values, float).ravel() for n in sm.parameter_names}
    base = {p: _summaries(draws[p]) for p in pois}
    power: dict[str, Any] = {}
    for name in sm.parameter_names:
        prior = sm.parameters[name].prior
        if prior.kind == "flat":
            power[name] = {"note": "flat: unchanged by power scaling"}
            continue
        lp = np.asarray(prior.logpdf(draws[name]), float)
        power[name] = {f"{a:g}": reweigh(draws, (a - 1.0) * lp, pois) for a in alphas}
    alternatives: dict[str, Any] = {}
    for poi in pois:
        prior = sm.parameters[poi].prior
        if prior.kind != "flat":
            continue
        lo, hi = prior.lower, prior.upper
        x = draws[poi]
        entry: dict[str, Any] = {}
        if lo >= 0 and hi > 0:
            cut = max(lo, log_cut_fraction * hi)
            lw = np.where(x > cut, -np.log(np.maximum(x, cut)), -np.inf)
            entry["log_uniform"] = {"cut": cut, **reweigh(draws, lw, pois)}
        grid = np.linspace(lo, hi, jeffreys_points)
        info = fisher_information(sm, poi, grid)
        ln_j = 0.5 * np.log(np.maximum(info, 1e-300))
        entry["jeffreys"] = {
            "grid": grid.tolist(),
            "sqrt_fisher": np.exp(ln_j).tolist(),
            **reweigh(draws, np.interp(x, grid, ln_j), pois),
        }
        alternatives[poi] = entry
    flags = []
    for name, by_alpha in power.items():
        for a, r in (
            by_alpha.items() if isinstance(by_alpha, dict) and "note" not in by_alpha else ()
        ):
            for poi in pois:
                if r["reliable"] and r[poi]["flagged"]:
                    flags.append(
                        {"prior": name, "change": f"power {a}", "poi": poi, **r[poi]["shift_sd"]}
                    )
    for poi_prior, entry in alternatives.items():
        for alt, r in entry.items():
            for poi in pois:
                if r[poi]["flagged"]:
                    flags.append(
                        {
                            "prior": poi_prior,
                            "change": alt,
                            "poi": poi,
                            "reliable": r["reliable"],
                            **r[poi]["shift_sd"],
                        }
                    )
    return {
        "model": sm.name,
        "base": base,
        "power_scaling": power,
        "alternatives": alternatives,
        "flags": flags,
        "settings": {
            "alphas": list(alphas),
            "flag_sd": FLAG_SD,
            "pareto_k_max": PARETO_K_MAX,
            "log_cut_fraction": log_cut_fraction,
            "draws": int(next(iter(draws.values())).size),
        },
    }


def sensitivity_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (prior, change, POI) of a sensitivity document: the shifts in posterior sd,
    the Pareto k and the flag (the table of the report and the figure)."""
    rows = []
    for name, by_alpha in doc["power_scaling"].items():
        if "note" in by_alpha:
            continue
        for a, r in by_alpha.items():
            for poi in doc["base"]:
                rows.append(
                    {
                        "prior": name,
                        "change": f"power {a}",
                        "poi": poi,
                        "pareto_k": r["pareto_k"],
                        "reliable": r["reliable"],
                        **r[poi]["shift_sd"],
                        "flagged": r[poi]["flagged"],
                    }
                )
    for prior_of, entry in doc["alternatives"].items():
        for alt, r in entry.items():
            for poi in doc["base"]:
                rows.append(
                    {
                        "prior": prior_of,
                        "change": alt,
                        "poi": poi,
                        "pareto_k": r["pareto_k"],
                        "reliable": r["reliable"],
                        **r[poi]["shift_sd"],
                        "flagged": r[poi]["flagged"],
                    }
                )
    return rows
