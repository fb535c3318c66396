#!/usr/bin/env python
"""A small toy study of the Bayes factor of the NSI analysis against the SM: does it grow with
an injected NSI signal, and does it favour the SM more, on SM data, as the prior box widens?

The analysis is the ε_ee^d slice of ``nsi_ee`` (ε_ee^u fixed at 0; its flat box
[−0.659, 1.341] holds both weak-charge bands: the SM-like one around 0 and the sign-flipped one
near ε ≈ 0.36, where Q_e = Q_SM + ε (Z + 2N) = −Q_SM). The signal is not monotonic in ε: the
ν_e CEvNS rate ∝ Q_e² falls to 0 at ε ≈ 0.18 and returns to the SM's at 0.36 (expected counts
in the ROI, nuisances nominal: 1636.6 at 0, 1553.7 at 0.1, 1536.4 at 0.2, 1584.9 at 0.3,
1642.0 at 0.357), so ln B is to grow with the deficit, not with ε.

For each injected ε_ee^d of ``--strengths`` the script draws ``--n`` Bayesian toys
(nuisances from their priors, Poisson counts around the expectation: the ensemble a Bayes
factor is calibrated in) and computes, per toy, ln B
(NSI vs SM) on the Laplace-marginal grid for boxes shrunk towards ε = 0 by the fractions
``--fractions`` (``cevns_bayes.workflows.comparison.width_curve``: one grid, the Savage–Dickey
ratio for every width). Every toy is written as ``OUT/toys/<strength>_<index>.json`` (resumable)
and the summary as ``OUT/nsi_bayes_factor_toys.json`` and ``.md``: per strength and fraction
the median ln B and its 16–84% range over the toys, and the fraction of toys with ln B > 0.

Usage::

    .venv/bin/python scripts/nsi_bayes_factor_toys.py --out results/nsi_bf_toys
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=10, help="toys per injected strength")
    ap.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.15, 0.2])
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.05, 0.1, 0.25, 0.5, 1.0])
    ap.add_argument("--points", type=int, default=41, help="grid cells of the full box")
    ap.add_argument("--seed", type=int, default=717)
    args = ap.parse_args(argv)

    from cevns_bayes.inference.bayes import build_forward_model
    from cevns_bayes.model.statistical import StatisticalModel
    from cevns_bayes.output import write_json
    from cevns_bayes.spec import load_spec
    from cevns_bayes.toys import generate_toy, one_poi_spec
    from cevns_bayes.workflows.comparison import width_curve

    spec = one_poi_spec(load_spec("nsi_ee"), "eps_ee_d", {"eps_ee_u": 0.0})
    forward = build_forward_model(spec)
    sm = StatisticalModel(spec, forward)
    (args.out / "toys").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    done = 0
    total = len(args.strengths) * args.n
    for s_i, strength in enumerate(args.strengths):
        for i in range(args.n):
            path = args.out / "toys" / f"{strength:g}_{i:04d}.json"
            if path.is_file():
                done += 1
                continue
            toy = generate_toy(
                spec, sm, {"eps_ee_d": strength}, s_i * 100000 + i, args.seed, "bayesian"
            )
            curve = width_curve(
                sm, [0.0], toy.counts, points=args.points, fractions=tuple(args.fractions)
            )
            rec = {
                "strength": strength,
                "index": i,
                "n_events": int(toy.counts.sum()),
                "params": toy.params,
                "log_bayes_factor": {
                    f"{r['fraction']:g}": r["log_bayes_factor"] for r in curve["curve"]
                },
            }
            write_json(path, rec)
            done += 1
            rate = done / (time.perf_counter() - t0)
            print(f"{done}/{total} toys ({rate:.2f}/s)", flush=True)
    _summarize(args.out, args.strengths, args.fractions, args.n)
    return 0


def _summarize(out: Path, strengths, fractions, n: int) -> None:
    from cevns_bayes.output import write_json

    rows = []
    for strength in strengths:
        recs = [
            json.loads(p.read_text())
            for p in sorted((out / "toys").glob(f"{strength:g}_*.json"))
            if int(p.stem.split("_")[-1]) < n
        ]
        if not recs:
            continue
        for f in fractions:
            b = np.array([r["log_bayes_factor"][f"{f:g}"] for r in recs])
            lo, med, hi = np.percentile(b, [16, 50, 84])
            rows.append(
                {
                    "strength": strength,
                    "fraction": f,
                    "n_toys": len(recs),
                    "median": float(med),
                    "p16": float(lo),
                    "p84": float(hi),
                    "favours_nsi": float(np.mean(b > 0)),
                }
            )
    write_json(out / "nsi_bayes_factor_toys.json", {"rows": rows})
    md = [
        "| injected ε_ee^d | box fraction | toys | median ln B | 16–84% | P(ln B > 0) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        md.append(
            f"| {r['strength']:g} | {r['fraction']:g} | {r['n_toys']} | {r['median']:+.2f} | "
            f"[{r['p16']:+.2f}, {r['p84']:+.2f}] | {r['favours_nsi']:.2f} |"
        )
    (out / "nsi_bayes_factor_toys.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
