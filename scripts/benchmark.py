"""Where the time goes: the package's speed, measured the same way every time.

    python scripts/benchmark.py [--quick] [--out results/bench.json]      (also: make bench)

Writes ``results/bench.json`` and prints a table. Every number is a median over repeated runs,
with its spread (min and max) under ``"spread"`` and every single run under ``"runs"``:

- ``loglike_grad_us``: one evaluation of ln L and its gradient of the xsec analysis (10 free
  parameters), ``default`` (9 × 11 bins) and ``fine`` (30 × 60 = 1800 bins) binning;
- ``nuts_xsec``: 4 chains × 1000 draws after 1000 tuning steps, PyMC's NUTS and nutpie:
  compile seconds, sampling seconds, ESS_bulk of σ per sampling second (with r̂ and
  divergences, so a fast but wrong run shows);
- ``profile_xsec_s``: one xsec profile, best fit + 41-point scan of σ with the nuisances
  profiled and the 68%/90% interval crossings (compile time apart, in ``profile_xsec_compile_s``);
- ``reproduce_all_s``: ``cevns-bayes reproduce --all`` (five analyses, Bayesian and profile,
  budgets, comparisons, report) in a fresh folder; skipped with ``--quick``;
- ``baseline``: the same xsec −ln L written with numpy/scipy and a finite-difference gradient
  (:mod:`cevns_bayes.baseline`), timed in the same run, and its ratio to ours;
- ``pyhf``: the same binned model as a pyhf workspace (``cevns-bayes export pyhf``) evaluated
  by pyhf with its fastest installed backend (numpy unless jax/torch are there): ln L alone,
  against ours alone (skipped when pyhf is not installed);
- ``cold``: seconds of ``cevns-bayes predict`` and (not with ``--quick``) ``cevns-bayes
  reproduce xsec`` in a fresh process with an empty HOME, so every compile cache is empty;
- ``toys``: profile-coverage toys per second (``profile_per_s``, all cores, 2000 toys; 600
  with ``--quick``; also the rate after the pool's start, ``profile_per_s_after_start``) and
  Bayesian-coverage toys per second (``bayes_per_s``, the toys' default sampler, nutpie,
  2 chains × 500 draws after 300 tuning steps, r̂ recorded; 12 toys, 4 with ``--quick``; also
  ``bayes_per_s_after_start``, past the first toy, which carries each worker's compilation),
  warm caches.

``--backend c`` (or ``CEVNS_BAYES_BACKEND=c``) measures the C backend instead of numba, for a
before/after comparison. Results are written atomically; a section that fails is recorded with
its error instead of stopping the others.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

SPEC = "xsec"
#: the sections that need the model the ln L section builds, and every section, in run order
MODEL_SECTIONS = ("pyhf", "baseline", "nuts_xsec", "profile_xsec_s")
SECTIONS = ("loglike_grad_us", *MODEL_SECTIONS, "toys", "cold", "reproduce_all_s")


def _stats(values: list[float]) -> tuple[float, list[float]]:
    return float(statistics.median(values)), [float(min(values)), float(max(values))]


def _say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def per_call_us(fn, *, repeat: int, number: int) -> list[float]:
    """µs per call of ``fn`` in ``repeat`` batches of ``number`` calls (after one warm-up)."""
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number * 1e6)
    return out


def bench_loglike(spec, binning: str, repeat: int, number: int) -> dict[str, Any]:
    from cevns_bayes.inference.bayes import build_forward_model
    from cevns_bayes.inference.profile import ProfileLikelihood

    s = spec if binning == "default" else spec.with_binning(binning)
    model = build_forward_model(s)
    t0 = time.perf_counter()
    prof = ProfileLikelihood(s, model)
    theta = prof.start.copy()
    prof.value_and_grad(theta)
    compile_s = time.perf_counter() - t0
    runs = per_call_us(lambda: prof.value_and_grad(theta), repeat=repeat, number=number)
    return {
        "runs": runs,
        "compile_s": compile_s,
        "n_bins": int(model.observed.size),
        "n_free": len(prof.names),
        "model": model,
        "prof": prof,
    }


def bench_baseline(spec, model, prof, repeat: int, number: int) -> dict[str, Any]:
    from cevns_bayes.baseline import from_model

    base = from_model(spec, model)
    theta = prof.start.copy()
    value, _ = base.nll_and_grad(theta)
    ours, _ = prof.value_and_grad(theta)
    runs = per_call_us(lambda: base.nll_and_grad(theta), repeat=repeat, number=number)
    return {"runs": runs, "nll_baseline": value, "nll_ours": ours}


def bench_nuts(spec, model, backend: str, repeat: int, draws: int, tune: int, chains: int):
    import arviz as az

    from cevns_bayes.inference.bayes import sample

    runs = []
    for k in range(repeat):
        res = sample(
            spec,
            model,
            chains=chains,
            draws=draws,
            tune=tune,
            seed=1000 + k,
            backend=backend,
            progressbar=False,
            prior_draws=50,
            posterior_predictive=False,
        )
        post = res.idata.posterior
        ess = float(az.ess(post, var_names=["sigma"], method="bulk")["sigma"])
        rhat = float(az.rhat(post, var_names=["sigma"])["sigma"])
        div = res.idata.sample_stats.get("diverging")
        runs.append(
            {
                "compile_s": res.compile_s,
                "sampling_s": res.sampling_s,
                "ess_bulk_sigma": ess,
                "ess_bulk_per_s": ess / res.sampling_s,
                "r_hat_sigma": rhat,
                "divergences": int(div.values.sum()) if div is not None else None,
                "sigma_median": float(np.median(post["sigma"].values)),
            }
        )
        _say(
            f"nuts {backend} run {k + 1}/{repeat}: compile {res.compile_s:.1f} s, "
            f"sampling {res.sampling_s:.1f} s, ESS_bulk(σ) {ess:.0f}, r̂ {rhat:.3f}"
        )
    return runs


def bench_profile(spec, model, repeat: int, points: int) -> dict[str, Any]:
    from cevns_bayes.inference.profile import DCHI2_1D, ProfileLikelihood, scan_range

    t0 = time.perf_counter()
    prof = ProfileLikelihood(spec, model)
    prof.value_and_grad(prof.start)
    compile_s = time.perf_counter() - t0
    runs, result = [], {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        best = prof.fit()
        lo, hi = scan_range(best, "sigma", prof.bounds[0])
        scan = prof.scan("sigma", np.linspace(lo, hi, points), best)
        ci68 = prof.interval(scan, DCHI2_1D["68"], best)
        ci90 = prof.interval(scan, DCHI2_1D["90"], best)
        runs.append(time.perf_counter() - t0)
        result = {"best": best.values["sigma"], "ci_68": ci68, "ci_90": ci90}
    return {"runs": runs, "compile_s": compile_s, "result": result}


def compile_cache_files() -> int:
    """Files in pytensor's compile directory (C modules and numba's cache): a run that adds
    none ran on a warm cache."""
    import pytensor

    root = Path(pytensor.config.compiledir)
    return sum(1 for f in root.rglob("*") if f.is_file()) if root.is_dir() else 0


def bench_reproduce_all() -> dict[str, Any]:
    """``cevns-bayes reproduce --all`` in a fresh folder: wall seconds, the time of every
    step (``reproduce_timing.json``, which the command writes as it goes) and the files it
    added to the compile cache (0: a warm run)."""
    exe = Path(sys.executable).with_name("cevns-bayes")
    cmd = [str(exe) if exe.exists() else "cevns-bayes", "reproduce", "--all", "--results"]
    before = compile_cache_files()
    with tempfile.TemporaryDirectory(prefix="bench-reproduce-") as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, tmp, "--progress", "off"], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        timing = Path(tmp) / "reproduce_timing.json"
        steps = json.loads(timing.read_text())["steps"] if timing.is_file() else []
    if proc.returncode != 0:
        raise RuntimeError(f"reproduce --all exited {proc.returncode}: {proc.stderr[-2000:]}")
    return {
        "runs": [wall],
        "command": " ".join([*cmd, "DIR"]),
        "steps": steps,
        "new_cache_files": compile_cache_files() - before,
    }


def _cli() -> str:
    exe = Path(sys.executable).with_name("cevns-bayes")
    return str(exe) if exe.exists() else "cevns-bayes"


def bench_cold(with_reproduce: bool) -> dict[str, Any]:
    """Wall seconds of first runs in a fresh HOME (empty pytensor, numba and ArviZ caches)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as home:
        env = {**os.environ, "HOME": home, "XDG_CACHE_HOME": str(Path(home) / ".cache")}
        env.pop("PYTENSOR_FLAGS", None)
        env.pop("NUMBA_CACHE_DIR", None)
        steps = [("predict_s", ["predict", "--out", str(Path(home) / "predict.json")])]
        if with_reproduce:
            steps.append(
                ("reproduce_xsec_s", ["reproduce", "xsec", "--results", str(Path(home) / "r")])
            )
        for key, args in steps:
            t0 = time.perf_counter()
            proc = subprocess.run([_cli(), *args], capture_output=True, text=True, env=env)
            out[key] = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(
                    f"cold {args[0]} exited {proc.returncode}: {proc.stderr[-1500:]}"
                )
            _say(f"cold {args[0]}: {out[key]:.1f} s")
    return out


