"""Export an analysis as a pyhf workspace, and the cross-check of pyhf's fit against ours.

The package's likelihood is a binned Poisson in (PE, t_rec) with Gaussian constraints, so the
HistFactory form pyhf reads is a close translation of it (pyhf JSON schema 1.0.0):

* one channel, ``csi_pe_t``, of n_PE × n_t bins flattened PE-major (row ``i`` of the package's
  (PE, t) arrays is bins ``i n_t … (i + 1) n_t − 1``), the observed C-window counts as its data;
* four samples, ``cevns`` (the three neutrino flavors summed), ``brn``, ``nin`` and ``ssb``, at
  every nuisance's prior centre; the CEvNS template is the prediction at σ = 1 (in 1e-40 cm²),
  so the ``normfactor`` named ``sigma`` reads directly as the flux-averaged cross section;
* the flux normalization ``flux_norm`` as pyhf's ``lumi`` modifier (a linear scale of the CEvNS
  sample with a Gaussian constraint of the prior's width, auxdata 1): exactly the package's term;
* every other nuisance θ with prior N(θ₀, s) as a modifier of the unit-normal α = (θ − θ₀)/s:
  ``normsys`` where its ±1 s variation scales a sample uniformly (the background
  normalizations; factors 1 ± s), ``histosys`` otherwise (quenching, efficiency, R_n, timing),
  with the templates at θ₀ ± s. Interpolating between them is where pyhf approximates the
  package: the response of the templates to ε_E, quenching and the timing offset is not linear
  (and nor is pyhf's default exponential ``normsys``), see :func:`pyhf_crosscheck`.

A workspace has no room for metadata (the schema forbids extra keys), so :func:`write_pyhf`
writes a second file beside it, ``<name>.parameters.json``, with the α ↔ θ map, the binning and
the provenance. pyhf itself is only needed for the cross-check (``pip install -e .[pyhf]``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cevns_bayes import __version__
from cevns_bayes.errors import ConfigError
from cevns_bayes.model.forward import CEVNS_COMPONENTS
from cevns_bayes.output import write_json

CHANNEL = "csi_pe_t"
SAMPLES = ("cevns", "brn", "nin", "ssb")
POI = "sigma"
#: the nuisance written as pyhf's ``lumi`` modifier (a linear, Gaussian-constrained scale)
LUMI_NUISANCE = "flux_norm"
#: pyhf's default bounds of a constrained α; the package's supports are wider (or the same)
ALPHA_BOUND = 5.0
#: interpolation settings of the cross-check: name → pyhf ``modifier_settings``
#: (``code4p`` is smooth at α = 0 and exactly linear for symmetric variations; pyhf's default
#: ``code0`` has a kink there, and its ``normsys`` codes are exponential, never linear)
INTERPOLATIONS = {
    "polynomial": {"normsys": {"interpcode": "code4"}, "histosys": {"interpcode": "code4p"}},
    "pyhf_default": {"normsys": {"interpcode": "code1"}, "histosys": {"interpcode": "code0"}},
}
#: where the templates are made: the package's best fit (the default) or the prior centres
EXPANSIONS = ("best_fit", "prior")


def _sample_templates(model, values: dict[str, float]) -> dict[str, np.ndarray]:
    comps = model.components(values)
    out = {"cevns": sum(comps[k] for k in CEVNS_COMPONENTS)}
    for k in ("brn", "nin", "ssb"):
        out[k] = comps[k]
    # the cubic interpolation of the time profiles leaves a few 1e-8 negative counts in empty
    # corners of the BRN template at shifted offsets; HistFactory samples are non-negative
    return {k: np.clip(np.asarray(v, float).ravel(), 0.0, None) for k, v in out.items()}


def _uniform_factor(var: np.ndarray, nom: np.ndarray) -> float | None:
    """var / nom when it is one number over the bins the sample fills, else None."""
    filled = nom > 1e-12 * max(float(nom.max()), 1e-300)
    if not np.any(filled) or np.any(np.abs(var[~filled] - nom[~filled]) > 1e-12 * float(nom.max())):
        return None
    ratio = var[filled] / nom[filled]
    return float(ratio.mean()) if np.ptp(ratio) <= 1e-9 * abs(float(ratio.mean())) else None


def _rounded(x: np.ndarray) -> list[float]:
    # 12 significant digits: far below any difference that matters, and a readable file
    return [float(f"{v:.12g}") for v in np.asarray(x, float)]


def pyhf_workspace(
    model, *, expand_at: Mapping[str, float] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(workspace, parameter map) of a :class:`~cevns_bayes.model.statistical.StatisticalModel`
    whose one POI is ``sigma`` (module docstring).

    ``expand_at`` gives the nuisance values θ* the templates are made at (default: the prior
    centres θ₀, HistFactory's convention). Elsewhere, e.g. at the package's best fit, the
    ±1 s templates bracket the region the fit explores, so pyhf's interpolation of the
    nonlinear responses is accurate where it matters; the constraints stay exactly the
    package's: α = (θ − θ*)/s with auxdata (θ₀ − θ*)/s, i.e. N(θ | θ₀, s).
    """
    if tuple(model.poi_names) != (POI,):
        raise ConfigError(
            f"{model.name}: the pyhf export needs an analysis whose one POI is the CEvNS "
            f"normalization '{POI}' (1e-40 cm², e.g. xsec); this one has POIs "
            f"{', '.join(model.poi_names)}, which do not scale the templates linearly"
        )
    centre: dict[str, float] = {POI: 1.0}
    widths: dict[str, float] = {}
    for name in model.nuisance_names:
        prior = model.parameters[name].prior
        if prior.kind not in ("normal", "truncated_normal"):
            raise ConfigError(
                f"{model.name}: nuisance {name!r} has a {prior.kind} prior; the pyhf export "
                "writes Gaussian constraints only (normal or truncated_normal)"
            )
        centre[name] = float(prior.mu)
        widths[name] = float(prior.sigma)
    unknown = set(expand_at or {}) - set(model.nuisance_names)
    if unknown:
        raise ConfigError(
            f"{model.name}: expand_at names {sorted(unknown)}, which are not nuisances of the "
            f"analysis ({', '.join(model.nuisance_names)})"
        )
    star = {**centre, **{k: float(v) for k, v in (expand_at or {}).items()}}
    nominal = _sample_templates(model, star)
    modifiers: dict[str, list[dict[str, Any]]] = {s: [] for s in SAMPLES}
    modifiers["cevns"].append({"name": POI, "type": "normfactor", "data": None})
    params: list[dict[str, Any]] = [
        {
            "name": POI,
            "bounds": [[model.parameters[POI].lower, model.parameters[POI].upper]],
            "inits": [model.parameters[POI].initial],
        }
    ]
    mapping: dict[str, Any] = {
        POI: {
            "package_parameter": POI,
            "meaning": "flux-averaged CEvNS cross section, 1e-40 cm² (normfactor)",
        }
    }
    for name in model.nuisance_names:
        mu, s, x0 = centre[name], widths[name], star[name]
        lo_b, hi_b = model.parameters[name].lower, model.parameters[name].upper
        hi = _sample_templates(model, {**star, name: x0 + s})
        lo = _sample_templates(model, {**star, name: x0 - s})
        if name == LUMI_NUISANCE:
            for sample in SAMPLES:
                f_hi = _uniform_factor(hi[sample], nominal[sample])
                if f_hi is None or (abs(f_hi - 1.0) > 1e-12 and sample != "cevns"):
                    raise ConfigError(
                        f"{model.name}: {name} is not a uniform scale of the CEvNS sample alone "
                        "(the lumi modifier would misrepresent it)"
                    )
            # the lumi parameter is flux_norm itself: the CEvNS template is divided by its value
            # at the expansion point, so that lumi = flux_norm multiplies it
            nominal["cevns"] = nominal["cevns"] / x0
            modifiers["cevns"].append({"name": "lumi", "type": "lumi", "data": None})
            params.append(
                {
                    "name": "lumi",
                    "auxdata": [mu],
                    "sigmas": [s],
                    "bounds": [[max(lo_b, mu - ALPHA_BOUND * s), min(hi_b, mu + ALPHA_BOUND * s)]],
                    "inits": [x0],
                }
            )
            mapping["lumi"] = {
                "package_parameter": name,
                "meaning": f"{name} itself (prior N({mu:g}, {s:g}))",
            }
            continue
        if LUMI_NUISANCE in star:  # the CEvNS templates are per unit flux_norm (below)
            hi["cevns"], lo["cevns"] = (
                hi["cevns"] / star[LUMI_NUISANCE],
                lo["cevns"] / star[LUMI_NUISANCE],
            )
        used = []
        for sample in SAMPLES:
            nom = nominal[sample]
            if np.allclose(hi[sample], nom, rtol=1e-10, atol=1e-12 * float(nom.max())) and (
                np.allclose(lo[sample], nom, rtol=1e-10, atol=1e-12 * float(nom.max()))
            ):
                continue
            f_hi, f_lo = _uniform_factor(hi[sample], nom), _uniform_factor(lo[sample], nom)
            if f_hi is not None and f_lo is not None:
                mod = {"name": name, "type": "normsys", "data": {"hi": f_hi, "lo": f_lo}}
            else:
                data = {"hi_data": _rounded(hi[sample]), "lo_data": _rounded(lo[sample])}
                mod = {"name": name, "type": "histosys", "data": data}
            modifiers[sample].append(mod)
            used.append(f"{sample} ({mod['type']})")
        if not used:
            continue
        a_lo = max(-ALPHA_BOUND, (lo_b - x0) / s) if math.isfinite(lo_b) else -ALPHA_BOUND
        a_hi = min(ALPHA_BOUND, (hi_b - x0) / s) if math.isfinite(hi_b) else ALPHA_BOUND
        entry = {"name": name, "bounds": [[a_lo, a_hi]], "inits": [0.0]}
        if x0 != mu:
            entry["auxdata"] = [(mu - x0) / s]
        params.append(entry)
        mapping[name] = {
            "package_parameter": name,
            "meaning": f"alpha = ({name} - {x0:.6g}) / {s:g}",
            "expansion_point": x0,
            "prior_centre": mu,
            "width": s,
            "modifies": used,
        }
    samples = [
        {"name": s, "data": _rounded(nominal[s]), "modifiers": modifiers[s]} for s in SAMPLES
    ]
    workspace = {
        "channels": [{"name": CHANNEL, "samples": samples}],
        "observations": [{"name": CHANNEL, "data": _rounded(model.observed.ravel())}],
        "measurements": [
            {"name": f"csi2021_{model.name}", "config": {"poi": POI, "parameters": params}}
        ],
        "version": "1.0.0",
    }
    n_pe, n_t = model.data_shape
    meta = {
        "analysis": model.name,
        "cevns_bayes_version": __version__,
        "channel": CHANNEL,
        "bins": {
            "n_pe": n_pe,
            "n_t": n_t,
            "order": "PE-major: flat index = i_pe * n_t + i_t",
            "pe_edges": np.asarray(model.binning.pe_edges, float).tolist(),
            "t_edges_us": np.asarray(model.binning.t_edges_us, float).tolist(),
        },
        "poi": POI,
        "parameters": mapping,
        "nominal_counts": {s: float(nominal[s].sum()) for s in SAMPLES},
        "note": (
            "sigma is in 1e-40 cm2 (the cevns sample is the prediction at sigma = 1); lumi is "
            "flux_norm itself; every other constrained alpha is (theta - expansion_point) / "
            "width, with auxdata (prior_centre - expansion_point) / width, so the constraints "
            "are the package's priors N(theta | prior_centre, width)"
        ),
        "expansion_point": {k: star[k] for k in model.nuisance_names},
        "fit_with": {"modifier_settings": INTERPOLATIONS["polynomial"]},
    }
    return workspace, meta


