"""Figures of the fit checks (:mod:`cevns_bayes.inference.impacts`): pulls and constraints of
the profile fit beside the posterior's, the impact ranking of the nuisances on a POI, and the
correlation matrix. They take the dictionaries of ``profile.json`` / ``summary.json``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.style import styled


@styled
def pulls(profile: Mapping | None, bayes: Mapping | None, name: str):
    """Each nuisance's pull (θ̂ − θ₀)/σ₀ with its constraint σ̂/σ₀ as the error bar: the
    profile fit (HESSE) and the posterior (mean, sd) side by side; ±1 and ±2 shaded."""
    import matplotlib.pyplot as plt

    names = list((profile or bayes or {}).keys())
    fig, ax = plt.subplots(figsize=(6.0, 0.38 * len(names) + 1.4))
    y = np.arange(len(names))
    ax.axvspan(-2, 2, color="#fff3b0", zorder=0)
    ax.axvspan(-1, 1, color="#c8f0c8", zorder=0)
    for doc, off, label, color in ((profile, -0.15, "profile (HESSE)", "k"),
                                   (bayes, 0.15, "posterior", "C3")):  # fmt: skip
        if not doc:
            continue
        p = np.array([doc[n]["pull"] for n in names], float)
        c = np.array([doc[n]["constraint"] or np.nan for n in names], float)
        ax.errorbar(p, y + off, xerr=c, fmt="o", color=color, ms=4, capsize=2, label=label)
    ax.axvline(0, color="0.4", lw=0.7)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(-3, 3)
    ax.set_xlabel(r"pull $(\hat\theta-\theta_0)/\sigma_0$ (bar: constraint $\hat\sigma/\sigma_0$)")
    ax.set_title(f"{name}: nuisance pulls and constraints", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


@styled
def impact_ranking(profile: Mapping | None, bayes: Mapping | None, name: str, units: str = ""):
    """The nuisances ranked by their impact on the POI: the profile's post-fit (filled) and
    pre-fit (open) shifts of the best fit for θ = θ̂ ± σ (up: blue, down: red), and the
    posterior's signed explained sd (black diamonds)."""
    import matplotlib.pyplot as plt

    ranking = (profile or bayes)["ranking"]
    names = [r["nuisance"] for r in ranking]
    fig, ax = plt.subplots(figsize=(6.4, 0.38 * len(names) + 1.5))
    y = np.arange(len(names))
    if profile:
        by = {r["nuisance"]: r for r in profile["ranking"]}
        for key, color in (("up", "C0"), ("down", "C3")):
            pre = np.array([by[n][f"prefit_{key}"] for n in names])
            post = np.array([by[n][f"postfit_{key}"] for n in names])
            ax.barh(y, pre, height=0.6, color="none", edgecolor=color, lw=1.0)
            ax.barh(y, post, height=0.6, color=color, alpha=0.6, label=f"θ̂ {key} (post-fit)")
    if bayes:
        byb = {r["nuisance"]: r for r in bayes["ranking"]}
        v = np.array([byb[n]["impact"] if n in byb else np.nan for n in names])
        ax.plot(v, y, "kD", ms=4, label="posterior: explained sd")
    ax.axvline(0, color="k", lw=0.7)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    poi = (profile or bayes)["poi"]
    ax.set_xlabel(f"shift of {poi}" + (f" [{units}]" if units else ""))
    ax.set_title(f"{name}: impacts on {poi} (open: pre-fit)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


@styled
def correlation_matrix(doc: Mapping, name: str, title: str):
    """The correlation matrix ``doc`` (``{"names", "matrix"}``) as a coloured table."""
    import matplotlib.pyplot as plt

    names, m = doc["names"], np.asarray(doc["matrix"], float)
    fig, ax = plt.subplots(figsize=(0.5 * len(names) + 2.5, 0.5 * len(names) + 2.0))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8, label="correlation")
    ax.set_title(f"{name}: {title}", fontsize=10)
    fig.tight_layout()
    return fig
