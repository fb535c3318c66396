#!/usr/bin/env python
"""Posterior of the flux-averaged CEvNS cross section <sigma>_Phi (1e-40 cm2).

The same as ``cevns-bayes sample xsec``, as a script (it calls
``cevns_bayes.inference.run.run_sampling``; published 165 +30 -25). Usage::

    .venv/bin/python scripts/sample_xsec.py [--draws N] [--chains N] [--out DIR]

Writes DIR/posterior.nc, DIR/summary.json and diagnostic PNGs (default DIR: results/xsec).
Change the priors, binning or sampler settings by copying ``models/xsec.toml`` and passing
the copy's path as ``--spec``.
"""

import sys

from cevns_bayes.inference.run import script_main

if __name__ == "__main__":
    sys.exit(script_main("xsec", __doc__))
