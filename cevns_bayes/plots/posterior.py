"""Figures of a sampling run: rank plots, pair plot, posterior predictive checks, NSI bands."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.style import data_points, styled


def label(name: str) -> str:
    """The axis label of a parameter (the registry's), marked when the draws are folded."""
    from cevns_bayes.errors import ConfigError
    from cevns_bayes.model.parameters import parameter_facts

    base = name.removesuffix("_folded")
    try:
        text = parameter_facts(base)[2]
    except ConfigError:
        text = base
    return text + (" (folded)" if name.endswith("_folded") else "")


@styled
def rank_plot(idata, var_names: Sequence[str]):
    """Rank histograms per chain (uniform when the chains mix)."""
    import arviz as az
    import matplotlib.pyplot as plt

    n = len(var_names)
    ncol = min(n, 3)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False)
    for ax, name in zip(axes.ravel(), var_names):
        az.plot_rank(idata, var_names=[name], ax=ax, kind="vlines")
        ax.set_title(label(name), fontsize=10)
        ax.set_xlabel("rank (all chains)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle("rank plots per chain (uniform = well mixed)", fontsize=11)
    fig.tight_layout()
    return fig


@styled
def trace_plot(idata, var_names: Sequence[str]):
    """Draws against iteration, per chain."""
    import matplotlib.pyplot as plt

    post = idata.posterior
    fig, axes = plt.subplots(
        len(var_names), 1, figsize=(8, 1.6 * len(var_names) + 0.6), squeeze=False, sharex=True
    )
    for ax, name in zip(axes[:, 0], var_names):
        v = post[name].values
        for ch in range(v.shape[0]):
            ax.plot(v[ch], lw=0.4, alpha=0.8)
        ax.set_ylabel(label(name), fontsize=8)
    axes[-1, 0].set_xlabel("draw")
    fig.tight_layout()
    return fig


@styled
def pair_plot(idata, var_names: Sequence[str]):
    """Pairwise posterior scatter (divergences in red) with marginal histograms."""
    import matplotlib.pyplot as plt

    post = idata.posterior
    n = len(var_names)
    data = [post[v].values.ravel() for v in var_names]
    div = None
    if "diverging" in idata.sample_stats:
        div = idata.sample_stats["diverging"].values.ravel().astype(bool)
    fig, axes = plt.subplots(n, n, figsize=(2.1 * n + 0.8, 2.1 * n + 0.8), squeeze=False)
    rng = np.random.default_rng(0)
    keep = rng.permutation(data[0].size)[: min(data[0].size, 3000)]
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(data[i], bins=40, color="0.35", histtype="stepfilled", alpha=0.7)
                ax.set_yticks([])
            else:
                ax.scatter(
                    data[j][keep], data[i][keep], s=2, alpha=0.25, color="C0", rasterized=True
                )
                if div is not None and div.size == data[0].size and div.any():
                    ax.scatter(data[j][div], data[i][div], s=6, color="C3", label="divergent")
            if i == n - 1:
                ax.set_xlabel(label(var_names[j]), fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(label(var_names[i]), fontsize=8)
            elif j > 0:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=7)
    fig.suptitle("posterior: parameters of interest and the most correlated nuisances", fontsize=10)
    fig.tight_layout()
    return fig


@styled
def ppc_projections(pe_edges, t_edges_us, observed: np.ndarray, replicas: np.ndarray):
    """Observed counts projected on PE and t_rec against the posterior predictive bands.

    ``replicas`` has shape (n_draws, n_pe, n_t).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, axis, edges, xlab in (
        (axes[0], 2, np.asarray(pe_edges), "reconstructed energy [PE]"),
        (axes[1], 1, np.asarray(t_edges_us), r"$t_{rec}$ [µs]"),
    ):
        obs = observed.sum(axis=axis - 1)
        rep = replicas.sum(axis=axis)
        width = np.diff(edges)
        lo95, lo68, med, hi68, hi95 = np.quantile(rep, [0.025, 0.16, 0.5, 0.84, 0.975], axis=0)
        for lo, hi, alpha, lab in (
            (lo95, hi95, 0.25, "95% predictive"),
            (lo68, hi68, 0.45, "68% predictive"),
        ):
            ax.stairs(
                hi / width,
                edges,
                baseline=lo / width,
                fill=True,
                alpha=alpha,
                color="C0",
                label=lab,
            )
        ax.stairs(med / width, edges, color="C0", lw=1.2, label="predictive median")
        data_points(ax, edges, obs, widths=width, label="C data")
        ax.set_xlabel(xlab)
        ax.set_ylabel("events per unit " + ("PE" if axis == 2 else "µs"))
        ax.legend(fontsize=8)
    fig.suptitle("posterior predictive check (Poisson replicas of the C data)", fontsize=11)
    fig.tight_layout()
    return fig


@styled
def nsi_bands(idata, poi_names: Sequence[str], grid=None):
    """Unfolded posterior draws of two couplings, with the grid reference's credible contours."""
    import matplotlib.pyplot as plt

    post = idata.posterior
    x = post[poi_names[0]].values.ravel()
    y = post[poi_names[1]].values.ravel()
    fig, ax = plt.subplots(figsize=(6, 5.2))
    ax.scatter(x, y, s=1.5, alpha=0.2, color="C0", rasterized=True, label="NUTS (unfolded)")
    if grid is not None:
        p = grid.probabilities()
        order = np.sort(p.ravel())[::-1]
        cum = np.cumsum(order)
        levels = [order[np.searchsorted(cum, q)] for q in (0.9, 0.68)]
        xx, yy = np.meshgrid(grid.axes[0], grid.axes[1], indexing="ij")
        cs = ax.contour(xx, yy, p, levels=levels, colors=["C3", "C1"], linewidths=1.3)
        ax.clabel(cs, fmt={levels[0]: "90%", levels[1]: "68%"}, fontsize=8)
        ax.plot([], [], color="C3", label="grid (Laplace) 90% / 68% HPD")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.axvline(0, color="0.6", lw=0.6)
    ax.plot([0], [0], marker="*", color="k", ms=10, ls="", label="Standard Model")
    ax.set_xlabel(label(poi_names[0]))
    ax.set_ylabel(label(poi_names[1]))
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
