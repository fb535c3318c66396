"""Workflows: runs of the statistics that write result files (what the commands call).

- :mod:`cevns_bayes.workflows.analysis`: one sampling run (``posterior.nc``, ``summary.json``,
  diagnostic PNGs) or one profile-likelihood run (``profile.json``, ``profile_scans.npz``,
  Δχ² PNGs) of an analysis spec;
- :mod:`cevns_bayes.workflows.budget`: the difference budget, many profile fits under
  variations of the model, and its table and figure;
- :mod:`cevns_bayes.workflows.prediction`: the figures of the nominal prediction.

The statistics are in :mod:`cevns_bayes.inference`, the figures in :mod:`cevns_bayes.plots`
and the file writing in :mod:`cevns_bayes.output`; a workflow puts them together.
"""
