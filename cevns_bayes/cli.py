"""``cevns-bayes``: the command line. It only wires: reads options, calls the package, writes.

Every command that reads data takes ``--data-dir`` (folder of the release files) and ``--flux``
(a flux ROOT file of either format, or ``analytic``). Bad input exits with status 2 and one line
naming the file and what was wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cevns_bayes import __version__
from cevns_bayes import constants as c
from cevns_bayes.errors import CevnsBayesError, ConfigError
from cevns_bayes.paths import DEFAULT_DATA_DIR, FLUX_2018_FILE
from cevns_bayes.physics.cross_section import COUPLING_CONVENTIONS, FORM_FACTORS
from cevns_bayes.physics.flux import DEFAULT_FLUX_SOURCE, FLUX_SOURCES
from cevns_bayes.spec import list_specs


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="folder with the COHERENT CsI 2021 release files (default: shipped data/)",
    )
    p.add_argument(
        "--flux",
        default=DEFAULT_FLUX_SOURCE,
        help="SNS flux: '2021-derived' (default: the 2021 flux's time profiles, pulse included, "
        "with the 2018 file's energy spectra), 'analytic' (piDAR spectra, modelled pulse), or a "
        "ROOT file in the 2018 (TH1D, modelled pulse) or 2021 snsFlux2D (TH2D) format",
    )


def _add_fix_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fix",
        type=_name_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix a parameter the spec does not free, e.g. a mediator mass "
        "(m_zprime_mev=1000, MeV) or dm2_41_ev2 (repeatable; replaces its [fixed] value)",
    )


def _add_model_options(p: argparse.ArgumentParser) -> None:
    _add_data_options(p)
    p.add_argument(
        "--binning", default="default", help="'default' (9x11), 'fine' (30x60) or 'uniform:NPExNT'"
    )
    p.add_argument(
        "--pulse-shape",
        default="gaussian",
        choices=("gaussian", "triangle", "box"),
        help="proton-pulse model for fluxes without it (default gaussian)",
    )
    p.add_argument(
        "--pulse-fwhm-ns",
        type=float,
        default=c.PROTON_PULSE_FWHM_NS,
        help="proton-pulse FWHM in ns (default 378)",
    )
    p.add_argument(
        "--form-factor",
        default="helm",
        choices=FORM_FACTORS,
        help="nuclear form factor (default helm; helm_a13 is the paper's rate code's: "
        "R0 = 1.2 A^(1/3) fm for protons and neutrons)",
    )
    p.add_argument(
        "--couplings",
        default="tree",
        choices=COUPLING_CONVENTIONS,
        help="nucleon vector couplings (default tree; coherent2021 is the convention of the "
        "paper's SM cross sections, giunti its corrected form: README, Cross-section conventions)",
    )


def _build(args, **options):
    from cevns_bayes.model import build_model

    return build_model(
        args.data_dir,
        args.flux,
        args.binning,
        pulse_shape=args.pulse_shape,
        pulse_fwhm_ns=args.pulse_fwhm_ns,
        form_factor=args.form_factor,
        couplings=args.couplings,
        **options,
    )


def _check_out(path: Path, *, folder: bool) -> None:
    """Fail before any work when ``--out`` cannot be what the command will write."""
    if folder and path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}: is a file, expected a folder for the figures")
    if not folder and path.is_dir():
        raise ConfigError(f"--out {path}: is a folder, expected a file path such as {path}/x.json")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- commands ------------------------------------------------------------------------------------
def cmd_data_check(args) -> int:
    import numpy as np

    from cevns_bayes.io import (
        check_hashes,
        load_release,
        read_derived_flux_2021,
        read_flux,
        sha256_of,
    )

    release = load_release(args.data_dir)
    print(f"release folder: {release.data_dir}")
    print(f"{'window':<8}{'events':>8}{'in ROI (PE<60, 0<=t<6 us)':>30}")
    for label, ev in (("C", release.events_c), ("AC", release.events_ac)):
        roi = np.count_nonzero(
            (ev.pe < c.ROI_PE_MAX) & (ev.t_us >= c.ROI_T_MIN_US) & (ev.t_us < c.ROI_T_MAX_US)
        )
        print(f"{label:<8}{ev.pe.size:>8}{roi:>30}")
    # the shipped 2021-derived flux shapes: read (validated) and summarised in one line
    derived = read_derived_flux_2021()
    t_edges, e_edges = derived.time_edges_ns, derived.energy_edges_mev
    nu_mu = derived.time_prob["nu_mu"]
    peak = int(np.argmax(nu_mu))
    mean_ns = float(np.sum(nu_mu * 0.5 * (t_edges[:-1] + t_edges[1:])))
    n_t, n_e = derived.joint_prob["nu_mu"].shape
    print(
        f"\n2021-derived flux shapes: {len(derived.time_prob)} flavors, "
        f"{t_edges[1] - t_edges[0]:g} ns time profiles {t_edges[0] / 1e3:g}-{t_edges[-1] / 1e3:g} "
        f"us, nu_mu peak in [{t_edges[peak]:g}, {t_edges[peak + 1]:g}) ns, mean {mean_ns:.0f} "
        f"ns; {e_edges.size - 1} energy bins labelled {e_edges[0]:g}-{e_edges[-1]:g} MeV "
        f"(labels 1 MeV above the 2018 spectra they match: not for energies); "
        f"2D shapes {n_t} x {n_e} "
        f"({derived.joint_time_edges_ns[1] - derived.joint_time_edges_ns[0]:g} ns x "
        f"{e_edges[1] - e_edges[0]:g} MeV)"
    )
    # the shipped files are always checked; a user's own flux is read (validated) and its
    # hash shown, but it has no entry in the release sums
    checks = check_hashes(args.data_dir, FLUX_2018_FILE)
    if args.flux not in FLUX_SOURCES and Path(args.flux).resolve() != FLUX_2018_FILE.resolve():
        tables = read_flux(args.flux)
        print(
            f"\nflux {args.flux}: {tables.source}, flavors {', '.join(tables.flavors)}, "
            f"sha256 {sha256_of(args.flux)} (a user file: not in the release sums)"
        )
    print("\nSHA-256 against the shipped sums:")
    bad = 0
    for chk in checks:
        state = "ok" if chk.ok else ("MISSING" if chk.actual is None else "DIFFERS")
        bad += not chk.ok
        print(f"  {state:<8}{chk.name}")
    if bad:
        print(f"\n{bad} file(s) do not match the public release.")
        return 1
    print("\nall files match the public release")
    return 0


def cmd_predict(args) -> int:
    from cevns_bayes.output import write_json
    from cevns_bayes.prediction import predict_summary

    _check_out(args.out, folder=False)
    t0 = time.perf_counter()
    _log("building the forward model (first use compiles C code; cached afterwards) ...")
    model = _build(args)
    model_no_te = _build(args, time_efficiency=False, arrival_time_us=model.arrival_time_us)
    _log("evaluating the nominal prediction and timing ln L + gradient ...")
    doc = predict_summary(model, model_no_te, time_it=not args.no_timing)
    path = write_json(args.out, doc)
    counts, before = doc["counts"], doc["counts_before_time_efficiency"]
    sig = doc["sigma_sm_1e40cm2"]
    print(f"wrote {path} ({time.perf_counter() - t0:.1f} s)")
    print(f"{'component':<12}{'with eps_T':>12}{'eps_T left out':>16}")
    for key in ("ssb", "brn", "nin", "cevns"):
        print(f"{key:<12}{counts[key]:>12.2f}{before[key]:>16.2f}")
    print(
        f"<sigma>_SM [1e-40 cm2]: total {sig['total']:.1f}, mu {sig['mu']:.1f}, "
        f"e {sig['e']:.1f}; R_n +5%: {doc['sigma_sm_rn_shift_percent']['plus5']:+.2f}%, "
        f"-5%: {doc['sigma_sm_rn_shift_percent']['minus5']:+.2f}%"
    )
    if "loglike_grad_eval_us" in doc:
        print(f"ln L + gradient: {doc['loglike_grad_eval_us']:.0f} us (median)")
    return 0


def cmd_plot_prediction(args) -> int:
    from cevns_bayes.workflows.prediction import write_prediction_plots

    _check_out(Path(args.out), folder=True)
    for path in write_prediction_plots(_build(args), args.out):
        print(f"wrote {path}")
    return 0


def _spec_and_out(args):
    """The spec of ``args.model`` with ``--fix`` applied, and its output folder (``--out``,
    default ``results/<name>``), checked to be a folder."""
    from cevns_bayes.spec import load_spec, with_fixed

    spec = with_fixed(load_spec(args.model), dict(args.fix))
    out = Path(args.out) if args.out else Path("results") / spec.name
    _check_out(out, folder=True)
    return spec, out


def cmd_sample(args) -> int:
    from cevns_bayes.workflows.analysis import run_sampling

    spec, out = _spec_and_out(args)
    progress = None if args.progress == "auto" else args.progress == "on"
    doc = run_sampling(
        spec,
        out,
        data_dir=args.data_dir,
        flux=args.flux,
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        seed=args.seed,
        backend=args.backend,
        target_accept=args.target_accept,
        progressbar=progress,
        grid_points=args.grid_points,
        plots=not args.no_plots,
    )
    _print_sample_summary(doc, out)
    return 0


def cmd_profile(args) -> int:
    from cevns_bayes.workflows.analysis import run_profile_analysis

    spec, out = _spec_and_out(args)
    doc = run_profile_analysis(
        spec,
        out,
        data_dir=args.data_dir,
        flux=args.flux,
        scan_points=args.scan_points,
        grid_points=args.grid_points,
        plots=not args.no_plots,
        progressbar=args.progress == "on",
    )
    print(f"{doc['model']}: profile likelihood (Wilks), nuisances profiled")
    print(f"{'POI':<14}{'best':>10}   {'68% CI':<24}{'90% CI':<24}{'68% CI, no syst.':<24}")
    for name, entry in doc["pois"].items():
        p, q = entry["profile"], entry["profile_no_syst"]
        ci = ["[{:.4g}, {:.4g}]".format(*v) for v in (p["ci_68"], p["ci_90"], q["ci_68"])]
        print(f"{name:<14}{p['best']:>10.4g}   {ci[0]:<24}{ci[1]:<24}{ci[2]:<24}")
    fc = doc["fitted_counts"]["cevns"]
    fb = doc["fitted_counts_before_time_efficiency"]["cevns"]
    print(
        f"fitted CEvNS events: {fc['value']:.1f} +- {fc['error']:.1f} (with eps_T), "
        f"{fb['value']:.1f} +- {fb['error']:.1f} (eps_T left out, the paper's convention)"
    )
    print(
        f"no-CEvNS rejected at {doc['significance_sigma']:.2f} sigma; "
        f"chi2/ndof = {doc['chi2']:.1f}/{doc['ndof']} (p = {doc['gof_pvalue']:.3f})"
    )
    print(f"wrote {out}/profile.json and figures ({doc['timing_s']['total']:.0f} s)")
    return 0


def cmd_scan(args) -> int:
    from cevns_bayes.spec import load_spec
    from cevns_bayes.workflows.exclusion import resolve_scan, run_scan

    spec = load_spec(args.model)
    _check_out(args.out, folder=True)
    scan = resolve_scan(
        spec,
        parameter=args.parameter,
        values=args.values,
        log_range=args.log_range,
        linear_range=args.range,
        points=args.points,
        limit_on=args.limit_on,
    )
    doc = run_scan(
        spec,
        args.out,
        scan=scan,
        workers=args.workers,
        grid_linear=args.grid_points,
        grid_log=args.grid_log_points,
        log_min=args.log_min,
        data_dir=args.data_dir,
        flux=args.flux,
        progress=args.progress != "off",
        plots=not args.no_plots,
    )
    ux = doc["units"]["x"]
    print(
        f"{doc['limit_on']}: 90% upper limits over {len(doc['scanned'])} values of "
        f"{doc['parameter']}" + (f" [{ux}]" if ux else "")
    )
    print(f"{'x':>12}{'profile':>12}{'Bayes flat':>12}{'Bayes log':>12}")
    for p, b in zip(doc["profile"], doc["bayes"]):
        print(
            f"{p['x']:>12.4g}{p['upper_90']:>12.4g}{b['upper_90_flat']:>12.4g}"
            f"{b['upper_90_log']:>12.4g}"
        )
    t = doc["timing"]
    print(
        f"wrote {args.out}/limits.json, limits.csv"
        + ("" if args.no_plots else ", limits.png")
        + f" ({t['computed']} points computed, {t['seconds']:.0f} s)"
    )
    return 0


def cmd_compare(args) -> int:
    from cevns_bayes.report import compare_analysis, compare_markdown

    doc = compare_analysis(args.results, args.model, plots=not args.no_plots)
    print(compare_markdown(doc))
    print(f"\nwrote {Path(args.results) / args.model}/compare.json, compare.md and figures")
    return 0


def cmd_report(args) -> int:
    from cevns_bayes.report import write_report

    md, html_path = write_report(args.results, commands=_commands_log(Path(args.results)))
    print(f"wrote {md} and {html_path}")
    return 0


def cmd_budget(args) -> int:
    from cevns_bayes.spec import load_spec
    from cevns_bayes.workflows.budget import budget_table_markdown, difference_budget, write_budget

    spec = load_spec(args.model)
    out = Path(args.out) if args.out else Path("results") / spec.name
    _check_out(out, folder=True)
    doc = difference_budget(spec, data_dir=args.data_dir, flux=args.flux, progress=True)
    write_budget(doc, out)
    print(budget_table_markdown(doc))
    print(f"\nwrote {out}/budget.json, budget.md, budget.png")
    return 0


def cmd_toys(args) -> int:
    from cevns_bayes.spec import load_spec, with_fixed
    from cevns_bayes.toys import run_study

    spec = load_spec(args.model)
    fix = dict(args.fix)
    of_pois = {k: v for k, v in fix.items() if k in spec.pois}
    spec = with_fixed(spec, {k: v for k, v in fix.items() if k not in of_pois})
    if args.poi is not None or of_pois:
        from cevns_bayes.toys import one_poi_spec

        if args.poi is None:
            raise ConfigError(f"--fix {', '.join(of_pois)}: fixing a POI needs --poi")
        spec = one_poi_spec(spec, args.poi, of_pois)
    out = Path(args.out)
    _check_out(out, folder=True)
    progress = sys.stderr.isatty() if args.progress == "auto" else args.progress == "on"
    doc = run_study(
        spec,
        args.study,
        args.n,
        out,
        args.seed,
        scheduler=args.scheduler,
        workers=args.workers,
        resume=args.resume,
        progress=progress,
        plots=not args.no_plots,
        method=args.method,
        mode=args.mode,
        truths=args.truth,
        data_dir=args.data_dir,
        flux=args.flux,
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        sbc_range=args.sbc_range,
        fitter=args.fitter,
        sampler=args.sampler,
    )
    what = f"{doc['method']}, {doc['mode']} toys" if doc["study"] == "coverage" else "SBC"
    print(f"{doc['model']}: {doc['study']} of {doc['poi']} ({what}), {doc['n_toys']} toys")
    entries = doc.get("per_truth") or [doc]
    for e in entries:
        if e.get("coverage_68") is None:
            continue
        truth = format(e["truth"], ".5g") if doc["study"] == "coverage" else "from the prior"
        print(
            f"  truth {truth}: 68% coverage {e['coverage_68']:.3f} +- {e['coverage_68_err']:.3f} "
            f"(nominal {doc['nominal_68']:.3f}), 90% coverage {e['coverage_90']:.3f} "
            f"+- {e['coverage_90_err']:.3f}"
        )
    if doc.get("sbc_uniformity_pvalue") is not None:
        print(f"  SBC rank uniformity: chi2 p = {doc['sbc_uniformity_pvalue']:.3f}")
    if doc.get("n_failed"):
        print(f"  warning: {doc['n_failed']} toys failed (their files hold the error)")
    t = doc["timing"]
    rate = f", {t['toys_per_second']:.2f} toys/s" if t["toys_per_second"] else ""
    print(
        f"wrote {out}/coverage.json ({t['toys_computed']} toys computed in "
        f"{t['seconds']:.0f} s{rate}, {t['executor']})"
    )
    return 0


def cmd_evidence(args) -> int:
    from cevns_bayes.workflows.comparison import run_evidence

    spec, out = _spec_and_out(args)
    doc = run_evidence(
        spec,
        out,
        estimators=args.estimators or ("nested", "smc", "laplace_grid"),
        nlive=args.nlive,
        nested_runs=args.nested_runs,
        smc_draws=args.smc_draws,
        smc_chains=args.smc_chains,
        grid_points=args.grid_points,
        seed=args.seed,
        data_dir=args.data_dir,
        flux=args.flux,
        progress=args.progress != "off",
        sm_cache=args.sm_cache,
    )
    print(f"{doc['model']}: ln Z (nats), estimator by estimator")
    for est, r in doc["log_z"].items():
        ref = doc["sm"]["log_z"].get(est)
        bf = doc["log_bayes_factor_vs_sm"].get(est)
        line = f"  {est:<13} ln Z = {r['value']:10.3f} ± {r['error']:.3f}"
        if ref is not None and bf is not None:
            line += f"   SM {ref['value']:10.3f} ± {ref['error']:.3f}"
            line += f"   ln B = {bf['value']:+.3f} ± {bf['error']:.3f}"
        print(line)
    sd = doc.get("savage_dickey")
    if sd and "value" in sd:
        print(f"  Savage-Dickey ln B = {sd['value']:+.3f} (at {sd['poi']} = {sd['sm_value']:.5g})")
    for pair, a in doc["agreement"].items():
        if a["in_errors"] is not None:
            print(f"  {pair}: {a['difference']:+.3f} ({a['in_errors']:+.1f} combined errors)")
    print(f"wrote {out}/evidence.json ({doc['timing']['seconds']:.0f} s)")
    return 0


def cmd_sensitivity(args) -> int:
    from cevns_bayes.workflows.comparison import run_sensitivity

    spec, out = _spec_and_out(args)
    doc = run_sensitivity(
        spec, out, data_dir=args.data_dir, flux=args.flux, plots=not args.no_plots
    )
    print(f"{doc['model']}: prior sensitivity of the POI summaries (shift in posterior sd)")
    print(f"  {'prior':<18}{'change':<13}{'POI':<15}{'mean':>7}{'q05':>7}{'q95':>7}{'k':>7}")
    for r in doc["rows"]:
        mark = " *" if r["flagged"] else ""
        mark += "" if r["reliable"] else " (k > 0.7)"
        print(
            f"  {r['prior']:<18}{r['change']:<13}{r['poi']:<15}{r['mean']:>7.2f}{r['q05']:>7.2f}"
            f"{r['q95']:>7.2f}{r['pareto_k']:>7.2f}{mark}"
        )
    print(f"{len(doc['flags'])} flagged (> 0.2 sd); wrote {out}/sensitivity.json")
    return 0


def _commands_log(results: Path) -> list[str]:
    path = results / "commands.txt"
    return path.read_text().splitlines() if path.is_file() else []


def _record_command(results: Path, argv: list[str]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    line = "cevns-bayes " + " ".join(argv)
    lines = [x for x in _commands_log(results) if x != line] + [line]
    from cevns_bayes.output import atomic_path

    with atomic_path(results / "commands.txt") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def cmd_export_pyhf(args) -> int:
    from cevns_bayes.spec import load_spec
    from cevns_bayes.workflows.export import write_pyhf

    _check_out(args.out, folder=False)
    if args.check:
        try:
            import pyhf  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "--check fits the workspace with pyhf, which is not installed: "
                "pip install -e '.[pyhf]'"
            ) from exc
    r = write_pyhf(
        load_spec(args.model),
        args.out,
        data_dir=args.data_dir,
        flux=args.flux,
        expand_at=args.expand_at.replace("-", "_"),
        check=args.check,
    )
    print(f"wrote {r['workspace']} (pyhf workspace) and {r['parameters']} (alpha <-> theta map)")
    if "check" in r:
        ours = r["check"]["package"]
        print(
            f"package profile: sigma = {ours['best']:.2f}, 68% [{ours['lower_68']:.2f}, "
            f"{ours['upper_68']:.2f}] x 1e-40 cm2"
        )
        for name, row in r["check"]["pyhf"].items():
            d = row["relative_difference"]
            print(
                f"pyhf ({name:<12}) sigma = {row['best']:.2f}, 68% [{row['lower_68']:.2f}, "
                f"{row['upper_68']:.2f}]   relative difference {100 * d['best']:+.2f}%, "
                f"{100 * d['lower_68']:+.2f}%, {100 * d['upper_68']:+.2f}%"
            )
        print(f"wrote {r['check_path']}")
    return 0


def cmd_reproduce(args) -> int:
    from cevns_bayes.report import ANALYSES, BEYOND_SM
    from cevns_bayes.spec import load_spec

    names = list(ANALYSES) if args.all else []
    names += list(BEYOND_SM) if args.beyond_sm else []
    names += [m for m in args.models if m not in names]
    names = names or ["xsec"]
    results = Path(args.results)
    data = []
    if Path(args.data_dir).resolve() != DEFAULT_DATA_DIR.resolve():
        data += ["--data-dir", str(args.data_dir)]
    if str(args.flux) != DEFAULT_FLUX_SOURCE:
        data += ["--flux", str(args.flux)]
    from cevns_bayes.output import write_json

    t0 = time.perf_counter()
    timing: list[dict] = []  # where the time goes: results/reproduce_timing.json

    def save_timing(finished: bool) -> float:
        total = time.perf_counter() - t0
        doc = {"steps": timing, "total_s": total, "finished": finished}
        write_json(results / "reproduce_timing.json", doc)
        return total

    def run(step: list[str]) -> int:
        _log(f"== cevns-bayes {' '.join(step)}")
        t = time.perf_counter()
        status = main(step)
        timing.append({"command": " ".join(step[:2]), "seconds": time.perf_counter() - t})
        save_timing(finished=False)
        return status

    for name in names:
        steps = [
            ["sample", name, "--out", str(results / name), *data, "--progress", args.progress],
            ["profile", name, "--out", str(results / name), *data],
        ]
        if name in ("xsec", "weak_mixing") and not args.no_budget:
            steps.append(["budget", name, "--out", str(results / name), *data])
        steps.append(["compare", name, "--results", str(results)])
        if load_spec(name).scan is not None:  # its exclusion curve, beside the fits
            steps.append(
                ["scan", name, "--out", str(results / name), *data, "--progress", args.progress]
            )
        if args.comparison:  # evidence (SM references shared) and prior sensitivity
            cache = str(results / "sm_evidence_cache")
            steps.append(
                ["evidence", name, "--out", str(results / name), *data, "--sm-cache", cache]
                + ["--progress", "off" if args.progress == "off" else "on"]
            )
            steps.append(["sensitivity", name, "--out", str(results / name), *data])
        for step in steps:
            status = run(step)
            if status:
                return status
            _record_command(results, step)
    status = run(["report", "--results", str(results)])
    total = save_timing(finished=status == 0)
    _log(f"reproduce: {', '.join(names)} done in {total:.0f} s")
    return status


def _print_sample_summary(doc: dict, out: Path) -> None:
    d = doc["diagnostics"]
    print(
        f"{doc['model']}: {d['chains']} chains x {d['draws']} draws ({d['sampler']}), "
        f"compile {doc['timing_s']['compile']:.1f} s, sampling {doc['timing_s']['sampling']:.1f} s"
    )
    print(f"{'POI':<14}{'median':>10}{'mean':>10}{'sd':>9}   {'68% HDI':<22}{'90% HDI':<22}")
    for name, entry in doc["pois"].items():
        b = entry["bayes"]
        h68 = "[{:.4g}, {:.4g}]".format(*b["hdi_68"])
        h90 = "[{:.4g}, {:.4g}]".format(*b["hdi_90"])
        print(
            f"{name:<14}{b['median']:>10.4g}{b['mean']:>10.4g}{b['sd']:>9.3g}   {h68:<22}{h90:<22}"
            f" {entry['units']}"
        )
    counts = ", ".join(f"{k} {v['median']:.1f}" for k, v in doc["counts"].items())
    print(f"counts (median, in the ROI with eps_T): {counts}")
    print(
        f"r_hat_max {d['r_hat_max']:.4f}, ess_bulk_min {d['ess_bulk_min']:.0f}, "
        f"ess_tail_min {d['ess_tail_min']:.0f}, divergences {d['divergences']}, "
        f"bfmi_min {d['bfmi_min']:.2f}"
    )
    ok = (
        d["r_hat_max"] <= 1.01
        and d["ess_bulk_min"] >= 400
        and d["divergences"] == 0
        and d["bfmi_min"] >= 0.3
    )
    print(
        "diagnostics: "
        + (
            "ok"
            if ok
            else "WARNING: not converged by the project's criteria "
            "(r_hat <= 1.01, ESS >= 400, no divergences, BFMI >= 0.3)"
        )
    )
    if "mode_masses" in doc:
        ref = doc.get("grid_reference", {}).get("mode_masses", {})
        for k, v in doc["mode_masses"].items():
            extra = f"   grid {ref[k]:.3f}" if k in ref else ""
            print(f"mode {k:<12} NUTS {v:.3f}{extra}")
    print(f"wrote {out}/summary.json, {out}/posterior.nc and figures")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cevns-bayes",
        description="Bayesian and profile-likelihood reanalysis of COHERENT CsI[Na] CEvNS data.",
    )
    parser.add_argument("--version", action="version", version=f"cevns-bayes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="inspect the release data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="counts per window in the ROI and SHA-256 check")
    _add_data_options(check)
    check.set_defaults(func=cmd_data_check)

    pred = sub.add_parser("predict", help="nominal prediction in the ROI, written as JSON")
    _add_model_options(pred)
    pred.add_argument("--out", required=True, type=Path, help="output JSON file")
    pred.add_argument("--no-timing", action="store_true", help="skip the ln L + gradient timing")
    pred.set_defaults(func=cmd_predict)

    plot = sub.add_parser("plot", help="figures")
    plot_sub = plot.add_subparsers(dest="plot_command", required=True)
    pp = plot_sub.add_parser(
        "prediction", help="data and stacked prediction projected on PE and t_rec (PNG)"
    )
    _add_model_options(pp)
    pp.add_argument("--out", required=True, type=Path, help="output folder")
    pp.set_defaults(func=cmd_plot_prediction)

    smp = sub.add_parser(
        "sample",
        help="NUTS posterior of an analysis spec (models/*.toml or a path), with diagnostics",
    )
    smp.add_argument(
        "model",
        help=f"analysis name ({', '.join(list_specs())}) or the path of a spec TOML file",
    )
    _add_data_options(smp)
    smp.add_argument(
        "--out", type=Path, default=None, help="output folder (default results/<analysis name>)"
    )
    smp.add_argument("--chains", type=_positive_int, default=None, help="default: the spec's (4)")
    smp.add_argument("--draws", type=_positive_int, default=None, help="per chain (spec: 1000)")
    smp.add_argument("--tune", type=_nonnegative_int, default=None, help="per chain (spec: 1000)")
    smp.add_argument("--seed", type=_nonnegative_int, default=None)
    smp.add_argument(
        "--backend",
        choices=("pymc", "nutpie"),
        default=None,
        help="NUTS implementation (default: the spec's, pymc)",
    )
    smp.add_argument("--target-accept", type=float, default=None)
    smp.add_argument(
        "--grid-points",
        type=_nonnegative_int,
        default=None,
        help="points per POI of the NSI grid reference (default 61, 0 = skip)",
    )
    smp.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="progress bars (auto: on in a terminal, off under CI)",
    )
    smp.add_argument("--no-plots", action="store_true", help="skip the diagnostic PNGs")
    _add_fix_option(smp)
    smp.set_defaults(func=cmd_sample)

    prf = sub.add_parser(
        "profile", help="profile likelihood (iminuit): best fit, Wilks intervals, scans, figures"
    )
    prf.add_argument("model", help="analysis name or spec TOML path")
    _add_data_options(prf)
    prf.add_argument(
        "--out", type=Path, default=None, help="output folder (default results/<analysis name>)"
    )
    prf.add_argument(
        "--scan-points",
        type=_positive_int,
        default=41,
        help="points of each 1-D Δχ² scan (default 41)",
    )
    prf.add_argument(
        "--grid-points",
        type=_positive_int,
        default=41,
        help="points per axis of the 2-D scan (two-POI analyses; default 41)",
    )
    prf.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    prf.add_argument("--no-plots", action="store_true")
    _add_fix_option(prf)
    prf.set_defaults(func=cmd_profile)

    scn = sub.add_parser(
        "scan",
        help="exclusion curve: 90%% upper limits (profile and Bayes) on a POI at each value of "
        "a fixed parameter ([scan] of the spec)",
    )
    scn.add_argument("model", help="analysis name or spec TOML path (with a [scan] table)")
    _add_data_options(scn)
    scn.add_argument("--out", type=Path, required=True, help="output folder (resumable)")
    scn.add_argument("--parameter", default=None, help="the scanned (fixed) parameter")
    scn.add_argument(
        "--values", type=_float_list, default=None, help="scanned values, comma-separated"
    )
    scn.add_argument(
        "--log-range",
        nargs=3,
        type=float,
        metavar=("MIN", "MAX", "N"),
        default=None,
        help="N log-spaced values from MIN to MAX",
    )
    scn.add_argument(
        "--range",
        nargs=3,
        type=float,
        metavar=("MIN", "MAX", "N"),
        default=None,
        help="N evenly spaced values from MIN to MAX",
    )
    scn.add_argument(
        "--points", type=_positive_int, default=None, help="re-space the range with N points"
    )
    scn.add_argument("--limit-on", default=None, help="the POI that gets the upper limit")
    scn.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes (default: all cores; 1 = this process)",
    )
    scn.add_argument(
        "--grid-points",
        type=_positive_int,
        default=24,
        help="Bayesian grid: evenly spaced POI points over its prior box (default 24)",
    )
    scn.add_argument(
        "--grid-log-points",
        type=_nonnegative_int,
        default=16,
        help="Bayesian grid: log-spaced POI points from the log-prior cut up (default 16)",
    )
    scn.add_argument(
        "--log-min",
        type=float,
        default=None,
        help="lower cut of the log-uniform prior (default 1e-4 x the POI box's upper end)",
    )
    scn.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    scn.add_argument("--no-plots", action="store_true")
    scn.set_defaults(func=cmd_scan)

    cmp_ = sub.add_parser("compare", help="Bayesian vs profile vs published for one analysis")
    cmp_.add_argument("model", help="analysis name (its results folder under --results)")
    cmp_.add_argument("--results", type=Path, default=Path("results"))
    cmp_.add_argument("--no-plots", action="store_true")
    cmp_.set_defaults(func=cmd_compare)

    rep = sub.add_parser("report", help="Markdown + HTML report over every compared analysis")
    rep.add_argument("--results", type=Path, default=Path("results"))
    rep.set_defaults(func=cmd_report)

    bud = sub.add_parser(
        "budget", help="difference budget: how each modelling choice moves the best fit"
    )
    bud.add_argument("model", help="a one-POI analysis (xsec, weak_mixing) or spec path")
    _add_data_options(bud)
    bud.add_argument("--out", type=Path, default=None)
    bud.set_defaults(func=cmd_budget)

    rpr = sub.add_parser(
        "reproduce", help="sample, profile, (budget,) compare and report: xsec by default"
    )
    rpr.add_argument("models", nargs="*", help="analyses to run (default xsec)")
    rpr.add_argument(
        "--all", action="store_true", help="the paper's six analyses (report.ANALYSES)"
    )
    rpr.add_argument(
        "--beyond-sm",
        action="store_true",
        help="the eleven analyses beyond the paper's (report.BEYOND_SM), with the exclusion "
        "scans of those with a [scan]",
    )
    rpr.add_argument(
        "--comparison",
        action="store_true",
        help="also the evidence (ln Z, Bayes factor vs the SM) and the prior sensitivity of each",
    )
    rpr.add_argument("--results", type=Path, default=Path("results"))
    rpr.add_argument("--no-budget", action="store_true")
    rpr.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    _add_data_options(rpr)
    rpr.set_defaults(func=cmd_reproduce)
    evd = sub.add_parser(
        "evidence",
        help="Bayesian evidence ln Z of an analysis and of its SM reference by nested sampling, "
        "SMC and the Laplace grid; Bayes factor vs the SM, Savage-Dickey check",
    )
    evd.add_argument("model", help="analysis name or spec TOML path")
    _add_data_options(evd)
    evd.add_argument("--out", type=Path, default=None, help="output folder (resumable)")
    evd.add_argument(
        "--estimators",
        nargs="+",
        choices=("nested", "smc", "laplace_grid"),
        default=None,
        help="which estimators (default all three; the grid only for 1-2 flat POIs)",
    )
    evd.add_argument("--nlive", type=_positive_int, default=400, help="nested: live points")
    evd.add_argument(
        "--nested-runs", type=_positive_int, default=3, help="independent nested runs (error)"
    )
    evd.add_argument("--smc-draws", type=_positive_int, default=2000, help="SMC particles")
    evd.add_argument(
        "--smc-chains", type=_positive_int, default=4, help="independent SMC runs (error)"
    )
    evd.add_argument("--grid-points", type=_positive_int, default=41, help="grid points per POI")
    evd.add_argument(
        "--sm-cache",
        type=Path,
        default=None,
        help="folder shared between analyses for the SM references' ln Z, kept by the value of "
        "their likelihood (analyses sharing an SM integrate it once)",
    )
    evd.add_argument("--seed", type=int, default=20211)
    evd.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    _add_fix_option(evd)
    evd.set_defaults(func=cmd_evidence)
    sen = sub.add_parser(
        "sensitivity",
        help="prior sensitivity: POI summaries under power-scaled and alternative priors "
        "(importance reweighting of the posterior draws, PSIS diagnostics)",
    )
    sen.add_argument("model", help="analysis name or spec TOML path")
    _add_data_options(sen)
    sen.add_argument(
        "--out", type=Path, default=None, help="the analysis's sample folder (posterior.nc)"
    )
    sen.add_argument("--no-plots", action="store_true")
    _add_fix_option(sen)
    sen.set_defaults(func=cmd_sensitivity)
    exp = sub.add_parser("export", help="write an analysis in another tool's format")
    exp_sub = exp.add_subparsers(dest="export_command", required=True)
    ephf = exp_sub.add_parser(
        "pyhf",
        help="pyhf (HistFactory JSON) workspace of an analysis whose POI is sigma, e.g. xsec",
    )
    ephf.add_argument("model", help="analysis name or spec TOML path (its one POI: sigma)")
    _add_data_options(ephf)
    ephf.add_argument("--out", type=Path, required=True, help="workspace JSON file to write")
    ephf.add_argument(
        "--expand-at",
        choices=("best-fit", "prior"),
        default="best-fit",
        help="nuisance values the templates are made at: the package's profile best fit "
        "(default; pyhf's interpolation is then accurate where the fit goes) or the prior "
        "centres; the constraints are the priors either way",
    )
    ephf.add_argument(
        "--check",
        action="store_true",
        help="validate against pyhf's schema, fit with pyhf and compare sigma with the "
        "package's profile likelihood (needs the pyhf extra); writes <stem>.check.json",
    )
    ephf.set_defaults(func=cmd_export_pyhf)

    toy = sub.add_parser(
        "toys",
        help="pseudo-experiments: coverage of the profile / Bayesian intervals, or SBC",
    )
    toy.add_argument(
        "model", help="a one-POI analysis (xsec, weak_mixing, ...; or --poi) or spec path"
    )
    toy.add_argument(
        "--poi",
        default=None,
        help="the POI of a toy study of an analysis with several: the others are fixed "
        "(--fix, else at their nominal value, e.g. 0 for a new-physics parameter)",
    )
    toy.add_argument(
        "--fix",
        type=_name_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix a parameter: a mediator mass or other [fixed] value, or with --poi another "
        "POI (repeatable)",
    )
    _add_data_options(toy)
    toy.add_argument("--study", required=True, choices=("coverage", "sbc"))
    toy.add_argument(
        "--method",
        choices=("profile", "bayes"),
        default=None,
        help="intervals whose coverage is measured (coverage; default profile)",
    )
    toy.add_argument(
        "--mode",
        choices=("frequentist", "conditional", "bayesian"),
        default=None,
        help="nuisances of the toys at the truth with the constraint centres (global "
        "observables) re-drawn per toy (frequentist, default for coverage), at the truth with "
        "the centres fixed (conditional), or drawn from their priors (bayesian; SBC always)",
    )
    toy.add_argument("--n", type=_positive_int, required=True, help="toys per true value")
    toy.add_argument(
        "--truth",
        type=float,
        action="append",
        default=None,
        help="true POI value (repeatable; default the SM value)",
    )
    toy.add_argument("--seed", type=_nonnegative_int, default=None, help="study seed")
    toy.add_argument("--out", type=Path, required=True, help="study folder")
    toy.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address, or 'local' for a LocalCluster (default: local processes)",
    )
    toy.add_argument(
        "--workers",
        type=_nonnegative_int,
        default=None,
        help="worker processes (default: all cores; 0 = this process)",
    )
    toy.add_argument(
        "--resume", action="store_true", help="continue the study in --out (same options)"
    )
    toy.add_argument(
        "--sbc-range",
        type=_float_list,
        default=None,
        metavar="LOWER,UPPER",
        help="SBC: a flat prior of the POI on this sub-range of its box, for the truths and "
        "the posterior (default: the spec's prior; 100,300 for sigma)",
    )
    toy.add_argument(
        "--fitter",
        choices=("newton", "minuit"),
        default=None,
        help="minimiser of profile toys: quasi-Newton on the exact curvature (default; 6-60x "
        "faster and closer to the minimum than MIGRAD, checked toy by toy) or MIGRAD + HESSE",
    )
    toy.add_argument(
        "--sampler",
        choices=("nutpie", "pymc"),
        default=None,
        help="NUTS of Bayesian toys: nutpie's compiled sampler (default; 4x faster per toy, "
        "checked against PyMC's on the same posteriors) or PyMC's with a fixed dense metric",
    )
    toy.add_argument("--chains", type=_positive_int, default=None, help="NUTS chains per toy")
    toy.add_argument("--draws", type=_positive_int, default=None, help="NUTS draws per chain")
    toy.add_argument("--tune", type=_nonnegative_int, default=None, help="NUTS tuning steps")
    toy.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    toy.add_argument("--no-plots", action="store_true")
    toy.set_defaults(func=cmd_toys)
    return parser


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _name_value(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _nonnegative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CevnsBayesError as err:
        print(f"cevns-bayes: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. an --out path that is a folder, or not writable
        where = f" {err.filename}" if getattr(err, "filename", None) else ""
        print(f"cevns-bayes: error: cannot write{where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cevns-bayes: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