#: NUTS draws per chain of the benchmark's Bayesian toys (2 chains: 1000 draws per toy)
BAYES_TOY_DRAWS = 500


def _rate_after_start(n: int, timing: dict[str, Any]) -> float:
    """Toys per second past a study's first toy (which carries the pool's start), from its
    ``coverage.json`` timing."""
    return (n - 1) / max(timing["seconds"] - timing["first_toy_s"], 1e-9)


def bench_toys(n_profile: int, n_bayes: int) -> dict[str, Any]:
    """Toys per second of the two coverage studies of xsec (warm caches; the pool's start and
    each worker's build are included, as a user sees them)."""
    from cevns_bayes.spec import load_spec
    from cevns_bayes.toys import run_study

    spec = load_spec(SPEC)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-toys-") as tmp:
        doc = run_study(
            spec,
            "coverage",
            n_profile,
            Path(tmp) / "p",
            method="profile",
            progress=False,
            plots=False,
        )
        t = doc["timing"]
        out["profile_per_s"] = t["toys_per_second"]
        out["profile_n"] = n_profile
        out["profile_workers"] = t.get("workers")
        out["profile_fitter"] = (doc.get("settings") or {}).get("fitter")
        # the pool's start (spawn, model build, compilation from the cache) comes before the
        # first toy; the rate after it is what a longer study runs at
        out["profile_first_toy_s"] = t["first_toy_s"]
        out["profile_per_s_after_start"] = _rate_after_start(n_profile, t)
        _say(
            f"profile toys: {out['profile_per_s']:.1f}/s ({n_profile} toys; "
            f"{out['profile_per_s_after_start']:.0f}/s after the first at {t['first_toy_s']:.1f} s)"
        )
        # 2 chains x 500 draws: the target's 1000 draws per toy
        doc = run_study(
            spec,
            "coverage",
            n_bayes,
            Path(tmp) / "b",
            method="bayes",
            draws=BAYES_TOY_DRAWS,
            progress=False,
            plots=False,
        )
        t = doc["timing"]
        settings = doc.get("settings") or {}
        out["bayes_per_s"] = t["toys_per_second"]
        out["bayes_n"] = n_bayes
        out["bayes_draws"] = settings.get("draws")
        out["bayes_chains"] = settings.get("chains")
        out["bayes_sampler"] = settings.get("sampler")
        out["bayes_r_hat_max"] = doc.get("r_hat_max")
        out["bayes_first_toy_s"] = t["first_toy_s"]
        out["bayes_per_s_after_start"] = _rate_after_start(n_bayes, t)
        _say(
            f"Bayesian toys ({out['bayes_sampler']}): {out['bayes_per_s']:.2f}/s ({n_bayes} "
            f"toys; {out['bayes_per_s_after_start']:.2f}/s after the first at "
            f"{t['first_toy_s']:.1f} s)"
        )
    return out


