#!/usr/bin/env python
"""Posterior of the weak mixing angle sin^2(theta_W) at Q^2 ~ (50 MeV)^2.

The same as ``cevns-bayes sample weak_mixing``, as a script (it calls
``cevns_bayes.inference.run.run_sampling``; published 0.220 +0.028 -0.026). Usage::

    .venv/bin/python scripts/sample_weak_mixing.py [--draws N] [--chains N] [--out DIR]

Writes DIR/posterior.nc, DIR/summary.json and diagnostic PNGs (default DIR: results/weak_mixing).
Change the priors, binning or sampler settings by copying ``models/weak_mixing.toml`` and passing
the copy's path as ``--spec``.
"""

import sys

from cevns_bayes.inference.run import script_main

if __name__ == "__main__":
    sys.exit(script_main("weak_mixing", __doc__))
