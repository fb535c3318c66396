"""The figure of a difference budget (:func:`cevns_bayes.workflows.budget.difference_budget`):
the shift of the best POI value under each variation against the gap to the published value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.style import styled


@styled
def budget_figure(doc: Mapping[str, Any], groups: Sequence[str]):
    """Horizontal bars of the shifts, the nominal ±1σ band and the shift that would reach the
    published value (published − nominal = −gap) as a vertical line; ``groups`` orders the
    colours (:data:`cevns_bayes.workflows.budget.GROUPS`)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = doc["rows"]
    poi, units = doc["poi"], doc.get("units") or ""
    err = doc["nominal"].get("error")
    gap = doc.get("gap_to_published")
    cmap = plt.get_cmap("tab10")
    colors = {g: cmap(i) for i, g in enumerate(groups)}
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * max(len(rows), 4) + 1.6))
    y = np.arange(len(rows))
    shifts = [r["shift"] if r.get("shift") is not None else 0.0 for r in rows]
    bars = ax.barh(y, shifts, color=[colors.get(r["group"], "grey") for r in rows])
    for bar, r in zip(bars, rows):
        if not r.get("valid"):
            bar.set_hatch("//")
            bar.set_edgecolor("black")
        if r.get("shift") is None:
            ax.text(0, bar.get_y() + bar.get_height() / 2, " failed", va="center", fontsize=8)
    ax.set_yticks(y, [r["variation"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    handles = []
    if err:
        ax.axvspan(-err, err, color="grey", alpha=0.18, zorder=0)
        handles.append(Patch(color="grey", alpha=0.3, label="nominal ±1σ (HESSE)"))
    ax.axvline(0.0, color="black", lw=0.8)
    if gap is not None:
        line = ax.axvline(-gap, color="crimson", ls="--", lw=1.5)
        line.set_label(f"published − nominal = {-gap:+.3g}")
        handles.append(line)
    seen = []
    for r in rows:
        if r["group"] not in seen:
            seen.append(r["group"])
    handles += [Patch(color=colors.get(g, "grey"), label=g) for g in seen]
    ax.legend(handles=handles, fontsize=7, loc="best")
    u = f" [{units}]" if units else ""
    ax.set_xlabel(f"shift of the best {poi} from the nominal fit{u}")
    nom = doc["nominal"]["best"]
    ax.set_title(f"{doc['model']}: difference budget (nominal {poi} = {nom:.4g})", fontsize=10)
    fig.tight_layout()
    return fig
