"""The figure of an exclusion scan: 90% upper limits on a POI against the scanned parameter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.style import styled


def _log_axis(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return bool(v.size > 1 and np.all(v > 0) and v.max() / v.min() > 20.0)


@styled
def exclusion_curves(
    x: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    *,
    x_label: str,
    y_label: str,
    title: str = "",
):
    """Upper-limit curves (label → limits, one per x; nan where none) against ``x``, the
    excluded side shaded for the first curve. Log axes where the values span more than a
    factor 20 and are positive. Returns the figure (saved by :mod:`cevns_bayes.output`)."""
    import matplotlib.pyplot as plt

    x = np.asarray(x, float)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    styles = [("C0", "-", 1.8), ("C1", "--", 1.5), ("C2", ":", 1.6), ("C3", "-.", 1.4)]
    ys = []
    for k, (name, y) in enumerate(curves.items()):
        y = np.asarray(y, float)
        ys.append(y)
        color, ls, lw = styles[k % len(styles)]
        ax.plot(x, y, color=color, ls=ls, lw=lw, marker="o", ms=2.5, label=name)
        if k == 0:
            top = np.nanmax(y) * (3.0 if _log_axis(y) else 1.3) if np.any(np.isfinite(y)) else 1
            ax.fill_between(x, y, top, color=color, alpha=0.08, lw=0)
    all_y = np.concatenate(ys) if ys else np.array([])
    if _log_axis(x):
        ax.set_xscale("log")
    if _log_axis(all_y):
        ax.set_yscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.25, which="both")
    fig.tight_layout()
    return fig


#: Δχ² of the 2-D 90% region (χ²₂ quantile)
DCHI2_2D_90 = 4.605


@styled
def exclusion_region(
    x: Sequence[float],
    values: Sequence[Sequence[float]],
    nll: Sequence[Sequence[float]],
    allowed: Sequence[Sequence[Sequence[float]]],
    curves: Mapping[str, Sequence[float]],
    *,
    x_label: str,
    y_label: str,
    title: str = "",
):
    """The (x, g) plane of a scan: the profile Δχ² from the overall minimum over every point
    (colour, clipped at 30) with its 2-D 90% contour (Δχ² = 4.61), the bands allowed at each
    x (Δχ² < 2.71 from that x's own best fit: vertical bars, every island) and the Bayesian
    upper-limit ``curves`` (label → one limit per x). ``values[i]``/``nll[i]`` are the POI
    values and −ln L of the profile curve at ``x[i]``; each x may have its own values."""
    import matplotlib.pyplot as plt

    x = np.asarray(x, float)
    fig, ax = plt.subplots(figsize=(6.8, 4.8))
    nll_min = min(float(np.min(v)) for v in nll)
    # a common POI axis: every point's curve interpolated onto the union of its values
    top = max(float(np.max(v)) for v in values)
    positive = [np.asarray(v, float)[np.asarray(v, float) > 0] for v in values]
    lo_pos = min(float(p.min()) for p in positive if p.size)
    log_y = top / lo_pos > 50
    g_axis = np.geomspace(lo_pos, top, 600) if log_y else np.linspace(0.0, top, 600)
    z = np.full((g_axis.size, x.size), np.nan)
    for i, (v, n) in enumerate(zip(values, nll)):
        v, n = np.asarray(v, float), np.asarray(n, float)
        inside = (g_axis >= v.min()) & (g_axis <= v.max())
        z[inside, i] = 2.0 * (np.interp(g_axis[inside], v, n) - nll_min)
    mesh = ax.pcolormesh(
        x, g_axis, np.clip(z, 0, 30), shading="nearest", cmap="Greys_r", vmin=0, vmax=30
    )
    fig.colorbar(mesh, ax=ax, label="profile Δχ² from the overall minimum")
    if x.size > 1:
        ax.contour(x, g_axis, z, levels=[DCHI2_2D_90], colors="C3", linewidths=1.6)
    ax.plot([], [], color="C3", lw=1.6, label="2-D 90% region (Δχ² = 4.61)")
    first_island = True
    for i, bands in enumerate(allowed):
        for k, (a, b) in enumerate(bands):
            lo = max(a, lo_pos) if log_y else a
            island = k > 0
            label = None
            if i == 0 and k == 0:
                label = "allowed at each x (Δχ² < 2.71)"
            elif island and first_island:
                label, first_island = "second allowed band at that x", False
            ax.plot(
                [x[i], x[i]],
                [lo, b],
                color="C4" if island else "C0",
                lw=5 if island else 3,
                alpha=0.9 if island else 0.6,
                marker="_" if island else None,
                ms=8,
                label=label,
                zorder=4 if island else 3,
            )
    styles = [("C1", "--"), ("C2", ":")]
    for k, (name, y) in enumerate(curves.items()):
        color, ls = styles[k % len(styles)]
        ax.plot(x, np.asarray(y, float), color=color, ls=ls, lw=1.6, label=name)
    if _log_axis(x):
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylim(g_axis[0], g_axis[-1])
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
