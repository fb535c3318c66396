"""The figure of an exclusion scan: 90% upper limits on a POI against the scanned parameter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)


def _log_axis(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return bool(v.size > 1 and np.all(v > 0) and v.max() / v.min() > 20.0)


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
