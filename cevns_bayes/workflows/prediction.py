"""The figures of the nominal prediction against the data (``cevns-bayes plot prediction``)."""

from __future__ import annotations

from pathlib import Path

from cevns_bayes.output import save_figures


def write_prediction_plots(model, out: str | Path) -> list[Path]:
    """``prediction_projections.png``, ``residual_over_ssb.png`` and ``data_c_vs_ac.png`` of
    the forward model ``model`` at its nominal parameters, in folder ``out``."""
    from cevns_bayes.plots import prediction as plots

    values = model.evaluate()
    comps = {
        k: values[k] for k in ("ssb", "brn", "nin", "cevns_nu_mu", "cevns_nu_mu_bar", "cevns_nu_e")
    }
    b = model.binning
    ac = b.histogram(model.release.events_ac.pe, model.release.events_ac.t_us)
    figures = {
        "prediction_projections.png": plots.prediction_projections(
            b.pe_edges, b.t_edges_us, model.observed, comps
        ),
        "residual_over_ssb.png": plots.residual_over_ssb(
            b.pe_edges, b.t_edges_us, model.observed, comps
        ),
        "data_c_vs_ac.png": plots.data_c_vs_ac(b.pe_edges, b.t_edges_us, model.observed, ac),
    }
    return save_figures(figures, out)
