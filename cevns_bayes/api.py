"""The three calls of a notebook: load an analysis, sample it, profile it.

::

    import cevns_bayes
    model = cevns_bayes.load_analysis("xsec")       # a StatisticalModel
    idata = cevns_bayes.sample(model, draws=1000)    # arviz.InferenceData
    result = cevns_bayes.profile(model)              # ProfileResult

The statistical model (:class:`~cevns_bayes.model.statistical.StatisticalModel`) knows
nothing of the methods that consume it; these functions hand it to them
(:mod:`cevns_bayes.inference`).
"""

from __future__ import annotations

from cevns_bayes.inference.bayes import build_pymc_model
from cevns_bayes.inference.bayes import sample as _nuts
from cevns_bayes.inference.profile import ProfileResult, run_profile
from cevns_bayes.model.statistical import StatisticalModel, load_analysis


def _model(model) -> StatisticalModel:
    if isinstance(model, StatisticalModel):
        return model
    return load_analysis(model)


def sample(model, *, data=None, **options):
    """NUTS posterior of a statistical model (or of a spec name / path, loaded first).

    ``options`` go to :func:`cevns_bayes.inference.bayes.sample` (``chains``, ``draws``,
    ``tune``, ``seed``, ``progressbar``, ...); ``data`` replaces the observed counts (an array
    in the model's binning). Returns the ``arviz.InferenceData``: posterior, sample stats
    (divergences, tree depth), prior, posterior predictive, observed and constant data.
    """
    sm = _model(model)
    observed = None if data is None else sm.check_data(data)
    return _nuts(sm.spec, sm.forward, observed=observed, **options).idata


def profile(model, *, data=None, **options) -> ProfileResult:
    """Profile-likelihood best fit, scans and intervals of every POI (options such as
    ``scan_points`` go to :func:`cevns_bayes.inference.profile.run_profile`); ``data`` replaces
    the observed counts."""
    sm = _model(model)
    observed = None if data is None else sm.check_data(data)
    return run_profile(sm, observed=observed, **options)


def pymc_model(model, *, data=None, deterministics: bool = True):
    """The PyMC model (coords ``pe_bin``, ``t_bin``, ``component``, ``flavor``; the observed
    counts with dims ``(pe_bin, t_bin)``); ``data`` replaces the observed counts."""
    sm = _model(model)
    observed = None if data is None else sm.check_data(data)
    return build_pymc_model(sm.spec, sm.forward, observed, deterministics=deterministics)


__all__ = ["load_analysis", "profile", "pymc_model", "sample"]