def validate_workspace(workspace: dict[str, Any]) -> None:
    """pyhf's schema check of ``workspace`` (raises pyhf's validation error)."""
    import pyhf

    pyhf.schema.validate(workspace, "workspace.json")


def _interval_edges(nll_at, x_best: float, nll_min: float, scale: float, lower: float):
    """Where 2 (NLL(x) − NLL_min) = 1 on each side of ``x_best``, by bracketing then brentq."""
    from scipy.optimize import brentq

    def q(x):
        return 2.0 * (nll_at(x) - nll_min) - 1.0

    edges = []
    for side in (-1.0, 1.0):
        step = scale
        a = x_best
        b = x_best + side * step
        while q(b) < 0.0:
            a, b = b, b + side * step
            if side < 0 and b <= lower:
                b = lower
                break
        edges.append(brentq(q, min(a, b), max(a, b), xtol=1e-6 * abs(x_best)))
    return edges[0], edges[1]


def package_profile_sigma(model) -> dict[str, float]:
    """The package's own profile-likelihood best fit of σ and its 68% edges (Δχ² = 1)."""
    from cevns_bayes.inference.profile import ProfileLikelihood

    prof = ProfileLikelihood(model)
    best = prof.fit()
    start = dict(best.values)

    def nll_at(x):
        r = prof.fit({POI: x}, start, hesse=False)
        return r.nll

    sd = best.errors.get(POI, 0.1 * best.values[POI])
    lo, hi = _interval_edges(nll_at, best.values[POI], best.nll, sd, 0.0)
    return {"best": best.values[POI], "lower_68": lo, "upper_68": hi, "valid": best.valid}


