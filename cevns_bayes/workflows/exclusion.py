"""Exclusion curves: a 90% upper limit on a POI at each value of a fixed parameter
(``cevns-bayes scan``).

At each scanned value x (``[scan]`` of the spec, or the command's options) the point computes
(:mod:`cevns_bayes.inference.limits`) the profile-likelihood upper limit (Δχ² = 2.706 from the
bounded best fit, nuisances profiled) and the Bayesian 90% credible upper limits for a flat and
a log-uniform prior on the POI (1-D grid, nuisances marginalised by Laplace). One likelihood
and one Laplace objective are compiled, with x an input, before the points are split over
forked worker processes (:func:`cevns_bayes.parallel.map_forked`; ``workers``).

Files in the output folder:

- ``points/x_<value>.json``: one point (written atomically by the worker that computed it; a
  later run skips a point whose file holds the same fingerprint, so an interrupted scan
  resumes, and a scan with other values reuses the common ones);
- ``limits.json``: ``parameter``, ``limit_on``, ``scanned`` (the values), ``units``,
  ``profile`` (``[{"x", "upper_90", "best", "at_bound", ...}]``), ``bayes``
  (``[{"x", "upper_90_flat", "upper_90_log"}]``), ``derived`` (limits converted by the
  physics model, e.g. sin²2θ), ``spec`` (the spec's ``to_dict``), ``settings``, ``timing``;
- ``limits.csv``: one row per point, units in the header;
- ``limits.png``: the curves (:func:`cevns_bayes.plots.exclusion.exclusion_curves`);
- ``region.png``: the 2-D plane (:func:`cevns_bayes.plots.exclusion.exclusion_region`): the
  profile Δχ² from the scan's overall minimum, its 90% 2-D contour (Δχ² = 4.61), the bands
  allowed at each x (Δχ² < 2.71 from that x's best fit, islands included) and the Bayesian
  limits.

``[scan] box = "propagator"`` (with ``box_q_mev``) scales the POI's box, and the log-prior cut,
with x (:meth:`cevns_bayes.spec.ScanSpec.box_scale`): a mediator coupling's limit is flat in the
mass below the momentum transfer q and grows ∝ mass above it, so one box cannot resolve both
ends; the box of each point is recorded with it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cevns_bayes.errors import ConfigError
from cevns_bayes.inference import limits as lim
from cevns_bayes.model.parameters import parameter_facts, parameter_owner
from cevns_bayes.output import atomic_path, save_figures, write_json
from cevns_bayes.paths import DEFAULT_DATA_DIR
from cevns_bayes.physics.flux import DEFAULT_FLUX_SOURCE
from cevns_bayes.progress import RateCounter
from cevns_bayes.spec import ScanSpec, check_scan, scan_values

#: Bayesian grid: points spread evenly over the POI box, and log-spaced from the log cut
DEFAULT_GRID_LINEAR = 24
DEFAULT_GRID_LOG = 16


def resolve_scan(
    spec,
    *,
    parameter: str | None = None,
    values: Sequence[float] | None = None,
    log_range: Sequence[float] | None = None,
    linear_range: Sequence[float] | None = None,
    points: int | None = None,
    limit_on: str | None = None,
) -> ScanSpec:
    """The scan of ``spec``'s ``[scan]`` table with the command-line overrides applied and
    checked like the table (errors name ``--option``). ``points`` re-spaces the spec's range
    (or the given range) with that many points."""
    base = spec.scan
    label = str(spec.path) if spec.path is not None else f"<spec {spec.name}>"
    given = [g for g in (values, log_range, linear_range) if g is not None]
    if len(given) > 1:
        raise ConfigError("give at most one of --values, --log-range and --range")
    parameter = parameter or (base.parameter if base else None)
    if parameter is None:
        raise ConfigError(f"{label}: no [scan] table; give --parameter and --values/--log-range")
    if limit_on is None:
        limit_on = base.limit_on if base else (spec.poi_names[0] if len(spec.pois) == 1 else None)
    if limit_on is None:
        raise ConfigError(f"{label}: several POIs ({', '.join(spec.pois)}); give --limit-on")
    if values is not None:
        how, raw, key = "values", [float(v) for v in values], "--values"
    elif log_range is not None:
        how, raw, key = "log_range", [float(log_range[0]), float(log_range[1]), 0], "--log-range"
        raw[2] = int(log_range[2])
    elif linear_range is not None:
        how, raw, key = "range", [float(linear_range[0]), float(linear_range[1]), 0], "--range"
        raw[2] = int(linear_range[2])
    elif base is not None and (parameter == base.parameter):
        how, raw, key = base.how, base.given, "scan." + base.how
    else:
        raise ConfigError(f"{label}: give the values of {parameter} (--values or --log-range)")
    if points is not None:
        if how == "values":
            raise ConfigError("--points re-spaces a range: the scan gives explicit values")
        raw = [raw[0], raw[1], int(points)]
    vals = scan_values(how, list(raw), key, label)
    box, q = (base.box, base.box_q_mev) if base is not None else ("fixed", None)
    scan = ScanSpec(parameter, vals, limit_on, how, list(raw), box, q)
    check_scan(scan, spec.pois, spec.nuisances, label)
    return scan


def _fingerprint(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def point_path(out: Path, x: float) -> Path:
    """The file of the point at ``x``."""
    return Path(out) / "points" / f"x_{x:.10g}.json"


def _read_point(path: Path, fingerprint: str) -> dict | None:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("fingerprint") == fingerprint else None


def _axis_label(name: str, unit: str) -> str:
    """The registry's label, with the unit unless the label already has one."""
    text = parameter_facts(name)[2]
    return text + (f" [{unit}]" if unit and "[" not in text else "")


