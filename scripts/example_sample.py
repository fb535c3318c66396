#!/usr/bin/env python
"""Example: the posterior of an analysis with NUTS, and its ArviZ diagnostics.

Copy this file and change it. Usage::

    .venv/bin/python scripts/example_sample.py [ANALYSIS] [--draws N] [--tune N] [--chains N]

ANALYSIS is a shipped spec (xsec, weak_mixing, flavored, flavored_giunti, nsi_ee, nsi_ee_mumu)
or the path of your own TOML spec (copy one from models/ and edit its priors).
"""

import argparse

import arviz as az
import numpy as np

import cevns_bayes

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("analysis", nargs="?", default="xsec")
ap.add_argument("--draws", type=int, default=1000)
ap.add_argument("--tune", type=int, default=1000)
ap.add_argument("--chains", type=int, default=4)
ap.add_argument("--plot", default=None, help="write a trace plot to this PNG")
args = ap.parse_args()

model = cevns_bayes.load_analysis(args.analysis)  # the statistical model of the spec
print(model)
idata = cevns_bayes.sample(
    model, draws=args.draws, tune=args.tune, chains=args.chains, progressbar=False
)

# the ArviZ summary of the POIs and the nuisances: r-hat, bulk and tail ESS
names = [n for n in model.parameter_names if n in idata.posterior]
print(az.summary(idata, var_names=names, kind="diagnostics").round(3))
print("divergences:", int(idata.sample_stats["diverging"].values.sum()))
for poi in model.poi_names:
    draws = idata.posterior[poi].values.ravel()
    lo, hi = az.hdi(draws, hdi_prob=0.68)
    unit = model.parameters[poi].unit
    print(f"{poi}: median {np.median(draws):.4g}, 68% HDI [{lo:.4g}, {hi:.4g}] {unit}")
if args.plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    az.plot_trace(idata, var_names=list(model.poi_names))
    plt.savefig(args.plot, dpi=100)
    print("wrote", args.plot)
