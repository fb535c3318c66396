"""Profile-likelihood figures: Δχ² curves (paper Fig. 4), 2-D regions (Figs. 5, 6), and the
Bayesian–frequentist overlays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.posterior import label
from cevns_bayes.plots.style import styled

LEVELS_2D = (("1σ", 2.30, "C0"), ("2σ", 6.18, "C1"), ("3σ", 11.83, "C2"), ("90%", 4.61, "k"))


@styled
def delta_chi2_curve(scan, scan_no_syst, published: Mapping | None = None, units: str = ""):
    """Δχ² of one POI with nuisances profiled and with nuisances fixed (paper Fig. 4)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(scan.grid, scan.delta_chi2, color="C0", lw=1.8, label="with systematics (profiled)")
    ax.plot(
        scan_no_syst.grid,
        scan_no_syst.delta_chi2,
        color="C1",
        lw=1.4,
        ls="--",
        label="without systematics (nuisances fixed)",
    )
    for lev, text in ((1.0, "68%"), (2.706, "90%")):
        ax.axhline(lev, color="0.5", lw=0.7, ls=":")
        ax.text(scan.grid[0], lev + 0.1, text, fontsize=8, color="0.4")
    if published and published.get("best") is not None:
        ax.axvline(published["best"], color="C3", lw=1.0, label="published best fit")
        lo, hi = published.get("ci_68") or (None, None)
        if lo is not None:
            ax.axvspan(lo, hi, color="C3", alpha=0.12, label="published 68%")
    ax.set_ylim(0, 10.0)
    ax.set_xlim(scan.grid[0], scan.grid[-1])
    ax.set_xlabel(label(scan.poi) + (f" [{units}]" if units and "[" not in label(scan.poi) else ""))
    ax.set_ylabel(r"$\Delta\chi^2 = -2\,\Delta\ln L$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@styled
def contour_2d(
    axes_xy: Sequence[np.ndarray],
    delta_chi2: np.ndarray,
    names: Sequence[str],
    best: Sequence[float] | None = None,
    sm: Sequence[float] | None = (1.0, 1.0),
    posterior=None,
    title: str = "",
):
    """Δχ² regions of two POIs (1/2/3σ and 90% for 2 dof), optionally over posterior draws."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    xx, yy = np.meshgrid(axes_xy[0], axes_xy[1], indexing="ij")
    if posterior is not None:
        ax.scatter(
            posterior[0],
            posterior[1],
            s=1.2,
            alpha=0.15,
            color="0.55",
            rasterized=True,
            label="posterior draws",
        )
    for text, lev, color in LEVELS_2D:
        ax.contour(
            xx,
            yy,
            delta_chi2,
            levels=[lev],
            colors=[color],
            linestyles="--" if text == "90%" else "-",
            linewidths=1.4,
        )
        ax.plot(
            [],
            [],
            color=color,
            ls="--" if text == "90%" else "-",
            label=f"profile {text} (Δχ² = {lev})",
        )
    if best is not None:
        ax.plot(*best, marker="+", color="C3", ms=12, ls="", label="best fit")
    if sm is not None:
        ax.plot(*sm, marker="*", color="k", ms=11, ls="", label="Standard Model")
    ax.set_xlabel(label(names[0]))
    ax.set_ylabel(label(names[1]))
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


@styled
def posterior_vs_profile(
    draws: np.ndarray, scan, name: str, intervals: Mapping | None = None, units: str = ""
):
    """Posterior density (histogram and KDE) on the same axes as exp(−Δχ²/2), both peak-normed
    so that their shapes compare directly."""
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    x = scan.grid
    lo = min(x[0], np.quantile(draws, 0.001))
    hi = max(x[-1], np.quantile(draws, 0.999))
    xs = np.linspace(lo, hi, 400)
    kde = gaussian_kde(draws)(xs)
    ax.plot(xs, kde / kde.max(), color="C0", lw=1.8, label="posterior density (NUTS, KDE)")
    lik = np.exp(-0.5 * scan.delta_chi2)
    ax.plot(
        x,
        lik / lik.max(),
        color="C1",
        lw=1.6,
        ls="--",
        label=r"profile likelihood $e^{-\Delta\chi^2/2}$",
    )
    y = 1.04
    names = {
        "hdi_68": "posterior 68% HDI",
        "profile_68": "profile 68% (Wilks)",
        "published_68": "published 68%",
    }
    for key, color in (("hdi_68", "C0"), ("profile_68", "C1"), ("published_68", "C3")):
        if intervals and intervals.get(key) and None not in intervals[key]:
            a, b = intervals[key]
            ax.plot([a, b], [y, y], color=color, lw=3, solid_capstyle="butt")
            ax.text(b, y, "  " + names[key], fontsize=7, va="center", color=color)
            y += 0.06
    ax.set_ylim(0, y + 0.05)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(label(name) + (f" [{units}]" if units and "[" not in label(name) else ""))
    ax.set_ylabel("relative density / likelihood (peak = 1)")
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig
