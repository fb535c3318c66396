"""Bayesian model comparison of an analysis against the Standard Model (``cevns-bayes
evidence``): ln Z by independent estimators (:mod:`cevns_bayes.inference.evidence`), the Bayes
factor against the SM, and the Savage–Dickey density ratio as a check.

**The SM reference** (:func:`sm_spec`) is the analysis with every POI fixed at its SM value
(:func:`cevns_bayes.model.sm.sm_value`: σ_SM of the forward model, sin²θ_W = 0.23857, scales
1, couplings 0, the one-loop charge radii, R_n at nominal), the nuisances and their priors
unchanged. The analysis is then an extension of the SM nested at that point, so the Bayes
factor B = Z_analysis / Z_SM equals the Savage–Dickey ratio π(θ₀) / p(θ₀ | data) of the POI
marginal at the SM point (independent priors). B > 1 favours the analysis; it falls as 1/width
of a flat POI prior once the box holds the likelihood (the Occam factor), so every B is quoted
with its box.

Files in the output folder (each estimator's result cached with a fingerprint of the spec,
the data and its settings as soon as it is done, so a rerun computes only what is missing; an
interrupted run loses at most the estimate it was computing):

- ``parts/<model>_<estimator>.json`` (``<model>``: ``analysis`` or ``sm``);
- ``evidence.json``: ``log_z`` (``{estimator: {"value", "error", ...}}`` of the analysis),
  ``sm`` (the same for the SM reference), ``log_bayes_factor_vs_sm`` (per estimator
  available for both, errors in quadrature), ``savage_dickey`` (one-POI analyses),
  ``agreement`` (pairwise differences of the estimators in units of their combined error),
  ``width_curve`` (ln B against the width of the POI box, :func:`width_curve`), ``spec``,
  ``settings`` and ``timing``;
- ``bayes_factor_width.png``: that curve.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import logsumexp

from cevns_bayes.errors import ConfigError
from cevns_bayes.inference import evidence as ev
from cevns_bayes.model.sm import sm_value
from cevns_bayes.output import write_json


def sm_spec(spec, model=None):
    """The SM reference of ``spec`` (module docstring): its POIs fixed at their SM values.
    A spec needs a POI, so the first nuisance takes that role with its own prior (the
    integrand of Z is the same whatever the role)."""
    from cevns_bayes.spec import PoiSpec

    if not spec.nuisances:
        raise ConfigError(f"{spec.name}: the SM reference needs at least one nuisance")
    fixed = dict(spec.fixed)
    for name in spec.pois:
        fixed[name] = sm_value(name, model)
    first = next(iter(spec.nuisances))
    prior = spec.nuisances[first]
    pois = {first: PoiSpec(first, prior, prior.center, "")}
    rest = {k: v for k, v in spec.nuisances.items() if k != first}
    sampler = dataclasses.replace(spec.sampler, multimodal="none")
    return dataclasses.replace(
        spec,
        name=f"{spec.name}__sm",
        pois=pois,
        nuisances=rest,
        fixed=fixed,
        sampler=sampler,
        scan=None,
    )


def _fingerprint(doc: Any) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def likelihood_fingerprint(sm) -> str:
    """A hash of what the evidence of a statistical model depends on, by value: the data, the
    priors in parameter order, and ln L at 5 fixed prior draws (8 significant digits). Two specs
    that differ only in name and in how they spell the SM (a new-physics plug-in with its
    coupling fixed at 0, the SM values of the flavored scales) get the same fingerprint, so
    their SM reference is integrated once (``sm_cache`` of :func:`run_evidence`)."""
    rng = np.random.default_rng(20211)
    priors = [sm.parameters[n].prior for n in sm.parameter_names]
    draws = np.array([[p.sample(rng) for p in priors] for _ in range(5)], float)
    loglike = sm.loglike_function(sm.observed)
    values = [float(f"{loglike(x):.8g}") for x in draws]
    return _fingerprint(
        {
            "data": np.asarray(sm.observed).tolist(),
            "priors": [dataclasses.asdict(p) for p in priors],
            "loglike": values,
        }
    )


def _log(msg: str, enabled: bool) -> None:
    if enabled:
        print(msg, file=sys.stderr, flush=True)


def savage_dickey(
    sm, theta0: float, data=None, *, points: int = 201, laplace=None
) -> dict[str, Any]:
    """ln B (analysis vs SM) = ln π(θ₀) − ln p(θ₀ | data) for a one-POI analysis, the marginal
    posterior density from the Laplace grid (:func:`cevns_bayes.inference.grid.posterior_grid`)
    interpolated at θ₀ in ln p (``laplace``: a compiled LaplaceGrid of ``sm`` on the data)."""
    from cevns_bayes.inference.grid import LaplaceGrid, posterior_grid

    spec = sm.spec
    (name,) = spec.pois
    prior = spec.pois[name].prior
    lap = laplace if laplace is not None else LaplaceGrid(sm, observed=data)
    grid = posterior_grid(spec, sm.forward, points, laplace=lap)
    x, dens = grid.marginal(name)
    ln_post = float(np.interp(theta0, x, np.log(np.maximum(dens, 1e-300))))
    ln_prior = float(prior.logpdf(theta0))
    return {
        "poi": name,
        "sm_value": float(theta0),
        "log_posterior_density": ln_post,
        "log_prior_density": ln_prior,
        "value": ln_prior - ln_post,
        "points": points,
    }


#: box fractions f of the Bayes-factor curve: the POI box shrunk towards the SM point by f
WIDTH_FRACTIONS = (0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0)


def width_curve(
    sm, theta0, data=None, *, points: int = 41, fractions=WIDTH_FRACTIONS
) -> dict[str, Any]:
    """ln B (analysis vs SM) against the width of the flat POI prior: the box [lo, hi] shrunk
    towards the SM point θ₀ by f, [θ₀ − f(θ₀ − lo), θ₀ + f(hi − θ₀)], for each f of
    ``fractions``. With L̃(x) the Laplace-marginal likelihood of the POIs (nuisances
    integrated out, :class:`~cevns_bayes.inference.grid.LaplaceGrid`), Z(f) = mean of L̃ over
    the box and Z_SM = L̃(θ₀), so ln B(f) = ln mean_box(f) L̃ − ln L̃(θ₀): the Savage–Dickey
    ratio for every width from one grid (on ``points`` cells per axis of the full box, and
    at least 15 cells per axis inside every box)."""
    from cevns_bayes.inference.grid import LaplaceGrid, posterior_grid

    spec = sm.spec
    names = list(spec.pois)
    lo = np.array([spec.pois[n].prior.lower for n in names], float)
    hi = np.array([spec.pois[n].prior.upper for n in names], float)
    x0 = np.clip(np.asarray(theta0, float), lo, hi)
    lap = LaplaceGrid(sm, observed=data)  # compiled once for every box
    ln_l0 = float(lap.point(x0, lap.u0)[0])
    rows = []
    for f in fractions:
        a, b = x0 - f * (x0 - lo), x0 + f * (hi - x0)
        if f >= 1:
            n = points
        else:  # a 2-D box gets 15 x 15 cells, a 1-D one as many as the full grid's share
            n = 15 if len(names) == 2 else max(15, int(round(points * f)))
        axes = [a[i] + (b[i] - a[i]) / n * (np.arange(n) + 0.5) for i in range(len(names))]
        grid = posterior_grid(spec, sm.forward, n, axes=axes, laplace=lap)
        lp = grid.log_posterior[np.isfinite(grid.log_posterior)]
        value = float(logsumexp(lp) - math.log(lp.size) - ln_l0)
        rows.append(
            {
                "fraction": float(f),
                "box": [[float(u), float(v)] for u, v in zip(a, b)],
                "log_bayes_factor": value,
            }
        )
    return {"pois": names, "sm_point": x0.tolist(), "log_laplace_at_sm": ln_l0, "curve": rows}


def run_evidence(
    spec,
    out: str | Path,
    *,
    estimators: Sequence[str] = ev.ESTIMATORS,
    nlive: int = 400,
    nested_runs: int = 3,
    smc_draws: int = 2000,
    smc_chains: int = 4,
    grid_points: int = 41,
    seed: int = 20211,
    data_dir=None,
    flux=None,
    progress: bool = True,
    width: bool = True,
    plots: bool = True,
    sm_cache: str | Path | None = None,
) -> dict[str, Any]:
    """ln Z of ``spec`` and of its SM reference by each of ``estimators``, the Bayes factors
    and the Savage–Dickey check, into ``out`` (module docstring; resumable); with ``width``
    (1–2 flat POIs) also ln B against the prior width (:func:`width_curve`) and its figure.
    ``sm_cache``: a folder shared between specs where the SM references' results are kept by
    :func:`likelihood_fingerprint` (the analyses of one data set mostly share one SM).
    Returns the content of ``evidence.json``."""
    from cevns_bayes.inference.bayes import build_forward_model
    from cevns_bayes.model.statistical import StatisticalModel
    from cevns_bayes.paths import DEFAULT_DATA_DIR
    from cevns_bayes.physics.flux import DEFAULT_FLUX_SOURCE

    unknown = [e for e in estimators if e not in ev.ESTIMATORS]
    if unknown:
        raise ConfigError(
            f"estimator(s) {', '.join(unknown)} unknown; expected {', '.join(ev.ESTIMATORS)}"
        )
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, expected a folder")
    (out / "parts").mkdir(parents=True, exist_ok=True)
    data_dir = DEFAULT_DATA_DIR if data_dir is None else data_dir
    flux = DEFAULT_FLUX_SOURCE if flux is None else flux
    forward = build_forward_model(spec, data_dir=data_dir, flux=flux)
    models = {"analysis": StatisticalModel(spec, forward)}
    ref = sm_spec(spec, forward)
    models["sm"] = StatisticalModel(ref, forward)
    settings = {
        "nlive": nlive,
        "nested_runs": nested_runs,
        "smc_draws": smc_draws,
        "smc_chains": smc_chains,
        "grid_points": grid_points,
        "seed": seed,
        "data_dir": str(Path(data_dir).resolve()),
        "flux": str(flux),
    }
    results: dict[str, dict[str, Any]] = {"analysis": {}, "sm": {}}
    for which, sm in models.items():
        base = {"spec": sm.spec.to_dict(), "data": sm.observed.tolist()}
        for est in estimators:
            if est == "laplace_grid" and (
                len(sm.spec.pois) > 2 or any(p.prior.kind != "flat" for p in sm.spec.pois.values())
            ):
                continue  # the grid needs one or two POIs with flat priors
            part = out / "parts" / f"{which}_{est}.json"
            fp = _fingerprint({**base, "estimator": est, "settings": settings})
            if which == "sm" and sm_cache is not None:
                key = {"model": likelihood_fingerprint(sm), "estimator": est}
                fp = _fingerprint({**key, "settings": settings})
                part = Path(sm_cache) / f"sm_{est}_{fp}.json"
                part.parent.mkdir(parents=True, exist_ok=True)
            if part.is_file():
                doc = json.loads(part.read_text())
                if doc.get("fingerprint") == fp:
                    results[which][est] = doc["result"]
                    _log(f"[{sm.name}] {est}: {doc['result']['value']:.3f} (cached)", progress)
                    continue
            _log(f"[{sm.name}] {est} ...", progress)
            if est == "nested":
                res = ev.nested_log_z(sm, nlive=nlive, runs=nested_runs, seed=seed)
            elif est == "smc":
                res = ev.smc_log_z(sm, draws=smc_draws, chains=smc_chains, seed=seed)
            else:
                res = ev.grid_log_z(sm, points=grid_points)
            write_json(part, {"fingerprint": fp, "result": res})
            results[which][est] = res
            _log(
                f"[{sm.name}] {est}: ln Z = {res['value']:.3f} ± {res['error']:.3f} "
                f"({res['seconds']:.0f} s)",
                progress,
            )
    doc = _summary(spec, results, settings)
    if len(spec.pois) == 1:
        (name,) = spec.pois
        try:
            sd = savage_dickey(models["analysis"], sm_value(name, forward))
            doc["savage_dickey"] = sd
        except ConfigError as err:  # e.g. an SM value outside the box
            doc["savage_dickey"] = {"error": str(err)}
    ext = models["analysis"]
    if width and len(spec.pois) <= 2 and all(p.prior.kind == "flat" for p in spec.pois.values()):
        part = out / "parts" / "width_curve.json"
        base = {"spec": spec.to_dict(), "data": ext.observed.tolist(), "points": grid_points}
        fp = _fingerprint({**base, "fractions": WIDTH_FRACTIONS})
        cached = json.loads(part.read_text()) if part.is_file() else {}
        if cached.get("fingerprint") == fp:
            curve = cached["result"]
        else:
            _log(f"[{spec.name}] Bayes factor against the prior width ...", progress)
            theta0 = [sm_value(n, forward) for n in spec.pois]
            curve = width_curve(ext, theta0, points=grid_points)
            write_json(part, {"fingerprint": fp, "result": curve})
        doc["width_curve"] = curve
        if plots:
            from cevns_bayes.output import save_figures
            from cevns_bayes.plots.comparison import bayes_factor_width

            save_figures({"bayes_factor_width.png": bayes_factor_width(curve, spec.name)}, out)
    doc["timing"] = {"seconds": time.perf_counter() - t0}
    write_json(out / "evidence.json", doc)
    return doc


def _summary(spec, results, settings) -> dict[str, Any]:
    ext, ref = results["analysis"], results["sm"]
    bf = {}
    for est in ext:
        if est in ref:
            bf[est] = {
                "value": ext[est]["value"] - ref[est]["value"],
                "error": math.hypot(ext[est]["error"], ref[est]["error"]),
            }
    agreement = {}
    names = list(ext)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d = ext[a]["value"] - ext[b]["value"]
            e = math.hypot(ext[a]["error"], ext[b]["error"])
            agreement[f"{a} - {b}"] = {"difference": d, "in_errors": d / e if e > 0 else None}
    return {
        "model": spec.name,
        "log_z": ext,
        "sm": {"model": f"{spec.name}__sm", "fixed_at_sm": list(spec.pois), "log_z": ref},
        "log_bayes_factor_vs_sm": bf,
        "agreement": agreement,
        "boxes": {n: list(p.prior.support) for n, p in spec.pois.items()},
        "spec": spec.to_dict(),
        "settings": settings,
    }


def run_sensitivity(
    spec, out: str | Path, *, data_dir=None, flux=None, plots: bool = True, progress: bool = True
) -> dict[str, Any]:
    """Prior sensitivity of ``spec`` (:mod:`cevns_bayes.inference.sensitivity`) from the
    posterior in ``out/posterior.nc`` (``cevns-bayes sample``; sampled here first when it is
    missing): ``out/sensitivity.json`` (the document and its rows) and
    ``out/sensitivity.png``. Returns the document."""
    import arviz as az

    from cevns_bayes.inference.bayes import build_forward_model
    from cevns_bayes.inference.sensitivity import prior_sensitivity, sensitivity_rows
    from cevns_bayes.model.statistical import StatisticalModel
    from cevns_bayes.workflows.analysis import run_sampling

    out = Path(out)
    forward = build_forward_model(spec, data_dir=data_dir, flux=flux)
    post = out / "posterior.nc"
    if not post.is_file():
        _log(f"[{spec.name}] no {post}: sampling first", progress)
        run_sampling(spec, out, model=forward, plots=plots, progressbar=False)
    idata = az.from_netcdf(post)
    if idata.posterior.attrs.get("analysis") not in (None, spec.name):
        raise ConfigError(
            f"{post}: a posterior of {idata.posterior.attrs.get('analysis')!r}, not of "
            f"{spec.name!r}; give the folder of this analysis's sample"
        )
    doc = prior_sensitivity(StatisticalModel(spec, forward), idata)
    doc["rows"] = sensitivity_rows(doc)
    write_json(out / "sensitivity.json", doc)
    if plots:
        from cevns_bayes.output import save_figures
        from cevns_bayes.plots.sensitivity import sensitivity_bars

        save_figures({"sensitivity.png": sensitivity_bars(doc["rows"], spec.name)}, out)
    return doc
