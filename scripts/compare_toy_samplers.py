#!/usr/bin/env python
"""nutpie against PyMC's NUTS on the same toy posteriors: the check behind the Bayesian toys'
default sampler (``cevns-bayes toys --sampler nutpie``).

For each spec, ``--n`` SBC toys (truths and nuisances from the priors, as ``toys --study sbc``
draws them) are sampled by both implementations with the same settings; per toy the POI's
posterior mean, sd and 5% / 95% quantiles are compared in units of their Monte-Carlo errors
(ArviZ's ``mcse``; sd / sqrt(2 ESS) for the sd; the two samplers' errors combined), and the
seconds per toy are timed (the compilation of each sampler apart). Writes
``OUT/sampler_check.json`` after every toy (resumable: toys already in it are kept) and
``OUT/sampler_check.md``.

Usage::

    .venv/bin/python scripts/compare_toy_samplers.py --out results/sampler_check \\
        --specs xsec light_vector:0,6e-5 neutron_radius sterile
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _stats(x: np.ndarray) -> dict:
    import arviz as az

    d = az.convert_to_dataset({"x": x})
    out = {"mean": float(x.mean()), "sd": float(x.std(ddof=1))}
    out["mean_se"] = float(az.mcse(d, method="mean")["x"])
    # the sd's error for a near-Gaussian posterior, sd / sqrt(2 ESS) (ArviZ's mcse of the sd
    # fails on numpy 2 arrays)
    out["sd_se"] = out["sd"] / float(np.sqrt(2.0 * float(az.ess(d, method="bulk")["x"])))
    for q in (0.05, 0.95):
        out[f"q{int(q * 100):02d}"] = float(np.quantile(x, q))
        out[f"q{int(q * 100):02d}_se"] = float(az.mcse(d, method="quantile", prob=q)["x"])
    out["r_hat"] = float(az.rhat(d)["x"])
    out["ess_bulk"] = float(az.ess(d, method="bulk")["x"])
    return out


def main(argv=None) -> int:
    from cevns_bayes import toys
    from cevns_bayes.output import write_json
    from cevns_bayes.spec import load_spec

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--specs", nargs="+", default=["xsec"], help="SPEC or SPEC:LOWER,UPPER")
    ap.add_argument("--n", type=int, default=8, help="toys per spec")
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "sampler_check.json"
    doc = json.loads(path.read_text()) if path.is_file() else {"settings": vars(args) | {}}
    doc["settings"] = {k: v for k, v in vars(args).items() if k != "out"}
    doc.setdefault("specs", {})
    for item in args.specs:
        name, _, rng = item.partition(":")
        sbc_range = [float(v) for v in rng.split(",")] if rng else None
        spec = toys.sbc_spec(load_spec(name), sbc_range)
        poi = next(iter(spec.pois))
        entry = doc["specs"].setdefault(item, {"poi": poi, "toys": []})
        done = {t["index"] for t in entry["toys"]}
        if len(done) >= args.n:
            continue
        samplers = {}
        for which in ("pymc", "nutpie"):
            t0 = time.perf_counter()
            state = toys.worker_state(spec, None, None, "bayes", None, which)
            samplers[which] = state.sampler
            entry[f"build_s_{which}"] = time.perf_counter() - t0
        sm = state.statistical
        for i in range(args.n):
            if i in done:
                continue
            toy = toys.generate_toy(spec, sm, None, i, args.seed, "bayesian")
            rec = {"index": i, "truth": toy.params[poi]}
            for which, sampler in samplers.items():
                t0 = time.perf_counter()
                draws, div = sampler.sample(
                    toy.counts,
                    seed=toys.sampler_seed(args.seed, i),
                    chains=args.chains,
                    draws=args.draws,
                    tune=args.tune,
                )
                rec[which] = _stats(draws[poi]) | {
                    "divergences": div,
                    "seconds": time.perf_counter() - t0,
                }
            a, b = rec["pymc"], rec["nutpie"]
            rec["pull"] = {
                k: (b[k] - a[k]) / float(np.hypot(a[f"{k}_se"], b[f"{k}_se"]))
                for k in ("mean", "sd", "q05", "q95")
            }
            entry["toys"].append(rec)
            write_json(path, doc)
            print(
                item,
                i,
                {k: round(v, 2) for k, v in rec["pull"].items()},
                round(a["seconds"], 2),
                round(b["seconds"], 2),
                flush=True,
            )
    _write_md(args.out, doc)
    return 0


def _write_md(out: Path, doc: dict) -> None:
    md = [
        "| spec | toys | max \\|pull\\| mean / sd / q05 / q95 | rms pull (all) | "
        "PyMC s/toy | nutpie s/toy | ratio | divergences PyMC / nutpie | max r̂ |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for item, e in doc["specs"].items():
        ts = e["toys"]
        if not ts:
            continue
        keys = ("mean", "sd", "q05", "q95")
        mx = [max(abs(t["pull"][k]) for t in ts) for k in keys]
        allp = np.array([t["pull"][k] for t in ts for k in keys])
        sp = float(np.median([t["pymc"]["seconds"] for t in ts]))
        sn = float(np.median([t["nutpie"]["seconds"] for t in ts]))
        dp = sum(t["pymc"]["divergences"] for t in ts)
        dn = sum(t["nutpie"]["divergences"] for t in ts)
        rh = max(max(t["pymc"]["r_hat"], t["nutpie"]["r_hat"]) for t in ts)
        md.append(
            f"| `{item}` | {len(ts)} | {' / '.join(f'{v:.1f}' for v in mx)} | "
            f"{float(np.sqrt(np.mean(allp**2))):.2f} | {sp:.2f} | {sn:.2f} | {sp / sn:.1f} | "
            f"{dp} / {dn} | {rh:.3f} |"
        )
    (out / "sampler_check.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
