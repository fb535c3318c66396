"""Bayesian against frequentist, side by side with the published result: tables, overlays and a
Markdown/HTML report.

Inputs are the files the ``sample``, ``profile`` and ``budget`` commands write into
``<results>/<analysis>/`` (``summary.json``, ``posterior.nc``, ``profile.json``,
``profile_scans.npz``, ``budget.json``); nothing is recomputed here.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from cevns_bayes.errors import ConfigError
from cevns_bayes.io import load_published
from cevns_bayes.output import atomic_path, save_figures, write_json

ANALYSES = ("xsec", "weak_mixing", "flavored", "flavored_giunti", "nsi_ee", "nsi_ee_mumu")
#: the shipped analyses beyond the paper's (``cevns-bayes reproduce --beyond-sm``); those whose
#: spec has a ``[scan]`` also run their exclusion scan
BEYOND_SM = (
    "light_vector",
    "light_vector_bl",
    "light_scalar",
    "magnetic_moment_universal",
    "magnetic_moment",
    "charge_radius",
    "neutron_radius",
    "neutron_radius_cs_i",
    "weak_mixing_neutron_radius",
    "sterile",
    "sterile_mumu",
)
#: Published limits from the same data, per analysis beyond the paper's. None is quoted: the
#: papers that analyse the CsI 2021 release for these models could not be read past their
#: abstracts where this package is built, and a number not read from its source is not put
#: beside ours. The sources, for a reader to compare with:
PUBLISHED_BEYOND_SM = (
    "No published limit from the CsI 2021 data is quoted beside these: none could be read from "
    "its source where this report was built (abstracts only). Analyses of the same release: "
    "arXiv:2211.11905 (CsI + Ar: R_n, magnetic moments and charge radii, light mediators), "
    "arXiv:2202.11002 (light vector and scalar mediators), arXiv:2202.10829 (with Dresden-II: "
    "magnetic moments, light mediators), arXiv:2303.09360 (R_n of CsI); none found for a 3+1 "
    "sterile-oscillation fit of these data."
)
#: figures of a beyond-SM folder shown in the report, in this order (those that exist)
BEYOND_SM_FIGURES = (
    "limits.png",
    "region.png",
    "contour_2d.png",
    "pair.png",
    "residual_best_fit.png",
    "ppc.png",
)


def _read_json(path: Path, command: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: not found; run `{command}` first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from err


def _fmt_interval(iv, digits: int = 4) -> str:
    if not iv or any(v is None for v in iv):
        return "—"
    return f"[{iv[0]:.{digits}g}, {iv[1]:.{digits}g}]"


def _fmt(v, digits: int = 4) -> str:
    return "—" if v is None else f"{v:.{digits}g}"


def compare_analysis(results: str | Path, name: str, *, plots: bool = True) -> dict[str, Any]:
    """Rows (one per POI) of Bayesian, profile and published intervals; writes
    ``compare.json``, ``compare.md`` and overlay figures into ``<results>/<name>/``."""
    folder = Path(results) / name
    summary = _read_json(folder / "summary.json", f"cevns-bayes sample {name}")
    prof = _read_json(folder / "profile.json", f"cevns-bayes profile {name}")
    published = load_published()["pois"]
    rows = []
    for poi, entry in summary["pois"].items():
        b = entry["bayes"]
        p = prof["pois"].get(poi, {})
        pub = published.get(poi) or {}
        pr = p.get("profile", {})
        best = pr.get("best")
        rows.append(
            {
                "poi": poi,
                "units": entry.get("units", ""),
                "bayes_median": b["median"],
                "bayes_mean": b["mean"],
                "bayes_sd": b["sd"],
                "hdi_68": b["hdi_68"],
                "eti_68": b["eti_68"],
                "hdi_90": b["hdi_90"],
                "eti_90": b["eti_90"],
                "profile_best": best,
                "profile_ci_68": pr.get("ci_68"),
                "profile_ci_90": pr.get("ci_90"),
                "profile_no_syst_ci_68": p.get("profile_no_syst", {}).get("ci_68"),
                "published_best": pub.get("best"),
                "published_ci_68": pub.get("ci_68"),
                "published_quoted": pub.get("quoted"),
                "median_minus_best_in_sd": (
                    (b["median"] - best) / b["sd"] if best is not None and b["sd"] else None
                ),
            }
        )
    doc = {
        "model": name,
        "rows": rows,
        "diagnostics": summary["diagnostics"],
        "profile": {k: prof.get(k) for k in ("significance_sigma", "chi2", "ndof", "gof_pvalue")},
        "conventions": prof.get("model_settings"),
        "mode_masses": summary.get("mode_masses"),
        "grid_mode_masses": summary.get("grid_reference", {}).get("mode_masses"),
        "figures": [],
    }
    if plots:
        doc["figures"] = _compare_figures(folder, summary, prof, rows)
    write_json(folder / "compare.json", doc)
    md = folder / "compare.md"
    with atomic_path(md) as tmp:
        tmp.write_text(compare_markdown(doc) + "\n")
    return doc


def _compare_figures(folder: Path, summary, prof, rows) -> list[str]:
    """Read the draws and scans of ``folder``, draw the overlays
    (:mod:`cevns_bayes.plots.compare`) and save them; returns their file names."""
    import arviz as az

    from cevns_bayes.plots import compare as plots

    idata = az.from_netcdf(folder / "posterior.nc")
    scans = np.load(folder / "profile_scans.npz")
    figs = {}
    pois = list(summary["pois"])
    for row in rows:
        poi = row["poi"]
        if f"{poi}_grid" not in scans:
            continue
        figs[f"compare_{poi}.png"] = plots.posterior_vs_profile_1d(
            idata.posterior[poi].values.ravel(),
            scans[f"{poi}_grid"],
            scans[f"{poi}_delta_chi2"],
            poi,
            {
                "hdi_68": row["hdi_68"],
                "profile_68": row["profile_ci_68"],
                "published_68": row["published_ci_68"],
            },
            row["units"],
        )
    if len(pois) == 2 and "delta_chi2_2d" in scans:
        post = idata.posterior
        xy = [post[p].values.ravel() for p in pois]
        axes = [scans["axis_0"], scans["axis_1"]]
        levels, dens = credible_levels_2d(xy[0], xy[1], axes, (0.68, 0.90))
        figs["compare_2d.png"] = plots.posterior_over_profile_2d(
            axes,
            scans["delta_chi2_2d"],
            pois,
            best=[prof["best_fit"][p] for p in pois],
            sm=[1.0 if p.startswith("scale") else 0.0 for p in pois],
            posterior=xy,
            density=dens,
            levels=levels,
        )
    figs.update(_fit_check_figures(summary, prof, rows))
    save_figures(figs, folder)
    return list(figs)


def fit_checks_markdown(folder: Path) -> list[str]:
    """Grouped impacts per POI (profile: from the Hessian at the best fit; posterior: the sd
    each group explains) and the three nuisances that move each POI most, from
    ``profile.json`` and ``summary.json`` of ``folder`` (empty when neither has impacts)."""
    prof = _json_or_empty(folder / "profile.json")
    summ = _json_or_empty(folder / "summary.json")
    p_imp, b_imp = prof.get("impacts") or {}, summ.get("impacts") or {}
    if not p_imp and not b_imp:
        return []
    md = [
        "Fit checks (pulls, impacts, correlations: `profile.json` / `summary.json`; figures "
        "`pulls.png`, `impacts_*.png`, `correlation_*.png`). Grouped impacts: the part of the "
        "POI's uncertainty each group of nuisances carries, in quadrature "
        "(√(σ² − σ²_group fixed) for the profile, the sd the group explains for the posterior).",
        "",
    ]
    for poi in dict.fromkeys([*p_imp, *b_imp]):
        pg = (p_imp.get(poi) or {}).get("grouped", {})
        bg = (b_imp.get(poi) or {}).get("grouped", {})
        groups = list(dict.fromkeys([*pg, *bg]))
        md += [
            f"| `{poi}` | " + " | ".join(groups) + " |",
            "| --- | " + " | ".join("---" for _ in groups) + " |",
        ]
        for label, g in (("profile", pg), ("posterior", bg)):
            if g:
                cells = ["—" if g.get(k) is None else f"{g[k]:.3g}" for k in groups]
                md.append(f"| {label} | " + " | ".join(cells) + " |")
        top = [r["nuisance"] for r in (p_imp.get(poi) or b_imp.get(poi))["ranking"][:3]]
        md += ["", f"Largest impacts on `{poi}`: " + ", ".join(f"`{n}`" for n in top) + ".", ""]
    return md


def _json_or_empty(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _fit_check_figures(summary, prof, rows) -> dict:
    """Pulls (profile beside posterior), the impact ranking per POI and the two correlation
    matrices (:mod:`cevns_bayes.plots.impacts`), for results that hold them."""
    from cevns_bayes.plots import impacts as ip

    name = summary["model"]
    figs = {}
    if prof.get("pulls") or summary.get("pulls"):
        figs["pulls.png"] = ip.pulls(prof.get("pulls"), summary.get("pulls"), name)
    units = {r["poi"]: r["units"] for r in rows}
    for poi in summary["pois"]:
        p_imp = (prof.get("impacts") or {}).get(poi)
        b_imp = (summary.get("impacts") or {}).get(poi)
        if p_imp or b_imp:
            figs[f"impacts_{poi}.png"] = ip.impact_ranking(p_imp, b_imp, name, units.get(poi, ""))
    if (prof.get("correlation") or {}).get("matrix") is not None:
        figs["correlation_profile.png"] = ip.correlation_matrix(
            prof["correlation"], name, "correlations at the best fit (HESSE)"
        )
    if summary.get("correlation"):
        figs["correlation_posterior.png"] = ip.correlation_matrix(
            summary["correlation"], name, "posterior correlations"
        )
    return figs


def credible_levels_2d(x, y, axes, probs=(0.68, 0.90), smooth_cells: float = 1.0):
    """Density on the grid ``axes`` from posterior draws (histogram + Gaussian smoothing) and
    the density levels enclosing each probability (highest-density regions)."""
    from scipy.ndimage import gaussian_filter

    ax0, ax1 = (np.asarray(a, float) for a in axes)

    def edges(a):
        h = a[1] - a[0]
        return np.concatenate([[a[0] - h / 2], a + h / 2])

    hist, _, _ = np.histogram2d(x, y, bins=(edges(ax0), edges(ax1)))
    dens = gaussian_filter(hist, smooth_cells, mode="constant")
    dens /= dens.sum()
    flat = np.sort(dens.ravel())[::-1]
    cum = np.cumsum(flat)
    levels = [float(flat[min(np.searchsorted(cum, p), flat.size - 1)]) for p in probs]
    return levels, dens


def conventions_sentence(conv: dict[str, Any]) -> str:
    """One line saying which flux and cross-section conventions a result rests on."""
    from cevns_bayes.physics.cross_section import PAPER_COUPLINGS, PAPER_FORM_FACTOR

    paper = conv["couplings"] == PAPER_COUPLINGS and conv["form_factor"] == PAPER_FORM_FACTOR
    return (
        f"Conventions: flux {conv['flux_source']} (proton pulse {conv['proton_pulse']}, arrival "
        f"time {conv['arrival_time_us']:g} µs); couplings `{conv['couplings']}`, form factor "
        f"`{conv['form_factor']}`"
        + (
            " (the paper's: the published SM cross sections rest on them)."
            if paper
            else " (not the paper's `coherent2021` / `helm_a13`)."
        )
    )


def compare_markdown(doc: dict[str, Any]) -> str:
    lines = [
        f"### {doc['model']}: Bayesian and profile-likelihood intervals",
        "",
        "| POI | posterior median | 68% HDI | 68% equal-tailed | 90% HDI | profile best | "
        "profile 68% (Wilks) | profile 90% | no-syst. 68% | published | (median − best)/sd |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        unit = f" [{r['units']}]" if r["units"] else ""
        lines.append(
            f"| `{r['poi']}`{unit} | {_fmt(r['bayes_median'])} | {_fmt_interval(r['hdi_68'])} | "
            f"{_fmt_interval(r['eti_68'])} | {_fmt_interval(r['hdi_90'])} | "
            f"{_fmt(r['profile_best'])} | {_fmt_interval(r['profile_ci_68'])} | "
            f"{_fmt_interval(r['profile_ci_90'])} | {_fmt_interval(r['profile_no_syst_ci_68'])} | "
            f"{r['published_quoted'] or '—'} | {_fmt(r['median_minus_best_in_sd'], 2)} |"
        )
    d = doc["diagnostics"]
    p = doc["profile"]
    conv = doc.get("conventions")
    if conv:
        lines += ["", conventions_sentence(conv)]
    lines += [
        "",
        f"NUTS ({d['sampler']}, {d['chains']} × {d['draws']} draws after {d['tune']} tuning): "
        f"r̂_max {d['r_hat_max']:.3f}, bulk ESS_min {d['ess_bulk_min']:.0f}, tail ESS_min "
        f"{d['ess_tail_min']:.0f}, {d['divergences']} divergences, E-BFMI_min "
        f"{d['bfmi_min']:.2f}.",
        f"Profile: no-CEvNS rejected at {_fmt(p['significance_sigma'], 3)} σ; "
        f"χ²/ndof = {_fmt(p['chi2'], 3)}/{p['ndof']} (p = {_fmt(p['gof_pvalue'], 2)}).",
    ]
    if doc.get("mode_masses"):
        ref = doc.get("grid_mode_masses") or {}
        lines += ["", "| band (sign of Q) | NUTS mass | grid (Laplace) mass |", "|---|---|---|"]
        for k, v in doc["mode_masses"].items():
            lines.append(f"| {k} | {v:.3f} | {_fmt(ref.get(k), 3)} |")
    return "\n".join(lines)


# --- the report -----------------------------------------------------------------------------------
def write_report(results: str | Path, commands: list[str] | None = None) -> tuple[Path, Path]:
    """``report.md`` and ``report.html`` in ``results`` over every analysis found there."""
    results = Path(results)
    found = [a for a in ANALYSES if (results / a / "compare.json").is_file()]
    beyond = beyond_sm_markdown(results, exclude=found)
    if not found and not beyond:
        raise ConfigError(
            f"{results}: no compare.json, profile.json, summary.json or limits.json in any "
            "analysis folder; run `cevns-bayes reproduce` (or sample, profile and compare) first"
        )
    pub = load_published()
    md = [
        "# cevns-bayes: Bayesian and frequentist reanalysis of COHERENT CsI[Na]",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M')} from the files in `{results}`. "
        "Published values: " + pub["_source"],
        "",
        "Bayesian intervals are highest-density (HDI) and equal-tailed (ETI) credible intervals "
        "from NUTS; frequentist intervals are profile-likelihood intervals with Wilks' theorem "
        "(Δχ² = 1 and 2.71), both built on the same pytensor forward graph with the same "
        "nuisances (priors in the Bayesian fit, the matching constraint terms in the profile).",
        "",
    ]
    for name in found:
        folder = results / name
        doc = json.loads((folder / "compare.json").read_text())
        md.append(compare_markdown(doc).replace("### ", "## ", 1))
        md.append("")
        md += fit_checks_markdown(folder)
        figs = list(doc.get("figures", []))
        for extra in (
            "delta_chi2_sigma.png",
            "delta_chi2_sin2_theta_w.png",
            "contour_2d.png",
            "nsi_bands.png",
            "residual_best_fit.png",
            "ppc.png",
            "pair.png",
            "rank.png",
        ):
            if (folder / extra).is_file():
                figs.append(extra)
        for f in figs:
            md.append(f"![{name}: {f}]({name}/{f})")
        md.append("")
        budget = folder / "budget.json"
        if budget.is_file():
            from cevns_bayes.workflows.budget import budget_table_markdown

            md += [
                f"### {name}: difference budget",
                "",
                budget_table_markdown(json.loads(budget.read_text())),
                "",
            ]
            if (folder / "budget.png").is_file():
                md.append(f"![{name}: budget]({name}/budget.png)")
                md.append("")
    md += beyond
    comparison = model_comparison(results)
    loo = predictive_comparison(results)
    if comparison is not None or loo is not None:
        write_json(results / "model_comparison.json", {**(comparison or {}), "loo": loo})
        md += model_comparison_markdown(comparison)
    md += sensitivity_markdown(results)
    if loo is not None:
        md += [
            "## Predictive comparison (PSIS-LOO)",
            "",
            loo["convention"] + ".",
            "",
            "| rank | analysis | elpd_loo | p_loo | elpd_diff ± dse | weight | Pareto-k warning | "
            "LOO-PIT p |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in loo["rows"]:
            pit = r.get("pit_ks_pvalue")
            md.append(
                f"| {r['rank']} | `{r['analysis']}` | {r['elpd_loo']:.2f} ± {r['se']:.2f} | "
                f"{r['p_loo']:.2f} | {r['elpd_diff']:.2f} ± {r['dse']:.2f} | {r['weight']:.3f} | "
                f"{'yes' if r['warning'] else 'no'} | {'—' if pit is None else f'{pit:.2f}'} |"
            )
        md.append("")
    md += [
        "## What is not reproduced, and why",
        "",
        "- The paper's 2021 flux file is not public. The default flux takes its per-flavor "
        "time profiles (10 ns, proton pulse included, in the release's t_rec frame) from public "
        "projections of it and the energy spectra from the 2018 file, which its 1 MeV energy "
        "projections match once their labels are moved down by 1 MeV. The difference budget "
        "shows what the 2018 file with a modelled pulse and the analytic spectra change.",
        "- xsec, weak_mixing and flavored use the paper's cross-section conventions "
        "(`coherent2021` couplings: charge-radius corrections with the antineutrino sign the "
        "rate code calls a legacy error; `helm_a13` form factor); `flavored_giunti` repeats the "
        "flavored fit with the corrected sign. With the GEANT4 spectra the SM ⟨σ⟩_e is 170.0, "
        "1.2% below the published 172, which the analytic Michel spectrum reproduces (172.2): "
        "the GEANT4 ν_e spectrum is 1% softer in mean energy.",
        "- The NSI specs keep tree-level couplings and the Helm radii: their boxes are centred "
        "where the tree-level charges vanish (the reflection folding needs it); the published "
        "NSI regions are compared by shape only.",
        "- Bayesian and profile intervals differ where the posterior is bounded or skewed "
        "(e.g. the ν_e scale near 0): the posterior median moves away from the profile best "
        "fit by the prior volume, a real difference between the two answers, not an error.",
        "",
    ]
    if commands:
        md += ["## Commands that produced these results", "", "```bash", *commands, "```", ""]
    text = "\n".join(md) + "\n"
    md_path = results / "report.md"
    html_path = results / "report.html"
    with atomic_path(md_path) as tmp:
        tmp.write_text(text)
    with atomic_path(html_path) as tmp:
        tmp.write_text(markdown_to_html(text, title="cevns-bayes report"))
    return md_path, html_path


#: the neutron-radius POIs and the isotopes each one scales
RADIUS_POIS = {"r_n_scale": ("Cs133", "I127"), "r_n_scale_cs": ("Cs133",), "r_n_scale_i": ("I127",)}


def radius_markdown(p_doc, s_doc) -> list[str]:
    """R_n and the neutron skin in fm for the neutron-radius POIs of an analysis: R_n = scale ×
    the form-factor convention's nominal neutron radius, skin = R_n − R_p with R_p the
    point-proton rms radius from the measured charge radius (``nuclear_radii_fm(iso,
    "helm")``), for the profile best fit and 90% interval and the posterior median and 90% HDI
    (a linear map of the scale, so the intervals map exactly)."""
    from cevns_bayes import constants as c
    from cevns_bayes.physics.cross_section import nuclear_radii_fm

    doc = p_doc or s_doc or {}
    pois = [n for n in doc.get("pois", {}) if n in RADIUS_POIS]
    if not pois:
        return []
    kind = ((p_doc or {}).get("model_settings") or {}).get("form_factor", "helm_a13")
    isotopes = {iso.name: iso for iso in c.ISOTOPES}
    md = [
        "| nucleus | R_n [fm] profile best, 90% | R_n posterior median, 90% HDI | skin R_n − R_p "
        "[fm] profile | skin posterior |",
        "| --- | --- | --- | --- | --- |",
    ]
    for poi in pois:
        pr = ((p_doc or {}).get("pois", {}).get(poi) or {}).get("profile")
        ba = ((s_doc or {}).get("pois", {}).get(poi) or {}).get("bayes")
        for iso_name in RADIUS_POIS[poi]:
            iso = isotopes[iso_name]
            rn0 = nuclear_radii_fm(iso, kind)[1]
            rp = nuclear_radii_fm(iso, "helm")[0]

            def show(best, iv, shift=0.0, rn0=rn0):
                if best is None:
                    return "—"
                lo, hi = (v * rn0 - shift for v in iv)
                return f"{best * rn0 - shift:.2f} [{lo:.2f}, {hi:.2f}]"

            md.append(
                f"| {iso_name} (`{poi}`) | {show(pr and pr['best'], pr and pr['ci_90'])} | "
                f"{show(ba and ba['median'], ba and ba['hdi_90'])} | "
                f"{show(pr and pr['best'], pr and pr['ci_90'], rp)} | "
                f"{show(ba and ba['median'], ba and ba['hdi_90'], rp)} |"
            )
    md += [
        "",
        f"R_n = scale × the nominal neutron radius of the `{kind}` form factor; the skin uses the "
        "point-proton radius from the measured charge radius (4.744 fm Cs, 4.689 fm I).",
        "",
    ]
    return md


def _interval(iv) -> str:
    return f"[{_fmt(iv[0])}, {_fmt(iv[1])}]"


def beyond_sm_markdown(results: str | Path, exclude=()) -> list[str]:
    """Report lines for the analyses in ``results`` beyond the paper's (any folder other than
    ``exclude`` holding ``profile.json``, ``summary.json`` or ``limits.json``): per POI the
    profile best fit and 90% interval, the posterior median and 90% HDI with the sampler's
    diagnostics, and for an exclusion scan its curve and table."""
    results = Path(results)
    folders = sorted(
        f
        for f in results.iterdir()
        if f.is_dir()
        and f.name not in exclude
        and any((f / n).is_file() for n in ("profile.json", "summary.json", "limits.json"))
    )
    if not folders:
        return []
    md = ["## Beyond the paper's analyses", ""]
    for folder in folders:
        name = folder.name
        md += [f"### {name}", ""]
        prof = folder / "profile.json"
        summ = folder / "summary.json"
        p_doc = json.loads(prof.read_text()) if prof.is_file() else None
        s_doc = json.loads(summ.read_text()) if summ.is_file() else None
        pois = list((p_doc or s_doc or {}).get("pois", {}))
        if pois:
            md += [
                "| POI | units | profile best fit | profile 90% | posterior median | 90% HDI |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for poi in pois:
                pr = (p_doc or {}).get("pois", {}).get(poi, {}).get("profile")
                ba = (s_doc or {}).get("pois", {}).get(poi, {}).get("bayes")
                units = ((p_doc or s_doc)["pois"][poi]).get("units", "")
                bands = (pr or {}).get("allowed_90") or []
                ci = (
                    " ∪ ".join(_interval(b) for b in bands)
                    if len(bands) > 1
                    else (_interval(pr["ci_90"]) if pr else "—")
                )
                md.append(
                    f"| {poi} | {units} | {_fmt(pr['best']) if pr else '—'} | {ci} | "
                    f"{_fmt(ba['median']) if ba else '—'} | "
                    f"{_interval(ba['hdi_90']) if ba else '—'} |"
                )
            md.append("")
        md += radius_markdown(p_doc, s_doc)
        if len(pois) == 2 and (folder / "posterior.nc").is_file():
            import arviz as az

            post = az.from_netcdf(folder / "posterior.nc").posterior
            a, b = (post[n].values.ravel() for n in pois)
            rho = float(np.corrcoef(a, b)[0, 1])
            md += [f"Posterior correlation of `{pois[0]}` and `{pois[1]}`: ρ = {rho:+.2f}.", ""]
        if s_doc is not None and s_doc.get("mode_masses"):
            ref = (s_doc.get("grid_reference") or {}).get("mode_masses") or {}
            md += ["| sign band | NUTS mass | Laplace grid mass |", "| --- | --- | --- |"]
            for k, v in s_doc["mode_masses"].items():
                md.append(f"| {k} | {v:.3f} | {_fmt(ref.get(k), 3)} |")
            md.append("")
        if s_doc is not None:
            d = s_doc["diagnostics"]
            md += [
                f"Posterior: {d['chains']} × {d['draws']} draws, r̂ ≤ {d['r_hat_max']:.3f}, "
                f"ESS_bulk ≥ {d['ess_bulk_min']:.0f}, {d['divergences']} divergences.",
                "",
            ]
        lim = folder / "limits.json"
        if lim.is_file():
            doc = json.loads(lim.read_text())
            ux, ul = doc["units"].get("x", ""), doc["units"].get("limit", "")
            md += [
                f"Exclusion scan of `{doc['limit_on']}` ({ul or 'dimensionless'}) over "
                f"`{doc['parameter']}` ({ux}), {len(doc['scanned'])} points "
                f"(`{name}/limits.csv`):",
                "",
                f"| {doc['parameter']} | profile 90% upper | Bayes flat | Bayes log-uniform |",
                "| --- | --- | --- | --- |",
            ]
            for pr, ba in zip(doc["profile"], doc["bayes"]):
                edge = " (box edge)" if pr.get("at_bound") else ""
                md.append(
                    f"| {_fmt(pr['x'])} | {_fmt(pr['upper_90'])}{edge} | "
                    f"{_fmt(ba['upper_90_flat'])} | {_fmt(ba['upper_90_log'])} |"
                )
            md.append("")
            islands = [
                (pr["x"], pr["allowed"])
                for pr in doc["profile"]
                if len(pr.get("allowed") or []) > 1
            ]
            if islands:
                md += [
                    f"A second allowed band (profile Δχ² < 2.71 at fixed `{doc['parameter']}`, "
                    "apart from the best fit's) at "
                    + "; ".join(
                        f"{_fmt(x)}: " + ", ".join(_interval(b) for b in bands)
                        for x, bands in islands
                    )
                    + ". The profile upper limit is the best fit's band; the flat-prior Bayesian "
                    "limit integrates every band.",
                    "",
                ]
        figs = [f for f in BEYOND_SM_FIGURES if (folder / f).is_file()]
        figs += sorted(f.name for f in folder.glob("delta_chi2_*.png"))
        for f in figs:
            md.append(f"![{name}: {f}]({name}/{f})")
        if figs:
            md.append("")
    md += [PUBLISHED_BEYOND_SM, ""]
    return md


def model_comparison(results: str | Path) -> dict[str, Any] | None:
    """The evidence of every analysis in ``results`` with an ``evidence.json``
    (``cevns-bayes evidence``): per analysis ln Z ± error by estimator, ln B against its SM
    reference, the Savage–Dickey check and the POI boxes B depends on. Written by the report
    as ``model_comparison.json``; None when there is none."""
    results = Path(results)
    rows = {}
    for path in sorted(results.glob("*/evidence.json")):
        doc = json.loads(path.read_text())
        rows[doc["model"]] = {
            "log_z": {
                k: {"value": v["value"], "error": v["error"]} for k, v in doc["log_z"].items()
            },
            "log_z_sm": {
                k: {"value": v["value"], "error": v["error"]} for k, v in doc["sm"]["log_z"].items()
            },
            "log_bayes_factor_vs_sm": doc["log_bayes_factor_vs_sm"],
            "savage_dickey": (doc.get("savage_dickey") or {}).get("value"),
            "boxes": doc.get("boxes"),
            "agreement": doc.get("agreement"),
        }
    if not rows:
        return None
    return {
        "convention": "ln Z in nats with ln n! included; ln B = ln Z(analysis) - ln Z(SM "
        "reference: the POIs fixed at their SM values); B > 1 favours the analysis; flat POI "
        "priors on the stated boxes (B scales as 1/box width once the box holds the likelihood)",
        "analyses": rows,
    }


def _pit_pvalue(summary: Path) -> float | None:
    """The KS p-value of the analysis's randomized LOO-PIT (``summary.json`` of ``sample``)."""
    if not summary.is_file():
        return None
    pit = json.loads(summary.read_text()).get("loo", {}).get("pit") or {}
    return pit.get("ks_pvalue")


