#!/usr/bin/env python
"""Posterior of the weak mixing angle sin^2(theta_W) at Q^2 ~ (50 MeV)^2.

The same as ``cevns-bayes sample weak_mixing``, written out with the Python API for people who
prefer scripts (published 0.220 +0.028 -0.026). Usage::

    .venv/bin/python scripts/sample_weak_mixing.py [--draws N] [--chains N] [--out DIR]

Writes DIR/posterior.nc, DIR/summary.json and diagnostic PNGs (default DIR: results/weak_mixing).
Change the priors, binning or sampler settings by copying ``models/weak_mixing.toml`` and passing
the copy's path as ``--spec``.
"""

import argparse
import json
import sys

from cevns_bayes.errors import CevnsBayesError
from cevns_bayes.inference.run import run_sampling
from cevns_bayes.spec import load_spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="weak_mixing", help="spec name or TOML path")
    parser.add_argument("--out", default="results/weak_mixing")
    parser.add_argument("--chains", type=int, default=None)
    parser.add_argument("--draws", type=int, default=None)
    parser.add_argument("--tune", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--backend", choices=("pymc", "nutpie"), default=None)
    args = parser.parse_args()
    try:
        spec = load_spec(args.spec)
        summary = run_sampling(
            spec,
            args.out,
            chains=args.chains,
            draws=args.draws,
            tune=args.tune,
            seed=args.seed,
            backend=args.backend,
        )
    except CevnsBayesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"pois": summary["pois"], "diagnostics": summary["diagnostics"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
