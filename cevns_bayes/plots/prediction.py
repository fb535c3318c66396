"""Figures of the data and the nominal prediction, in the style of the paper's Figs. 3 and 7.

Functions take numbers (counts per bin, edges) and return matplotlib figures; they compute no
physics. Projections are shown per unit PE / per µs so uneven bins read correctly.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cevns_bayes.plots.style import data_points, stacked_histogram, styled  # noqa: E402

COLORS = {
    "ssb": "#b0b0b0",
    "brn": "#8c564b",
    "nin": "#e377c2",
    "cevns_nu_mu": "#1f77b4",
    "cevns_nu_mu_bar": "#2ca02c",
    "cevns_nu_e": "#ff7f0e",
}
LABELS = {
    "ssb": "steady-state bkg (AC)",
    "brn": "BRN",
    "nin": "NIN",
    "cevns_nu_mu": r"CEvNS $\nu_\mu$",
    "cevns_nu_mu_bar": r"CEvNS $\bar\nu_\mu$",
    "cevns_nu_e": r"CEvNS $\nu_e$",
}
AXES = (
    ("PE", "reconstructed energy [PE]", "events / PE"),
    ("t", r"$t_\mathrm{rec}$ [$\mu$s]", r"events / $\mu$s"),
)


def _project(counts: np.ndarray, axis: int) -> np.ndarray:
    return counts.sum(axis=1 - axis)


def _stairs_stack(ax, edges, layers, names, widths):
    return stacked_histogram(
        ax,
        edges,
        layers,
        labels=[LABELS.get(n, n) for n in names],
        colors=[COLORS.get(n, "0.5") for n in names],
        widths=widths,
    )


def _data_points(ax, edges, counts, widths, label, **kw):
    data_points(ax, edges, counts, widths=widths, label=label, **kw)


@styled
def prediction_projections(
    pe_edges, t_edges_us, observed, components: dict[str, np.ndarray], title: str = ""
) -> plt.Figure:
    """C data against the stacked prediction, projected on PE and on t_rec."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    order = [
        k
        for k in ("ssb", "brn", "nin", "cevns_nu_e", "cevns_nu_mu_bar", "cevns_nu_mu")
        if k in components
    ]
    for axis, (ax, (_, xlabel, ylabel)) in enumerate(zip(axes, AXES)):
        edges = pe_edges if axis == 0 else t_edges_us
        widths = np.diff(edges)
        layers = [_project(components[k], axis) for k in order]
        _stairs_stack(ax, edges, layers, order, widths)
        _data_points(ax, edges, _project(observed, axis), widths, "C data (beam on)", color="k")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle(title or "Nominal prediction vs coincidence data (ROI)")
    fig.tight_layout()
    return fig


@styled
def residual_over_ssb(
    pe_edges, t_edges_us, observed, components: dict[str, np.ndarray], title: str = ""
) -> plt.Figure:
    """Data minus steady-state background against CEvNS (by flavor), BRN and NIN (paper Fig. 3)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    order = [
        k for k in ("brn", "nin", "cevns_nu_e", "cevns_nu_mu_bar", "cevns_nu_mu") if k in components
    ]
    for axis, (ax, (_, xlabel, ylabel)) in enumerate(zip(axes, AXES)):
        edges = pe_edges if axis == 0 else t_edges_us
        widths = np.diff(edges)
        layers = [_project(components[k], axis) for k in order]
        _stairs_stack(ax, edges, layers, order, widths)
        data = _project(observed, axis)
        ssb = _project(components["ssb"], axis)
        # the error bars are the data's Poisson errors (the SSB is measured with 2.1%)
        data_points(ax, edges, data, widths=widths, offset=ssb, label="C data − SSB", color="k")
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xlim(edges[0], edges[-1])
    axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle(title or "Residual over steady-state background")
    fig.tight_layout()
    return fig


@styled
def data_c_vs_ac(pe_edges, t_edges_us, c_counts, ac_counts, title: str = "") -> plt.Figure:
    """Coincidence against anti-coincidence data projected on PE and t_rec (paper Fig. 7)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, (ax, (_, xlabel, ylabel)) in enumerate(zip(axes, AXES)):
        edges = pe_edges if axis == 0 else t_edges_us
        widths = np.diff(edges)
        _data_points(
            ax, edges, _project(ac_counts, axis), widths, "AC (beam-unrelated)", color="tab:blue"
        )
        _data_points(ax, edges, _project(c_counts, axis), widths, "C (beam window)", color="k")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle(title or "Selected beam-on data: coincidence vs anti-coincidence")
    fig.tight_layout()
    return fig
