"""Nominal predictions in the ROI: counts per component, SM flux-averaged cross sections, and
the cost of one log-likelihood + gradient evaluation. Values only: the CLI writes them."""

from __future__ import annotations

from typing import Any

import numpy as np

from cevns_bayes.model.forward import CEVNS_COMPONENTS, ForwardModel
from cevns_bayes.model.likelihood import time_call

#: The analysis whose likelihood the timing measures: the σ fit (POI σ + every nuisance)
TIMED_ANALYSIS = "xsec"


def component_counts(values: dict[str, np.ndarray]) -> dict[str, Any]:
    """Totals over the binning of each component, with CEvNS also split by flavor."""
    return {
        "ssb": float(values["ssb"].sum()),
        "brn": float(values["brn"].sum()),
        "nin": float(values["nin"].sum()),
        "cevns": float(sum(values[k].sum() for k in CEVNS_COMPONENTS)),
        "cevns_by_flavor": {
            k.removeprefix("cevns_"): float(values[k].sum()) for k in CEVNS_COMPONENTS
        },
    }


def time_loglike_grad(model: ForwardModel, repeat: int = 7, number: int = 300) -> dict[str, Any]:
    """Median (and all batch medians) of one −ln L + gradient call, µs: the function the fits
    of the σ analysis minimise (its statistical model on ``model``: Poisson ln L, the
    ⟨σ⟩_SM(R_n) normalization and the nuisance constraints), at the fits' start point."""
    from cevns_bayes.inference.profile import ProfileLikelihood
    from cevns_bayes.model.statistical import StatisticalModel
    from cevns_bayes.spec import load_spec

    prof = ProfileLikelihood(StatisticalModel(load_spec(TIMED_ANALYSIS), model))
    x0 = prof.start.copy()
    times = time_call(lambda: prof.value_and_grad(x0), repeat=repeat, number=number)
    return {
        "median_us": float(np.median(times)),
        "batches_us": times,
        "n_bins": model.binning.n_bins,
        "n_free": len(prof.names),
        "analysis": TIMED_ANALYSIS,
    }


def predict_summary(
    model: ForwardModel, model_no_time_eff: ForwardModel, *, time_it: bool = True
) -> dict[str, Any]:
    """The ``predict`` document (see the README for its keys)."""
    nominal = model.evaluate()
    before = model_no_time_eff.evaluate()
    plus = model.evaluate({"r_n_scale": 1.05})["sigma_sm_total_1e40cm2"]
    minus = model.evaluate({"r_n_scale": 0.95})["sigma_sm_total_1e40cm2"]
    s0 = nominal["sigma_sm_total_1e40cm2"]
    out: dict[str, Any] = {
        "counts": component_counts(nominal),
        "counts_before_time_efficiency": component_counts(before),
        "sigma_sm_1e40cm2": {
            "total": nominal["sigma_total_1e40cm2"],
            "mu": nominal["sigma_mu_1e40cm2"],
            "e": nominal["sigma_e_1e40cm2"],
        },
        "sigma_sm_rn_shift_percent": {
            "plus5": 100.0 * (plus / s0 - 1.0),
            "minus5": 100.0 * (minus / s0 - 1.0),
        },
        "observed": {
            "c_events": float(model.observed.sum()),
            "ac_events": float(model.n_ac_region),
        },
    }
    if time_it:
        timing = time_loglike_grad(model)
        out["loglike_grad_eval_us"] = timing["median_us"]
        out["loglike_grad_timing"] = timing
    out["settings"] = model_settings(model)
    return out


def model_settings(model: ForwardModel) -> dict[str, Any]:
    """What the prediction was made with, so a result file explains itself."""
    return {
        "data_dir": str(model.release.data_dir),
        "flux_source": model.flux.source,
        "proton_pulse": model.flux.pulse,
        "arrival_time_us": model.arrival_time_us,
        "form_factor": model.form_factor,
        "couplings": model.couplings,
        "time_efficiency": model.time_efficiency,
        "binning": {
            "name": model.binning.name,
            "pe_edges": model.binning.pe_edges,
            "t_edges_us": model.binning.t_edges_us,
        },
        "roi": "PE < 60, 0 <= t_rec < 6 us" if model.binning.name == "default" else "binning range",
    }