def predictive_comparison(results: str | Path) -> dict[str, Any] | None:
    """PSIS-LOO comparison (``arviz.compare``) of every analysis in ``results`` whose
    ``posterior.nc`` holds the pointwise ln L (one value per (PE, t) bin and draw): ranks,
    elpd_loo, p_loo, the difference to the best and its standard error, stacking weights and
    the Pareto-k warnings. None when fewer than two analyses have it."""
    import warnings

    import arviz as az

    results = Path(results)
    idatas = {}
    for path in sorted(results.glob("*/posterior.nc")):
        idata = az.from_netcdf(path)
        if "log_likelihood" in idata.groups():
            idatas[path.parent.name] = idata
    if len(idatas) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(idatas, ic="loo")
    rows = []
    for name, r in table.iterrows():
        rows.append(
            {
                "analysis": str(name),
                "rank": int(r["rank"]),
                "elpd_loo": float(r["elpd_loo"]),
                "p_loo": float(r["p_loo"]),
                "elpd_diff": float(r["elpd_diff"]),
                "dse": float(r["dse"]),
                "se": float(r["se"]),
                "weight": float(r["weight"]),
                "warning": bool(r["warning"]),
                "pit_ks_pvalue": _pit_pvalue(results / str(name) / "summary.json"),
            }
        )
    return {
        "convention": "PSIS-LOO over the 99 (PE, t) bins of the shipped data; elpd_diff and dse "
        "relative to the best-ranked analysis; weight: stacking weights; warning: some bin's "
        "Pareto k above ArviZ's threshold; LOO-PIT p: Kolmogorov-Smirnov p-value of the "
        "randomized LOO probability integral transforms of the 99 bins against uniformity "
        "(small: the data are not a typical draw of the model's leave-one-out predictive)",
        "rows": rows,
    }