def _derived(limit_on: str):
    """Conversions of a limit on ``limit_on`` its physics model offers (``derived_limits``)."""
    from cevns_bayes.physics.plugins import get_physics_model

    owner = parameter_owner(limit_on)
    if owner is None:
        return {}
    fn = getattr(get_physics_model(owner), "derived_limits", None)
    return dict(fn(limit_on)) if callable(fn) else {}


def run_scan(
    spec,
    out: str | Path,
    *,
    scan: ScanSpec | None = None,
    workers: int | None = None,
    grid_linear: int = DEFAULT_GRID_LINEAR,
    grid_log: int = DEFAULT_GRID_LOG,
    log_min: float | None = None,
    level: float = lim.DCHI2_90,
    data_dir=None,
    flux=None,
    progress: bool = True,
    plots: bool = True,
) -> dict[str, Any]:
    """Run (or resume) the exclusion scan of ``spec`` into folder ``out`` (module
    docstring) and return the content of ``limits.json``. ``scan`` defaults to the spec's
    ``[scan]`` (:func:`resolve_scan` applies command-line overrides); ``workers`` processes
    (default: every core; 1 runs here)."""
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, expected a folder")
    scan = scan or resolve_scan(spec)
    parameter, limit_on = scan.parameter, scan.limit_on
    box_lo, box_hi = (float(v) for v in spec.pois[limit_on].prior.support)
    if not (math.isfinite(box_lo) and math.isfinite(box_hi)):
        raise ConfigError(
            f"{spec.name}: the Bayesian limit needs a bounded prior box on {limit_on}"
        )
    x_ref = spec.fixed.get(parameter)
    if scan.box != "fixed" and x_ref is None:
        raise ConfigError(
            f"{spec.name}: [scan] box = {scan.box!r} scales the box of {limit_on} from its value "
            f"at the spec's [fixed] {parameter}; fix {parameter} in the spec"
        )
    if scan.box != "fixed" and box_lo != 0.0:
        raise ConfigError(
            f"{spec.name}: [scan] box = {scan.box!r} scales a box starting at 0; "
            f"{limit_on}'s starts at {box_lo:g}"
        )
    scales = {float(x): scan.box_scale(float(x), x_ref) for x in scan.values}
    if log_min is None:
        log_min = max(box_lo, lim.LOG_PRIOR_MIN_FRACTION * box_hi)
    if not box_lo <= log_min < box_hi or log_min <= 0:
        raise ConfigError(f"--log-min {log_min:g}: must be > 0 and inside [{box_lo}, {box_hi})")
    # one compiled likelihood for every point: its box on the POI holds the largest scaled box
    sspec = lim.scan_spec(spec, parameter, limit_on, upper=box_hi * max(scales.values()))
    boxes = {x: (box_lo, box_hi * f, log_min * f) for x, f in scales.items()}
    # the defaults spelled out, so that the library and the command line share points
    data_dir = DEFAULT_DATA_DIR if data_dir is None else data_dir
    flux = DEFAULT_FLUX_SOURCE if flux is None else flux
    settings = {
        "limit_on": limit_on,
        "level_delta_chi2": level,
        "credible": 0.90,
        "grid_linear": grid_linear,
        "grid_log": grid_log,
        "log_prior_min": log_min,
        # how the profile curve is refined (a change of method invalidates stored points)
        "profile_curve": "grid + quick-scan minima + limit and bands refined",
        "box": scan.box,
        "box_q_mev": scan.box_q_mev,
        "box_reference": x_ref if scan.box != "fixed" else None,
        "data_dir": str(Path(data_dir).resolve()),
        "flux": str(flux),
    }
    fingerprint = _fingerprint({"spec": sspec.to_dict(), "settings": settings})
    xs = list(scan.values)
    done = {x: _read_point(point_path(out, x), fingerprint) for x in xs}
    todo = [x for x in xs if done[x] is None]
    info = {"workers": 0, "computed": 0, "build_s": 0.0}
    if todo:
        info.update(
            _compute(
                sspec,
                out,
                todo,
                fingerprint,
                parameter,
                limit_on,
                {x: boxes[float(x)] for x in todo},
                (grid_linear, grid_log),
                level,
                data_dir,
                flux,
                workers,
                len(xs),
                progress,
            )
        )
    records = [_read_point(point_path(out, x), fingerprint) for x in xs]
    missing = [x for x, r in zip(xs, records) if r is None]
    if missing:  # pragma: no cover - a worker failed to write
        raise ConfigError(f"scan points {missing} did not finish; run the scan again to resume")
    doc = _summary(spec, scan, records, settings, fingerprint)
    doc["timing"] = {"seconds": time.perf_counter() - t0, **info}
    write_json(out / "limits.json", doc)
    with atomic_path(out / "limits.csv") as tmp:
        tmp.write_text(_csv(doc))
    if plots:
        from cevns_bayes.plots.exclusion import exclusion_curves

        unit_x, unit_g = doc["units"]["x"], doc["units"]["limit"]
        cut = f"> {log_min:g}" + (" at the spec's x, scaled" if scan.box != "fixed" else "")
        fig = exclusion_curves(
            doc["scanned"],
            {
                "profile likelihood (Δχ² = 2.71)": [p["upper_90"] for p in doc["profile"]],
                "Bayes, flat prior": [b["upper_90_flat"] for b in doc["bayes"]],
                f"Bayes, log-uniform prior ({cut})": [b["upper_90_log"] for b in doc["bayes"]],
            },
            x_label=_axis_label(parameter, unit_x),
            y_label="90% upper limit on " + _axis_label(limit_on, unit_g),
            title=f"{spec.name}: exclusion ({len(xs)} points)",
        )
        figs = {"limits.png": fig}
        if all(p.get("curve") for p in doc["profile"]):
            from cevns_bayes.plots.exclusion import exclusion_region

            figs["region.png"] = exclusion_region(
                doc["scanned"],
                [p["curve"]["values"] for p in doc["profile"]],
                [p["curve"]["nll"] for p in doc["profile"]],
                [p["allowed"] for p in doc["profile"]],
                {
                    "Bayes, flat prior": [b["upper_90_flat"] for b in doc["bayes"]],
                    f"Bayes, log-uniform ({cut})": [b["upper_90_log"] for b in doc["bayes"]],
                },
                x_label=_axis_label(parameter, unit_x),
                y_label=_axis_label(limit_on, unit_g),
                title=f"{spec.name}: the (x, {limit_on}) plane, profile and Bayes",
            )
        save_figures(figs, out)
    return doc