def bench_pyhf(model, repeat: int, number: int) -> dict[str, Any]:
    """ln L of the xsec data by pyhf (the exported workspace, its fastest installed backend)
    against ours (value alone, the same data)."""
    import pyhf

    from cevns_bayes.workflows.export import pyhf_workspace

    ws, _ = pyhf_workspace(model)
    backend = "numpy"
    for name in ("jax", "pytorch"):
        if importlib.util.find_spec({"jax": "jax", "pytorch": "torch"}[name]) is not None:
            backend = name
            break
    pyhf.set_backend(backend)
    w = pyhf.Workspace(ws)
    pm = w.model()
    data = pyhf.tensorlib.astensor(w.data(pm))
    pars = pyhf.tensorlib.astensor(pm.config.suggested_init())
    theirs = per_call_us(lambda: pm.logpdf(pars, data), repeat=repeat, number=number)
    fn = model.loglike_function(model.observed)
    x = model.vector()
    ours = per_call_us(lambda: fn(x), repeat=repeat, number=number)
    return {"backend": backend, "pyhf_us": theirs, "ours_us": ours}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/bench.json", help="JSON output file")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no reproduce_all_s")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny runs of every section (checks the script, not the speed)",
    )
    parser.add_argument("--backend", choices=["numba", "c"], help="pytensor backend")
    parser.add_argument(
        "--nuts", default="pymc,nutpie", help="comma-separated NUTS samplers (default both)"
    )
    parser.add_argument(
        "--only",
        metavar="SECTIONS",
        help="comma-separated sections to run (e.g. reproduce_all_s,cold); their figures "
        "replace those of the existing --out file, the others are kept",
    )
    parser.add_argument(
        "--markdown",
        metavar="BENCH_JSON",
        help="print the README's Performance table from an existing bench.json and exit",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(json.loads(Path(args.markdown).read_text())), end="")
        return 0
    if args.backend:
        os.environ["CEVNS_BAYES_BACKEND"] = args.backend

    from cevns_bayes.model.compile import backend
    from cevns_bayes.output import atomic_path, write_json
    from cevns_bayes.spec import load_spec

    smoke, quick = args.smoke, args.quick or args.smoke
    rep_ll, num_ll = (2, 20) if smoke else (7, 300)
    rep_nuts = 1 if smoke else (2 if args.quick else 3)
    draws, tune, chains = (50, 50, 2) if smoke else (1000, 1000, 4)
    rep_prof = 1 if smoke else 3
    scan_points = 5 if smoke else 41

    spec = load_spec(SPEC)
    doc: dict[str, Any] = {
        "cores": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
        "backend": backend(),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "loglike_grad_us": {},
        "nuts_xsec": {},
        "profile_xsec_s": None,
        "reproduce_all_s": None,
        "baseline": {},
        "pyhf": {},
        "cold": {},
        "toys": {},
        "spread": {"loglike_grad_us": {}, "nuts_xsec": {}},
        "runs": {"loglike_grad_us": {}, "nuts_xsec": {}},
        "settings": {
            "loglike_batches": [rep_ll, num_ll],
            "nuts": {"chains": chains, "draws": draws, "tune": tune, "repeats": rep_nuts},
            "profile": {"repeats": rep_prof, "scan_points": scan_points},
        },
        "errors": {},
        "skipped": {},
    }
    out = Path(args.out)
    only = {x.strip() for x in (args.only or "").split(",") if x.strip()}
    if only:
        if only - set(SECTIONS):
            unknown = ", ".join(sorted(only - set(SECTIONS)))
            parser.error(f"--only: unknown {unknown}; known: {', '.join(SECTIONS)}")
        needs_model = only & set(MODEL_SECTIONS)
        if needs_model and "loglike_grad_us" not in only:
            parser.error(f"--only {', '.join(sorted(needs_model))} needs loglike_grad_us too")
        if not out.is_file():
            parser.error(f"--only updates an existing {out}; run the whole benchmark first")
        kept_doc = json.loads(out.read_text())
        for key in ("errors", "skipped"):
            kept_doc[key] = {
                k: v for k, v in kept_doc.get(key, {}).items() if _section_of(k) not in only
            }
        kept_doc.setdefault("updated", []).append(
            {"sections": sorted(only), "command": doc["command"]}
        )
        doc = {**doc, **{k: v for k, v in kept_doc.items() if k not in only}}

    def section(name, fn):
        if only and name not in only:
            return
        try:
            fn()
        except Exception as err:  # a failed section is recorded, the others still run
            doc["errors"][name] = f"{type(err).__name__}: {err}"
            _say(f"{name} FAILED: {err}\n{traceback.format_exc()}")
        write_json(out, {k: v for k, v in doc.items()})

    kept: dict[str, Any] = {}

    def loglike():
        for binning in ("default", "fine"):
            r = bench_loglike(spec, binning, rep_ll, num_ll)
            med, spread = _stats(r["runs"])
            doc["loglike_grad_us"][binning] = med
            doc["spread"]["loglike_grad_us"][binning] = spread
            doc["runs"]["loglike_grad_us"][binning] = r["runs"]
            doc["settings"][f"loglike_{binning}"] = {
                "n_bins": r["n_bins"],
                "n_free": r["n_free"],
                "compile_s": r["compile_s"],
            }
            if binning == "default":
                kept.update(model=r["model"], prof=r["prof"])
            _say(f"ln L + grad, {binning} ({r['n_bins']} bins): {med:.1f} µs median")

    def baseline():
        b = bench_baseline(spec, kept["model"], kept["prof"], 2 if smoke else 5, 3 if smoke else 20)
        med, spread = _stats(b["runs"])
        doc["baseline"] = {
            "loglike_grad_us": med,
            "ratio": med / doc["loglike_grad_us"]["default"],
            "spread_us": spread,
            "runs_us": b["runs"],
            "nll_baseline": b["nll_baseline"],
            "nll_ours": b["nll_ours"],
            "what": "numpy/scipy −ln L of the xsec analysis, forward-difference gradient "
            "(cevns_bayes/baseline.py)",
        }
        _say(f"baseline: {med:.0f} µs median, {doc['baseline']['ratio']:.1f}x ours")

    def nuts():
        for name in [s.strip() for s in args.nuts.split(",") if s.strip()]:
            if name == "nutpie" and importlib.util.find_spec("nutpie") is None:
                # an optional extra (pip install -e .[nutpie]; make bench installs it)
                doc["skipped"][f"nuts_{name}"] = "nutpie is not installed"
                _say("nuts nutpie skipped: not installed (pip install -e '.[nutpie]')")
                continue
            try:
                runs = bench_nuts(spec, kept["model"], name, rep_nuts, draws, tune, chains)
            except Exception as err:
                doc["errors"][f"nuts_{name}"] = f"{type(err).__name__}: {err}"
                _say(f"nuts {name} FAILED: {err}")
                continue
            doc["runs"]["nuts_xsec"][name] = runs
            entry, spread = {}, {}
            for key in ("compile_s", "sampling_s", "ess_bulk_per_s"):
                entry[key], spread[key] = _stats([r[key] for r in runs])
            entry["r_hat_sigma_max"] = max(r["r_hat_sigma"] for r in runs)
            divs = [r["divergences"] for r in runs if r["divergences"] is not None]
            entry["divergences_total"] = int(sum(divs)) if divs else None
            doc["nuts_xsec"][name] = entry
            doc["spread"]["nuts_xsec"][name] = spread

    def profile():
        r = bench_profile(spec, kept["model"], rep_prof, scan_points)
        med, spread = _stats(r["runs"])
        doc["profile_xsec_s"] = med
        doc["spread"]["profile_xsec_s"] = spread
        doc["runs"]["profile_xsec_s"] = r["runs"]
        doc["profile_xsec_compile_s"] = r["compile_s"]
        doc["profile_xsec_result"] = r["result"]
        _say(f"profile: {med:.2f} s median (compile {r['compile_s']:.1f} s)")

    def reproduce():
        r = bench_reproduce_all()
        doc["reproduce_all_s"] = r["runs"][0]
        doc["runs"]["reproduce_all_s"] = r["runs"]
        doc["reproduce_all_command"] = r["command"]
        doc["reproduce_all_steps_s"] = {s["command"]: s["seconds"] for s in r["steps"]}
        doc["reproduce_all_new_cache_files"] = r["new_cache_files"]
        _say(f"reproduce --all: {r['runs'][0]:.0f} s ({r['new_cache_files']} files compiled)")

    def pyhf_section():
        if importlib.util.find_spec("pyhf") is None:
            doc["skipped"]["pyhf"] = "pyhf is not installed"
            _say("pyhf skipped: not installed (pip install -e '.[pyhf]')")
            return
        from cevns_bayes.model.statistical import StatisticalModel

        r = bench_pyhf(StatisticalModel(spec, kept["model"]), rep_ll, max(num_ll // 3, 10))
        med_t, spread_t = _stats(r["pyhf_us"])
        med_o, spread_o = _stats(r["ours_us"])
        doc["pyhf"] = {
            "backend": r["backend"],
            "loglike_us": med_t,
            "ours_loglike_us": med_o,
            "ratio": med_t / med_o,
            "spread_us": spread_t,
            "ours_spread_us": spread_o,
            "what": "ln L (value only) of the exported xsec workspace by pyhf, against the "
            "package's value-only graph on the same data",
        }
        _say(f"pyhf ({r['backend']}): {med_t:.0f} µs, ours {med_o:.0f} µs")

    def cold():
        doc["cold"] = bench_cold(with_reproduce=not quick)
        if quick:
            doc["skipped"]["cold.reproduce_xsec_s"] = "--quick"

    def toys():
        n_p, n_b = (8, 2) if smoke else ((600, 4) if quick else (2000, 12))
        doc["toys"] = bench_toys(n_p, n_b)

    section("loglike_grad_us", loglike)
    if "model" in kept:
        section("pyhf", pyhf_section)
        section("baseline", baseline)
        section("nuts_xsec", nuts)
        section("profile_xsec_s", profile)
    section("toys", toys)
    if not smoke:
        section("cold", cold)
    if not quick:
        section("reproduce_all_s", reproduce)
    print_table(doc)
    md = out.with_suffix(".md")
    with atomic_path(md) as tmp:
        tmp.write_text(markdown_table(doc))
    print(f"wrote {out} and {md}")
    return 1 if doc["errors"] else 0


#: issue 18's targets (2-core machine): bench.json key path, comparison, bound
TARGETS: dict[str, tuple[str, float]] = {
    "loglike_grad_us.default": ("<=", 20.0),
    "nuts_xsec.pymc.ess_bulk_per_s": (">=", 2000.0),
    "nuts_xsec.nutpie.ess_bulk_per_s": (">=", 2000.0),
    "cold.reproduce_xsec_s": ("<=", 90.0),
    "toys.profile_per_s": (">=", 500.0),
    "toys.bayes_per_s": (">=", 10.0),
    "reproduce_all_s": ("<=", 120.0),
}


def _section_of(key: str) -> str:
    """The section an ``errors`` / ``skipped`` key belongs to (``nuts_pymc``: ``nuts_xsec``)."""
    return "nuts_xsec" if key.startswith("nuts_") else key.split(".")[0]


def _get(doc: dict[str, Any], path: str):
    node: Any = doc
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def markdown_table(doc: dict[str, Any]) -> str:
    """The README's Performance table from a ``bench.json``: every figure with its spread, the
    same-run ratios, the target and whether it is met (``—`` for a section not run)."""

    def num(x, fmt):
        return "—" if x is None else format(x, fmt)

    def spread(path, fmt):
        s = _get(doc["spread"], path)
        return f" ({s[0]:{fmt}}–{s[1]:{fmt}})" if s else ""

    def target(path):
        if path not in TARGETS:
            return "", ""
        op, bound = TARGETS[path]
        value = _get(doc, path)
        sign = "≤" if op == "<=" else "≥"
        if value is None:
            return f"{sign} {bound:g}", "not measured"
        met = value <= bound if op == "<=" else value >= bound
        return f"{sign} {bound:g}", "met" if met else "not met"

    rows: list[tuple[str, str, str, str]] = []

    def row(label, path, fmt, extra=""):
        value = _get(doc, path)
        t, status = target(path)
        sp = spread(path, fmt) if value is not None else ""
        rows.append(
            (label, f"{num(value, fmt)}{sp}{extra if value is not None else ''}", t, status)
        )

    settings = doc.get("settings") or {}
    n = settings.get("loglike_default", {}).get("n_bins", "default")
    row(f"ln L + gradient, xsec ({n} bins, 10 free), warm, µs", "loglike_grad_us.default", ".1f")
    n = settings.get("loglike_fine", {}).get("n_bins", "fine")
    row(f"ln L + gradient, {n} bins, µs", "loglike_grad_us.fine", ".1f")
    row("numpy/scipy baseline, finite-difference gradient, µs", "baseline.loglike_grad_us", ".0f")
    row("  ratio baseline / ours", "baseline.ratio", ".0f", "×")
    backend = _get(doc, "pyhf.backend") or "—"
    row(f"ln L alone, pyhf ({backend} backend), µs", "pyhf.loglike_us", ".0f")
    row("  ours, ln L alone, µs", "pyhf.ours_loglike_us", ".1f")
    row("  ratio pyhf / ours", "pyhf.ratio", ".1f", "×")
    nuts = settings.get("nuts", {})
    what = f" {nuts['chains']} × ({nuts['draws']} + {nuts['tune']})" if "chains" in nuts else ""
    for name, label in (("pymc", "PyMC (the specs' default)"), ("nutpie", "nutpie")):
        if name not in doc.get("nuts_xsec", {}):
            reason = doc.get("skipped", {}).get(f"nuts_{name}") or doc.get("errors", {}).get(
                f"nuts_{name}", "not run"
            )
            rows.append((f"NUTS {label}", reason, "", ""))
            continue
        e = doc["nuts_xsec"][name]
        compile_sampling = f"{e['compile_s']:.1f} / {e['sampling_s']:.1f}"
        rows.append((f"NUTS {label}{what}: compile / sampling, s", compile_sampling, "", ""))
        row(
            f"  ESS_bulk(σ) per sampling second (r̂ ≤ {e['r_hat_sigma_max']:.3f})",
            f"nuts_xsec.{name}.ess_bulk_per_s",
            ".0f",
        )
    row("xsec profile: best fit + 41-point scan, s", "profile_xsec_s", ".2f")
    row("`predict` with empty caches (fresh HOME), s", "cold.predict_s", ".1f")
    row("`reproduce xsec` with empty caches (fresh HOME), s", "cold.reproduce_xsec_s", ".0f")
    toys = doc.get("toys") or {}

    def about(*parts):
        kept = [text.format(v) for text, v in parts if v is not None]
        return f" ({', '.join(kept)})" if kept else ""

    what = about(
        ("{} toys", toys.get("profile_n")),
        ("{} workers", toys.get("profile_workers")),
        ("{} fitter", toys.get("profile_fitter")),
    )
    row(f"profile-coverage toys per s{what}", "toys.profile_per_s", ".1f")
    row("  after the pool's start", "toys.profile_per_s_after_start", ".0f")
    what = about(
        ("{} toys", toys.get("bayes_n")),
        ("{}", toys.get("bayes_sampler")),
        ("{} chains", toys.get("bayes_chains")),
        ("{} draws each", toys.get("bayes_draws")),
        ("r̂ ≤ {:.3f}", toys.get("bayes_r_hat_max")),
    )
    row(f"Bayesian-coverage toys per s{what}", "toys.bayes_per_s", ".2f")
    row("  after each worker's first toy", "toys.bayes_per_s_after_start", ".2f")
    added = doc.get("reproduce_all_new_cache_files")
    warmth = "" if added is None else f" ({added} files added to the compile cache)"
    row(f"`reproduce --all`, warm, s{warmth}", "reproduce_all_s", ".0f")
    lines = ["| figure | median (min–max) | target | |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines) + "\n"


def print_table(doc: dict[str, Any]) -> None:
    """The Performance table on the terminal, with every step of ``reproduce --all`` and the
    errors of the sections that failed."""
    print(markdown_table(doc), end="")
    for command, seconds in (doc.get("reproduce_all_steps_s") or {}).items():
        print(f"  {command}: {seconds:.1f} s")
    for name, err in doc["errors"].items():
        print(f"! {name}: {err}")


if __name__ == "__main__":
    sys.exit(main())
