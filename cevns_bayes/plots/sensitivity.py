"""The figure of prior sensitivity: how far each POI summary moves under each prior change."""

from __future__ import annotations

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.style import styled


@styled
def sensitivity_bars(rows, name: str, flag_sd: float = 0.2):
    """Shifts of the posterior mean and of the 5% / 95% quantiles, in posterior sd, for each
    (prior, change) of ``rows`` (:func:`cevns_bayes.inference.sensitivity.sensitivity_rows`),
    one panel per POI; the ±``flag_sd`` band shaded, unreliable weights (Pareto k ≥ 0.7) hatched."""
    import matplotlib.pyplot as plt

    pois = list(dict.fromkeys(r["poi"] for r in rows))
    labels = list(dict.fromkeys(f"{r['prior']}: {r['change']}" for r in rows))
    fig, axes = plt.subplots(
        1, len(pois), figsize=(4.2 * len(pois) + 2.0, 0.28 * len(labels) + 1.6), squeeze=False
    )
    y = np.arange(len(labels))
    for ax, poi in zip(axes[0], pois):
        sel = {f"{r['prior']}: {r['change']}": r for r in rows if r["poi"] == poi}
        for key, color, off in (("mean", "C0", 0.0), ("q05", "C1", -0.25), ("q95", "C2", 0.25)):
            v = np.array([sel[lab][key] if lab in sel else np.nan for lab in labels])
            bad = np.array([not sel[lab]["reliable"] if lab in sel else False for lab in labels])
            ax.barh(y + off, v, height=0.24, color=color, label=key, alpha=0.85)
            if bad.any():
                ax.barh(
                    (y + off)[bad],
                    v[bad],
                    height=0.24,
                    color="none",
                    hatch="///",
                    edgecolor="k",
                    lw=0,
                )
        ax.axvspan(-flag_sd, flag_sd, color="0.9", zorder=0)
        ax.axvline(0, color="k", lw=0.7)
        ax.set_title(f"{name}: {poi}", fontsize=9)
        ax.set_xlabel("shift [posterior sd]")
        ax.set_yticks(y)
        ax.set_yticklabels(labels if ax is axes[0][0] else [], fontsize=7)
        ax.invert_yaxis()
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
