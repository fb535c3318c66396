"""The sampling and profile-likelihood runs of an analysis, end to end: model, fit, summary,
figures, files (``cevns-bayes sample`` and ``cevns-bayes profile``).

Everything lands in one output folder, each file written atomically through
:mod:`cevns_bayes.output`: ``posterior.nc`` (ArviZ InferenceData), ``summary.json``, ``grid.npz``
(NSI grid reference) and the diagnostic PNGs of a sampling run; ``profile.json``,
``profile_scans.npz`` and the Δχ² / contour / residual PNGs of a profile run. The statistics
are :mod:`cevns_bayes.inference`'s, the figures :mod:`cevns_bayes.plots`'.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from cevns_bayes.errors import ConfigError
from cevns_bayes.inference import bayes
from cevns_bayes.io import load_published
from cevns_bayes.model.sm import sm_value
from cevns_bayes.output import atomic_path, save_figures, write_json, write_npz


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _folder(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _forward_model(spec, data_dir, flux):
    _log(f"[{spec.name}] building the forward model ...")
    return bayes.build_forward_model(spec, data_dir=data_dir, flux=flux)


def write_idata(idata, path: Path) -> Path:
    """InferenceData to NetCDF, atomically."""
    with atomic_path(path) as tmp:
        idata.to_netcdf(str(tmp))
    return path


def run_sampling(
    spec,
    out_dir: str | Path,
    *,
    data_dir=None,
    flux=None,
    chains: int | None = None,
    draws: int | None = None,
    tune: int | None = None,
    seed: int | None = None,
    backend: str | None = None,
    target_accept: float | None = None,
    progressbar: bool | None = None,
    grid_points: int | None = None,
    plots: bool = True,
    model=None,
    observed: np.ndarray | None = None,
) -> dict[str, Any]:
    """Sample ``spec``'s posterior and write posterior.nc, summary.json and figures.

    ``grid_points`` (per POI) sets the Laplace grid reference computed for multimodal (NSI)
    specs (default 61; 0 skips it). Returns the summary document.
    """
    out = _folder(out_dir)
    t0 = time.perf_counter()
    if model is None:
        model = _forward_model(spec, data_dir, flux)
    _log(f"[{spec.name}] compiling and sampling (NUTS, {backend or spec.sampler.backend}) ...")
    result = bayes.sample(
        spec,
        model,
        observed=observed,
        chains=chains,
        draws=draws,
        tune=tune,
        seed=seed,
        backend=backend,
        target_accept=target_accept,
        progressbar=progressbar,
    )
    doc = bayes.summarize(result, spec, tune=tune)
    doc["spec"] = spec.to_dict()
    write_idata(result.idata, out / "posterior.nc")
    grid = None
    multimodal = spec.sampler.multimodal != "none"
    if multimodal and (grid_points is None or grid_points > 0):
        from cevns_bayes.inference.grid import posterior_grid

        pts = grid_points or 61
        _log(f"[{spec.name}] grid reference: {pts}x{pts} Laplace posterior ...")
        grid = posterior_grid(spec, model, pts, observed=observed, progressbar=progressbar)
        write_npz(out / "grid.npz", grid.arrays())
        doc["grid_reference"] = grid.to_dict()
        ref = doc["grid_reference"]["mode_masses"]
        nuts = doc.get("mode_masses", {})
        doc["mode_mass_max_abs_diff"] = max(
            abs(nuts.get(k, 0.0) - ref.get(k, 0.0)) for k in set(ref) | set(nuts)
        )
    doc["timing_s"]["total"] = time.perf_counter() - t0
    path = write_json(out / "summary.json", doc)
    if plots:
        write_plots(result.idata, spec, model, out, grid=grid, observed=observed)
    _log(f"[{spec.name}] wrote {path} and posterior.nc ({doc['timing_s']['total']:.0f} s)")
    return doc


def write_plots(idata, spec, model, out: Path, *, grid=None, observed=None) -> list[Path]:
    """Rank, trace, pair, posterior-predictive (and NSI band) PNGs."""
    from cevns_bayes.plots import posterior as pp

    post = idata.posterior
    pois = [f"{n}_folded" if f"{n}_folded" in post else n for n in spec.pois]
    strongest = bayes.strongest_nuisances(idata, spec)
    figs = {
        "rank.png": pp.rank_plot(idata, pois + list(spec.nuisances)),
        "trace.png": pp.trace_plot(idata, pois + strongest),
        "pair.png": pp.pair_plot(idata, list(spec.pois) + strongest),
    }
    if "posterior_predictive" in idata.groups():
        obs = model.observed if observed is None else np.asarray(observed, float)
        rep = idata.posterior_predictive["observed"].values
        rep = rep.reshape(-1, *rep.shape[2:])
        figs["ppc.png"] = pp.ppc_projections(
            model.binning.pe_edges, model.binning.t_edges_us, obs, rep
        )
    if len(spec.pois) == 2 and spec.sampler.multimodal != "none":
        figs["nsi_bands.png"] = pp.nsi_bands(idata, list(spec.pois), grid)
    return save_figures(figs, out)


# --- profile likelihood ---------------------------------------------------------------------------
def run_profile_analysis(
    spec,
    out_dir: str | Path,
    *,
    data_dir=None,
    flux=None,
    scan_points: int = 41,
    grid_points: int = 41,
    plots: bool = True,
    progressbar: bool | None = None,
    model=None,
    observed: np.ndarray | None = None,
) -> dict[str, Any]:
    """Profile-likelihood fit, scans, significance and goodness of fit of ``spec``; writes
    ``profile.json``, ``profile_scans.npz`` and the figures to ``out_dir``."""
    from cevns_bayes.inference.profile import run_profile

    out = _folder(out_dir)
    t0 = time.perf_counter()
    if model is None:
        model = _forward_model(spec, data_dir, flux)
    model_nt = bayes.build_forward_model(
        spec,
        data_dir=data_dir,
        flux=flux,
        release=model.release,
        neutrino_flux=model.flux,
        time_efficiency=False,
        arrival_time_us=model.arrival_time_us,
    )
    _log(
        f"[{spec.name}] profile likelihood: fit, scans ({scan_points} points per POI"
        + (f", {grid_points}x{grid_points} 2-D grid" if len(spec.pois) == 2 else "")
        + ") ..."
    )
    result = run_profile(
        spec,
        model,
        model_no_time_eff=model_nt,
        observed=observed,
        scan_points=scan_points,
        grid_points=grid_points,
        progressbar=bool(progressbar),
    )
    doc = result.document
    published = load_published()
    doc["published"] = {n: published["pois"].get(n) for n in spec.pois}
    doc["timing_s"]["total"] = time.perf_counter() - t0
    payload = {}
    for name, scan in result.scans.items():
        payload[f"{name}_grid"] = scan.grid
        payload[f"{name}_delta_chi2"] = scan.delta_chi2
        payload[f"{name}_delta_chi2_no_syst"] = result.scans_no_syst[name].delta_chi2
    if result.scan_2d is not None:
        payload["axis_0"], payload["axis_1"] = result.scan_2d["axes"]
        payload["delta_chi2_2d"] = result.scan_2d["delta_chi2"]
    write_npz(out / "profile_scans.npz", payload)
    path = write_json(out / "profile.json", doc)
    if plots:
        write_profile_plots(result, spec, model, out, published)
    _log(f"[{spec.name}] wrote {path} ({doc['timing_s']['total']:.0f} s)")
    return doc


def write_profile_plots(result, spec, model, out: Path, published) -> list[Path]:
    """Δχ² curves, the 2-D contour (two POIs) and the best-fit residual PNGs."""
    from cevns_bayes.plots import prediction as pred_plots
    from cevns_bayes.plots import profile as pp

    doc = result.document
    figs = {}
    for name, scan in result.scans.items():
        figs[f"delta_chi2_{name}.png"] = pp.delta_chi2_curve(
            scan,
            result.scans_no_syst[name],
            published["pois"].get(name),
            doc["pois"][name]["units"],
        )
    if result.scan_2d is not None:
        names = list(spec.pois)
        try:  # the SM point of the figure (none for a parameter without an SM value)
            sm = [sm_value(n, model) for n in names]
        except ConfigError:
            sm = None
        figs["contour_2d.png"] = pp.contour_2d(
            result.scan_2d["axes"],
            result.scan_2d["delta_chi2"],
            names,
            best=[doc["best_fit"][n] for n in names],
            sm=sm,
            title=f"{spec.name}: profile-likelihood regions (nuisances profiled)",
        )
    prof = result.likelihood
    comps = prof.components(result.best.values)
    b = model.binning
    figs["residual_best_fit.png"] = pred_plots.residual_over_ssb(
        b.pe_edges, b.t_edges_us, prof.observed, comps, title=f"{spec.name}: best fit"
    )
    return save_figures(figs, out)
