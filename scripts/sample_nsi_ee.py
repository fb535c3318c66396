#!/usr/bin/env python
"""Posterior of the vector NSI couplings eps_ee^u and eps_ee^d (two mirror-image bands).

The same as ``cevns-bayes sample nsi_ee``, written out with the Python API for people who
prefer scripts (published: a pair of bands (Fig. 6)). Usage::

    .venv/bin/python scripts/sample_nsi_ee.py [--draws N] [--chains N] [--out DIR]

Writes DIR/posterior.nc, DIR/summary.json and diagnostic PNGs (default DIR: results/nsi_ee).
Change the priors, binning or sampler settings by copying ``models/nsi_ee.toml`` and passing
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
    parser.add_argument("--spec", default="nsi_ee", help="spec name or TOML path")
    parser.add_argument("--out", default="results/nsi_ee")
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