def _compute(
    sspec,
    out,
    todo,
    fingerprint,
    parameter,
    limit_on,
    boxes,
    grid_points,
    level,
    data_dir,
    flux,
    workers,
    total,
    progress,
) -> dict[str, Any]:
    """Build and compile once, then compute the points of ``todo`` (forked workers);
    ``boxes[x]`` is the POI box (lower, upper) and log-prior cut at x, ``grid_points`` the
    (linear, log) points of its grid, on which the profile Δχ² curve is computed too."""
    from cevns_bayes.inference.bayes import build_forward_model
    from cevns_bayes.inference.grid import LaplaceGrid
    from cevns_bayes.inference.profile import ProfileLikelihood
    from cevns_bayes.model.statistical import StatisticalModel
    from cevns_bayes.parallel import default_workers, map_forked

    t0 = time.perf_counter()
    forward = build_forward_model(sspec, data_dir=data_dir, flux=flux)
    sm = StatisticalModel(sspec, forward)
    pl = ProfileLikelihood(sm)
    lap = LaplaceGrid(sm)
    # compile both before forking: the workers inherit the compiled functions
    pl.nll(pl.start)
    lap(lap.u0, np.array([boxes[todo[0]][0], todo[0]]))
    build_s = time.perf_counter() - t0
    bar = RateCounter("scan points", total, total - len(todo), progress)

    def one(x: float) -> dict[str, Any]:
        from threadpoolctl import threadpool_limits

        lo, hi, log_min = boxes[x]
        grid = lim.limit_grid(lo, hi, *grid_points, log_min)
        with threadpool_limits(limits=1, user_api="blas"):
            prof = lim.profile_upper_limit(
                pl,
                limit_on,
                parameter,
                x,
                level=level,
                upper=hi,
                curve=grid,
                refine=grid_points[0],
            )
            # the Bayesian grid: the profile curve's points (refined around the limit and
            # every allowed band), where the posterior holds its mass
            grid = np.asarray(prof["curve"]["values"])
            bayes = lim.bayes_upper_limits(lap, limit_on, parameter, x, grid=grid, log_min=log_min)
        prof["box"] = [lo, hi]
        rec = {"x": float(x), "fingerprint": fingerprint, "profile": prof, "bayes": bayes}
        write_json(point_path(out, x), rec)
        return {"x": float(x)}

    n_workers = default_workers(len(todo)) if workers is None else max(1, int(workers))
    map_forked(one, todo, workers=n_workers, on_result=lambda _x, _r: bar.update())
    return {"workers": min(n_workers, len(todo)), "computed": len(todo), "build_s": build_s}


