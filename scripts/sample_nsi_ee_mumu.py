#!/usr/bin/env python
"""Posterior of the vector NSI couplings eps_ee^u and eps_mumu^u (four sign bands).

The same as ``cevns-bayes sample nsi_ee_mumu``, as a script (it calls
``cevns_bayes.inference.run.run_sampling``; published: bands (Fig. 6)). Usage::

    .venv/bin/python scripts/sample_nsi_ee_mumu.py [--draws N] [--chains N] [--out DIR]

Writes DIR/posterior.nc, DIR/summary.json and diagnostic PNGs (default DIR: results/nsi_ee_mumu).
Change the priors, binning or sampler settings by copying ``models/nsi_ee_mumu.toml`` and passing
the copy's path as ``--spec``.
"""

import sys

from cevns_bayes.inference.run import script_main

if __name__ == "__main__":
    sys.exit(script_main("nsi_ee_mumu", __doc__))