def pyhf_profile_sigma(workspace: dict[str, Any], interpolation: str = "polynomial") -> dict:
    """pyhf's own fit of ``workspace``: best σ and its 68% edges from pyhf's profile
    likelihood (numpy backend, MINUIT), with the interpolation codes of ``interpolation``
    (:data:`INTERPOLATIONS`)."""
    import pyhf

    if interpolation not in INTERPOLATIONS:
        raise ConfigError(
            f"unknown interpolation {interpolation!r}; choose from {', '.join(INTERPOLATIONS)}"
        )
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    ws = pyhf.Workspace(workspace)
    model = ws.model(modifier_settings=INTERPOLATIONS[interpolation])
    data = ws.data(model)
    i_poi = model.config.poi_index
    pars, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    best = float(pars[i_poi])

    def nll_at(x):
        _, t = pyhf.infer.mle.fixed_poi_fit(x, data, model, return_fitted_val=True)
        return 0.5 * float(t)

    lo, hi = _interval_edges(nll_at, best, 0.5 * float(twice_nll), 0.1 * best, 0.0)
    return {"best": best, "lower_68": lo, "upper_68": hi, "interpolation": interpolation}


def pyhf_crosscheck(model, workspace: dict[str, Any], ours: dict | None = None) -> dict:
    """pyhf's best fit and 68% edges of σ under each interpolation choice, against the
    package's profile likelihood on the same data (``ours``, computed when omitted);
    differences relative to the package's."""
    import pyhf

    t0 = time.perf_counter()
    ours = ours or package_profile_sigma(model)
    rows = {}
    for name in INTERPOLATIONS:
        r = pyhf_profile_sigma(workspace, name)
        r["relative_difference"] = {
            k: (r[k] - ours[k]) / ours[k] for k in ("best", "lower_68", "upper_68")
        }
        r["max_abs_relative_difference"] = max(abs(v) for v in r["relative_difference"].values())
        rows[name] = r
    return {
        "package": ours,
        "pyhf": rows,
        "pyhf_version": pyhf.__version__,
        "seconds": time.perf_counter() - t0,
    }


