#!/usr/bin/env python
"""Example: the Bayesian credible interval beside the profile-likelihood interval and the
published number, for every POI of an analysis.

Copy this file and change it. Usage::

    .venv/bin/python scripts/example_compare.py [ANALYSIS] [--draws N] [--scan-points N]
"""

import argparse

import arviz as az
import numpy as np

import cevns_bayes
from cevns_bayes.io import load_published

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("analysis", nargs="?", default="xsec")
ap.add_argument("--draws", type=int, default=1000)
ap.add_argument("--tune", type=int, default=1000)
ap.add_argument("--chains", type=int, default=4)
ap.add_argument("--scan-points", type=int, default=41)
args = ap.parse_args()

model = cevns_bayes.load_analysis(args.analysis)
idata = cevns_bayes.sample(
    model, draws=args.draws, tune=args.tune, chains=args.chains, progressbar=False
)
result = cevns_bayes.profile(model, scan_points=args.scan_points)
published = load_published()  # the paper's numbers, shipped with the package
print(f"{'POI':14s} {'posterior median [68% HDI]':32s} {'profile best [68%]':32s} published")
for poi in model.poi_names:
    draws = idata.posterior[poi].values.ravel()
    lo, hi = az.hdi(draws, hdi_prob=0.68)
    p = result.document["pois"][poi]["profile"]
    pub = published["pois"].get(poi, {})
    bayes = f"{np.median(draws):.4g} [{lo:.4g}, {hi:.4g}]"
    prof = f"{p['best']:.4g} [{p['ci_68'][0]:.4g}, {p['ci_68'][1]:.4g}]"
    print(f"{poi:14s} {bayes:32s} {prof:32s} {pub.get('best', '-')}")
