#!/usr/bin/env python
"""Posterior of the flavored scales sigma_mu/sigma_mu^SM and sigma_e/sigma_e^SM.

The same as ``cevns-bayes sample flavored``, as a script (it calls
``cevns_bayes.inference.run.run_sampling``; published 0.876, 0.873). Usage::

    .venv/bin/python scripts/sample_flavored.py [--draws N] [--chains N] [--out DIR]

Writes DIR/posterior.nc, DIR/summary.json and diagnostic PNGs (default DIR: results/flavored).
Change the priors, binning or sampler settings by copying ``models/flavored.toml`` and passing
the copy's path as ``--spec``.
"""

import sys

from cevns_bayes.inference.run import script_main

if __name__ == "__main__":
    sys.exit(script_main("flavored", __doc__))
