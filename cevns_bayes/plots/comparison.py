"""The figure of model comparison: the Bayes factor against the width of the prior."""

from __future__ import annotations

from typing import Any

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.style import styled


@styled
def bayes_factor_width(curve: dict[str, Any], name: str):
    """ln B (analysis vs SM) against the fraction f of the POI box kept around the SM point
    (:func:`cevns_bayes.workflows.comparison.width_curve`), with Jeffreys' scale marked."""
    import matplotlib.pyplot as plt

    f = np.array([r["fraction"] for r in curve["curve"]])
    b = np.array([r["log_bayes_factor"] for r in curve["curve"]])
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    ax.plot(f, b, "o-", color="C0", lw=1.6, ms=3.5)
    for level, text in ((1.0, "substantial"), (2.3, "strong"), (4.6, "decisive")):
        for sign in (1, -1):
            ax.axhline(sign * level, color="0.6", lw=0.7, ls=":")
        ax.text(
            f.min(), level, f" {text} (|ln B| = {level:g})", fontsize=7, va="bottom", color="0.4"
        )
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("fraction f of the spec's POI box kept around the SM point")
    ax.set_ylabel(f"ln B ({name} vs SM)")
    boxes = curve["curve"][-1]["box"]
    names = ", ".join(f"{p} ∈ [{a:.3g}, {b_:.3g}]" for p, (a, b_) in zip(curve["pois"], boxes))
    ax.set_title(f"{name}: Bayes factor against the prior width (f = 1: {names})", fontsize=8)
    ax.grid(alpha=0.25, which="both")
    fig.tight_layout()
    return fig
