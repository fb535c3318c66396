#!/usr/bin/env python
"""The headline numbers of a results folder, and how far they moved against a saved set.

A refactor must not move results; a physics change must say by how much. This collects, from
the files ``cevns-bayes reproduce --all`` and ``predict`` write, every number the README
quotes (posterior and profile summaries of each POI, significance, χ², the budget's nominal
fit, the predicted counts and cross sections) into one flat JSON, and compares two such sets:
each difference is printed in units of the posterior sd (Bayesian numbers, whose Monte Carlo
error is ≈ sd / sqrt(ESS)) or relative (deterministic numbers).

Usage::

    .venv/bin/python scripts/headline.py collect results --out docs/headline/before.json
    .venv/bin/python scripts/headline.py compare docs/headline/before.json results
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ANALYSES = ("xsec", "weak_mixing", "flavored", "flavored_giunti", "nsi_ee", "nsi_ee_mumu")


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def collect(results: Path) -> dict[str, float]:
    """Flat ``{"analysis/poi/what": value}`` of every headline number found in ``results``."""
    out: dict[str, float] = {}
    for name in ANALYSES:
        summ = _read(results / name / "summary.json")
        prof = _read(results / name / "profile.json")
        if summ:
            for poi, entry in summ["pois"].items():
                b = entry["bayes"]
                for k in ("median", "mean", "sd"):
                    out[f"{name}/{poi}/bayes_{k}"] = b[k]
                for k in ("hdi_68", "hdi_90"):
                    out[f"{name}/{poi}/bayes_{k}_lo"], out[f"{name}/{poi}/bayes_{k}_hi"] = b[k]
            for mode, mass in (summ.get("mode_masses") or {}).items():
                out[f"{name}/mode_mass/{mode}"] = mass
        if prof:
            for poi, entry in prof["pois"].items():
                p = entry["profile"]
                out[f"{name}/{poi}/profile_best"] = p["best"]
                for k in ("ci_68", "ci_90"):
                    if p.get(k):
                        out[f"{name}/{poi}/profile_{k}_lo"], out[f"{name}/{poi}/profile_{k}_hi"] = (
                            p[k]
                        )
            for k in ("significance_sigma", "chi2", "nll_min"):
                if prof.get(k) is not None:
                    out[f"{name}/{k}"] = prof[k]
    budget = _read(results / "xsec" / "budget.json")
    if budget:
        out["xsec/budget/nominal_best"] = budget["nominal"]["best"]
        for row in budget["rows"]:
            out[f"xsec/budget/{row['variation']}/shift"] = row["shift"]
    pred = _read(results / "predict.json")
    if pred:
        for section in ("counts", "counts_before_time_efficiency"):
            for k, v in pred[section].items():
                if isinstance(v, (int, float)):
                    out[f"predict/{section}/{k}"] = v
        for k, v in pred["sigma_sm_1e40cm2"].items():
            out[f"predict/sigma_sm/{k}"] = v
    return out


def compare(before: dict[str, float], after: dict[str, float]) -> list[dict]:
    rows = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        row = {"key": key, "before": a, "after": b}
        if a is None or b is None:
            row["change"] = "only before" if b is None else "only after"
        else:
            analysis, *rest = key.split("/")
            sd_key = f"{analysis}/{rest[0]}/bayes_sd" if rest else None
            sd = before.get(sd_key) if sd_key and "bayes" in key else None
            if sd:
                row["change_in_sd"] = (b - a) / sd
            else:
                row["change_rel"] = (b - a) / abs(a) if a else (0.0 if b == a else math.inf)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="collect the headline numbers of a results folder")
    c.add_argument("results", type=Path)
    c.add_argument("--out", type=Path, required=True)
    d = sub.add_parser("compare", help="compare a saved set with a results folder")
    d.add_argument("before", type=Path)
    d.add_argument("results", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "collect":
        doc = collect(args.results)
        if not doc:
            print(f"{args.results}: no results found", file=sys.stderr)
            return 1
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(args.out)
        print(f"{len(doc)} numbers -> {args.out}")
        return 0
    before = json.loads(args.before.read_text(encoding="utf-8"))
    for r in compare(before, collect(args.results)):
        head = f"{r['key']:55s}"
        if "change" in r:
            print(f"{head} {r['change']}")
        elif "change_in_sd" in r:
            print(f"{head} {r['before']:12.5g} {r['after']:12.5g} {r['change_in_sd']:+8.3f} sd")
        else:
            rel = 100 * r["change_rel"]
            print(f"{head} {r['before']:12.5g} {r['after']:12.5g} {rel:+8.3f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