def sensitivity_markdown(results: str | Path) -> list[str]:
    """The report's "Prior sensitivity" section: per analysis with a ``sensitivity.json``
    (``cevns-bayes sensitivity``), the largest shift of each POI summary and every flagged
    change, with its figure."""
    results = Path(results)
    docs = [json.loads(p.read_text()) for p in sorted(results.glob("*/sensitivity.json"))]
    if not docs:
        return []
    md = [
        "## Prior sensitivity",
        "",
        "Shifts of each POI's posterior mean and 5% / 95% quantiles, in posterior sd, under each "
        "non-flat prior power-scaled by α = 0.8 and 1.25 and under log-uniform and Jeffreys "
        "alternatives to the flat POI boxes (PSIS-reweighted draws; k ≥ 0.7: unreliable). "
        "Flagged: a shift above 0.2 sd.",
        "",
        "| analysis | POI | largest shift (sd) | from | flagged changes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for doc in docs:
        name = doc["model"]
        for poi in doc["base"]:
            rows = [r for r in doc["rows"] if r["poi"] == poi]
            if not rows:
                continue
            top = max(rows, key=lambda r: max(abs(r["mean"]), abs(r["q05"]), abs(r["q95"])))
            size = max(abs(top["mean"]), abs(top["q05"]), abs(top["q95"]))
            flagged = [
                f"{r['prior']} {r['change']}" + ("" if r["reliable"] else " (k ≥ 0.7)")
                for r in rows
                if r["flagged"]
            ]
            md.append(
                f"| `{name}` | {poi} | {size:.2f} | {top['prior']} {top['change']} | "
                f"{'; '.join(flagged) or 'none'} |"
            )
    md.append("")
    md += _sensitivity_explanations(docs)
    for doc in docs:
        if (results / doc["model"] / "sensitivity.png").is_file():
            md.append(f"![{doc['model']}: sensitivity]({doc['model']}/sensitivity.png)")
    md.append("")
    return md


def _sensitivity_explanations(docs) -> list[str]:
    """What each kind of flagged change means, with the analyses where it occurs: an
    alternative POI prior (log-uniform, Jeffreys) or a power-scaled nuisance prior."""
    by_kind: dict[str, set[str]] = {}
    for doc in docs:
        for r in doc["rows"]:
            if not r["flagged"]:
                continue
            kind = "power" if str(r["change"]).startswith("power") else "alternative"
            by_kind.setdefault(kind, set()).add(f"`{doc['model']}` ({r['prior']} {r['change']})")
    text = {
        "alternative": "A flagged **alternative POI prior** (log-uniform or Jeffreys instead "
        "of the flat box) means the data leave the POI's lower values only weakly excluded: "
        "the posterior has mass towards the edge of the box where the alternative puts its "
        "weight, so the summary depends on the prior and the flat-box numbers are a choice, "
        "stated with the spec (for a flavored scale, the ν_e rate is measured by the delayed "
        "events alone; for a coupling whose rate goes as its square, small values are "
        "indistinguishable from 0), or, for an NSI coupling with two bands, that the "
        "alternative (Jeffreys: √ of the Fisher information, which differs between the bands) "
        "weights the bands otherwise than the flat box.",
        "power": "A flagged **power-scaled nuisance prior** means that constraint carries the "
        "POI's uncertainty: tempering or sharpening it moves the POI because the data measure "
        "only a product of the two (σ × flux normalization for the cross section), so the "
        "external measurement behind that prior is what limits the result.",
    }
    md = []
    for kind, where in by_kind.items():
        md += [text[kind] + " Here: " + ", ".join(sorted(where)) + ".", ""]
    return md


def model_comparison_markdown(doc: dict[str, Any] | None) -> list[str]:
    """The report's "Model comparison" section from :func:`model_comparison`."""
    if not doc:
        return []
    md = [
        "## Model comparison",
        "",
        "Evidence of each analysis and of its SM reference (the same analysis with its POIs "
        "fixed at their SM values), by nested sampling (dynesty), sequential Monte Carlo (PyMC) "
        "and the Laplace grid (1–2 POIs); `cevns-bayes evidence MODEL`. " + doc["convention"] + ".",
        "",
        "| analysis | POI box | ln Z nested | ln Z SMC | ln Z grid | ln B vs SM (nested) | "
        "ln B (SMC) | Savage–Dickey ln B |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def z(d, k):
        v = d.get(k)
        return "—" if v is None else f"{v['value']:.2f} ± {v['error']:.2f}"

    for name, r in doc["analyses"].items():
        boxes = "; ".join(f"{k} [{_fmt(a)}, {_fmt(b)}]" for k, (a, b) in (r["boxes"] or {}).items())
        bf = r["log_bayes_factor_vs_sm"]
        md.append(
            f"| `{name}` | {boxes} | {z(r['log_z'], 'nested')} | {z(r['log_z'], 'smc')} | "
            f"{z(r['log_z'], 'laplace_grid')} | {z(bf, 'nested')} | {z(bf, 'smc')} | "
            f"{_fmt(r['savage_dickey'], 3)} |"
        )
    md.append("")
    return md


def _slug(text: str, taken: set[str]) -> str:
    """A unique HTML id for a heading: lower case, letters, digits and hyphens."""
    base = "".join(c if c.isalnum() else "-" for c in text.lower())
    base = "-".join(p for p in base.split("-") if p) or "section"
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug)
    return slug


def markdown_to_html(text: str, title: str = "report") -> str:
    """The small Markdown subset the report uses (headings, tables, images, code, paragraphs),
    with a table of contents of the level-2 and level-3 headings after the title."""
    toc: list[tuple[int, str, str]] = []
    taken: set[str] = set()
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
        "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}th{background:#eee}"
        "img{max-width:100%;margin:0.5em 0;border:1px solid #ddd}code{background:#f3f3f3}"
        "pre{background:#f3f3f3;padding:0.8em;overflow-x:auto}"
        "nav.toc{background:#f7f7f7;border:1px solid #ddd;padding:0.6em 1.2em;margin:1em 0}"
        "nav.toc ul{margin:0.2em 0;padding-left:1.2em}nav.toc li{margin:0.1em 0}"
        "nav.toc .l3{font-size:0.92em;margin-left:1.2em}</style></head><body>",
    ]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            block = []
            while j < len(lines) and not lines[j].startswith("```"):
                block.append(html.escape(lines[j]))
                j += 1
            out.append("<pre>" + "\n".join(block) + "</pre>")
            i = j + 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out.append(_table_html(rows))
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            heading = line[level:].strip()
            slug = _slug(heading, taken)
            if level in (2, 3):
                toc.append((level, slug, heading))
            out.append(f"<h{level} id='{slug}'>{_inline(heading)}</h{level}>")
        elif line.startswith("!["):
            alt = line[2 : line.index("]")]
            src = line[line.index("(") + 1 : line.rindex(")")]
            out.append(
                f"<figure><img src='{html.escape(src)}' alt='{html.escape(alt)}'>"
                f"<figcaption>{html.escape(alt)}</figcaption></figure>"
            )
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
        i += 1
    out.append("</body></html>")
    if toc:
        nav = ["<nav class='toc'><b>Contents</b><ul>"]
        for level, slug, heading in toc:
            nav.append(f"<li class='l{level}'><a href='#{slug}'>{_inline(heading)}</a></li>")
        nav.append("</ul></nav>")
        first_h1 = next((k for k, o in enumerate(out) if o.startswith("<h1")), 0)
        out[first_h1 + 1 : first_h1 + 1] = ["\n".join(nav)]
    return "\n".join(out)


def _inline(text: str) -> str:
    parts = html.escape(text).split("`")
    out = "".join(f"<code>{p}</code>" if k % 2 else p for k, p in enumerate(parts))
    bold = out.split("**")
    return "".join(f"<b>{p}</b>" if k % 2 else p for k, p in enumerate(bold))


def _table_html(rows: list[str]) -> str:
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    head, body = cells[0], [r for r in cells[1:] if not set("".join(r)) <= set("-: ")]
    out = ["<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"]
    for r in body:
        out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)
