"""Figures of a toy study (:func:`cevns_bayes.toys.run_study`): coverage against the true value,
and the SBC rank histogram. They take the study's ``coverage.json`` document (and, for coverage,
the toy records) and return matplotlib figures."""

from __future__ import annotations

import numpy as np
from scipy import stats

from cevns_bayes.plots import prediction as _prediction  # noqa: F401  (selects the Agg backend)
from cevns_bayes.plots.style import styled


@styled
def coverage_figure(doc: dict, recs: list[dict]):
    """Coverage against the true value with ±1σ binomial bars and the nominal levels; for the
    profile method also the distribution of Δχ²(truth) against Wilks' χ²₁."""
    import matplotlib.pyplot as plt

    from cevns_bayes.inference.profile import DCHI2_1D

    profile = doc["method"] == "profile"
    ncols = 2 if profile else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 4.0), squeeze=False)
    ax = axes[0, 0]
    entries = doc.get("per_truth") or [
        {k: doc[k] for k in doc if k.startswith("coverage") or k == "n_toys"}
        | {"truth": doc["truth"]}
    ]
    x = np.array([e["truth"] for e in entries], float)
    span = (x.max() - x.min()) or max(abs(x[0]) * 0.2, 0.05)
    for tag, color, shift in (("68", "C0", -0.01), ("90", "C1", 0.01)):
        y = np.array([e[f"coverage_{tag}"] for e in entries], float)
        yerr = np.array([e[f"coverage_{tag}_err"] for e in entries], float)
        ax.errorbar(
            x + shift * span, y, yerr=yerr, fmt="o", color=color, capsize=3,
            label=f"{tag}% interval",
        )  # fmt: skip
        ax.axhline(doc[f"nominal_{tag}"], color=color, ls="--", lw=1)
    ax.set_xlim(x.min() - 0.3 * span, x.max() + 0.3 * span)
    ax.set_xlabel(f"true {poi_label(doc)}")
    ax.set_ylabel("coverage")
    ax.set_ylim(0.4, 1.03)
    what = "profile likelihood (Wilks)" if profile else "Bayesian HDI"
    ax.set_title(f"{doc['model']}: {what}, {doc['mode']} toys, n = {doc['n_toys']}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    if profile:
        ax = axes[0, 1]
        d = np.sort([r["dchi2_at_truth"] for r in recs])
        ax.step(d, np.arange(1, d.size + 1) / d.size, where="post", label="toys")
        grid = np.linspace(0, max(6.0, float(d.max()) if d.size else 6.0), 200)
        ax.plot(grid, stats.chi2(1).cdf(grid), "k--", lw=1, label=r"$\chi^2_1$ (Wilks)")
        for level in DCHI2_1D.values():
            ax.axvline(level, color="0.6", lw=0.8)
        ax.set_xlim(0, 6)
        ax.set_xlabel(r"$\Delta\chi^2$ at the truth")
        ax.set_ylabel("cumulative fraction")
        ax.set_title(f"KS p = {doc.get('wilks_ks_pvalue', float('nan')):.3f}", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def poi_label(doc: dict) -> str:
    units = doc.get("poi_units")
    return f"{doc['poi']} ({units})" if units else doc["poi"]


@styled
def sbc_figure(doc: dict):
    """SBC rank histogram with the 99% band of a uniform histogram."""
    import matplotlib.pyplot as plt

    hist = np.asarray(doc["rank_histogram"], float)
    n = hist.sum()
    k = hist.size
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    lo, hi = stats.binom.ppf([0.005, 0.995], n, 1.0 / k)
    ax.axhspan(lo, hi, color="0.85", label="99% band (uniform)")
    ax.axhline(n / k, color="0.4", lw=1)
    ax.bar(np.arange(k), hist, width=0.9, color="C0", label="toys")
    ax.set_xlabel(f"rank of the true {doc['poi']} among {k - 1} posterior draws")
    ax.set_ylabel("toys")
    ax.set_title(
        f"{doc['model']} SBC, n = {doc['n_toys']}: "
        f"χ² p = {doc['sbc_uniformity_pvalue']:.3f} ({len(doc['rank_bins'])} bins)",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