def _summary(spec, scan: ScanSpec, records, settings, fingerprint) -> dict[str, Any]:
    parameter, limit_on = scan.parameter, scan.limit_on
    derived = _derived(limit_on)
    prof, bayes = [], []
    for r in records:
        p, b = r["profile"], r["bayes"]
        prof.append(
            {
                "x": p["x"],
                "upper_90": p["upper_90"],
                "best": p["best"],
                "at_bound": p["at_bound"],
                "best_at_bound": p["best_at_bound"],
                "delta_chi2_at_limit": p["delta_chi2_at_limit"],
                "valid": p["valid"],
                "seconds": p["seconds"],
                "box": p.get("box"),
                "allowed": p.get("allowed"),
                "nll_best": p.get("nll_best"),
                "curve": p.get("curve"),
            }
        )
        bayes.append(
            {
                "x": b["x"],
                "upper_90_flat": b["upper_90_flat"],
                "upper_90_log": b["upper_90_log"],
                "log_prior_min": b["log_prior_min"],
                "seconds": b["seconds"],
            }
        )
    out_derived = {}
    for name, fn in derived.items():
        out_derived[name] = {
            "profile": [float(fn(p["upper_90"])) for p in prof],
            "bayes_flat": [float(fn(b["upper_90_flat"])) for b in bayes],
            "bayes_log": [float(fn(b["upper_90_log"])) for b in bayes],
        }
    return {
        "parameter": parameter,
        "limit_on": limit_on,
        "scanned": [float(x) for x in scan.values],
        "units": {"x": parameter_facts(parameter)[0], "limit": parameter_facts(limit_on)[0]},
        "convention": {
            "profile": f"Delta chi2 = {settings['level_delta_chi2']:.4g} above the best fit "
            "bounded at the POI's lower bound (upper end of the two-sided 90% Wilks interval; "
            "asymptotically a one-sided 95% upper limit)",
            "bayes": "90% credible upper limit, nuisances marginalised by Laplace; flat prior on "
            f"the POI box, and log-uniform on [{settings['log_prior_min']:g}, upper]"
            + (
                f"; box and cut scaled at each x by sqrt((x^2 + q^2)/(x0^2 + q^2)), "
                f"q = {settings['box_q_mev']:g} MeV, x0 = {settings['box_reference']:g} "
                "(each point's box in profile[].box, its cut in bayes[].log_prior_min)"
                if settings["box"] == "propagator"
                else ""
            ),
            "allowed": "profile[].allowed: the intervals of the POI where the profile "
            "Delta chi2 from that x's best fit is below the level (every band, not only the "
            "best fit's), from profile[].curve",
        },
        "profile": prof,
        "bayes": bayes,
        "derived": out_derived,
        "spec": spec.to_dict(),
        "settings": {**settings, "fingerprint": fingerprint},
    }


def _csv(doc: dict[str, Any]) -> str:
    ux, ug = doc["units"]["x"], doc["units"]["limit"]
    g = doc["limit_on"]
    unit = f" [{ug}]" if ug else ""
    header = [
        f"{doc['parameter']} [{ux}]" if ux else doc["parameter"],
        f"profile_upper_90 {g}{unit}",
        f"profile_best {g}{unit}",
        "profile_at_bound",
        f"bayes_upper_90_flat {g}{unit}",
        f"bayes_upper_90_log {g}{unit}",
        f"profile_allowed_bands {g}{unit}",
    ]
    for name in doc["derived"]:
        header += [
            f"profile_upper_90 {name}",
            f"bayes_upper_90_flat {name}",
            f"bayes_upper_90_log {name}",
        ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for k, (p, b) in enumerate(zip(doc["profile"], doc["bayes"])):
        row = [
            f"{p['x']:.8g}",
            f"{p['upper_90']:.6g}",
            f"{p['best']:.6g}",
            int(p["at_bound"]),
            f"{b['upper_90_flat']:.6g}",
            f"{b['upper_90_log']:.6g}",
            " ".join(f"[{a:.6g}, {c:.6g}]" for a, c in (p.get("allowed") or [])),
        ]
        for d in doc["derived"].values():
            row += [
                f"{d['profile'][k]:.6g}",
                f"{d['bayes_flat'][k]:.6g}",
                f"{d['bayes_log'][k]:.6g}",
            ]
        w.writerow(row)
    return buf.getvalue()