def write_pyhf(
    spec,
    out: str | Path,
    *,
    data_dir=None,
    flux=None,
    expand_at: str = "best_fit",
    check: bool = False,
) -> dict[str, Any]:
    """Write the pyhf workspace of ``spec`` to ``out`` (JSON) and ``<stem>.parameters.json``
    beside it. ``expand_at`` is ``"best_fit"`` (templates at the package's profile best fit,
    the default: pyhf then reproduces the package's σ within 1%) or ``"prior"`` (at the
    prior centres). With ``check``, validate the workspace against pyhf's schema, fit it with
    pyhf and write the comparison to ``<stem>.check.json``. Returns the paths and the check."""
    from cevns_bayes.inference.profile import ProfileLikelihood
    from cevns_bayes.model.statistical import load_analysis

    out = Path(out)
    if out.suffix != ".json":
        raise ConfigError(f"--out {out}: the workspace is written as JSON; give a .json path")
    if expand_at not in EXPANSIONS:
        raise ConfigError(f"--expand-at {expand_at!r}: choose from {', '.join(EXPANSIONS)}")
    model = load_analysis(spec, data_dir=data_dir, flux=flux)
    point = None
    if expand_at == "best_fit":
        best = ProfileLikelihood(model).fit(hesse=False)
        if not best.valid:
            raise ConfigError(
                f"{model.name}: the profile fit did not converge; use --expand-at prior"
            )
        point = {k: best.values[k] for k in model.nuisance_names}
    workspace, meta = pyhf_workspace(model, expand_at=point)
    meta["expansion"] = expand_at
    result: dict[str, Any] = {"workspace": str(out)}
    if check:
        validate_workspace(workspace)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, workspace)
    meta_path = out.with_name(out.stem + ".parameters.json")
    write_json(meta_path, meta)
    result["parameters"] = str(meta_path)
    if check:
        doc = pyhf_crosscheck(model, workspace)
        doc["analysis"] = model.name
        doc["expansion"] = expand_at
        check_path = out.with_name(out.stem + ".check.json")
        write_json(check_path, doc)
        result["check"] = doc
        result["check_path"] = str(check_path)
    return result
