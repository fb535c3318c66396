#!/usr/bin/env python
"""Example: the profile likelihood of an analysis: best fit, Δχ² scan and intervals.

Copy this file and change it. Usage::

    .venv/bin/python scripts/example_profile.py [ANALYSIS] [--scan-points N] [--plot FILE.png]
"""

import argparse

import cevns_bayes

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("analysis", nargs="?", default="xsec")
ap.add_argument("--scan-points", type=int, default=41)
ap.add_argument("--plot", default=None, help="write the Δχ² curve of the first POI to this PNG")
args = ap.parse_args()

model = cevns_bayes.load_analysis(args.analysis)
result = cevns_bayes.profile(model, scan_points=args.scan_points)  # a ProfileResult
print(result)
doc = result.document
for poi in model.poi_names:
    p = doc["pois"][poi]["profile"]
    print(f"{poi}: best {p['best']:.4g}, 68% {p['ci_68']}, 90% {p['ci_90']}")
print(f"no-CEvNS rejection {doc['significance_sigma']:.2f} sigma; "
      f"chi2 {doc['chi2']:.1f} / {doc['ndof']} (p = {doc['gof_pvalue']:.2f})")  # fmt: skip
print(
    "nuisances at the best fit:", {n: round(result.best.values[n], 4) for n in model.nuisance_names}
)
if args.plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    poi = model.poi_names[0]
    scan = result.scans[poi]
    plt.plot(scan.grid, scan.delta_chi2, label="nuisances profiled")
    plt.plot(scan.grid, result.scans_no_syst[poi].delta_chi2, "--", label="nuisances fixed")
    plt.axhline(1.0, color="grey", lw=0.5)
    plt.xlabel(f"{poi} [{model.parameters[poi].unit}]")
    plt.ylabel(r"$\Delta\chi^2$")
    plt.legend()
    plt.savefig(args.plot, dpi=100)
    print("wrote", args.plot)
