"""Figures of the comparison (``cevns-bayes compare``): the posterior against the profile
likelihood, per POI and, for two POIs, in the plane. They take the arrays the report reads
from the result files (:mod:`cevns_bayes.report`) and return matplotlib figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import numpy as np

from cevns_bayes.plots import profile as pp
from cevns_bayes.plots.style import styled


@styled
def posterior_vs_profile_1d(
    draws: np.ndarray,
    grid: np.ndarray,
    delta_chi2: np.ndarray,
    poi: str,
    intervals: Mapping[str, Sequence[float] | None],
    units: str = "",
):
    """Posterior draws of ``poi`` over its profile Δχ² scan (``grid``, ``delta_chi2``), with
    the 68% intervals ``intervals`` (``hdi_68``, ``profile_68``, ``published_68``)."""
    scan = SimpleNamespace(grid=grid, delta_chi2=delta_chi2, poi=poi)
    return pp.posterior_vs_profile(draws, scan, poi, intervals, units)


@styled
def posterior_over_profile_2d(
    axes: Sequence[np.ndarray],
    delta_chi2_2d: np.ndarray,
    pois: Sequence[str],
    *,
    best: Sequence[float],
    sm: Sequence[float],
    posterior: Sequence[np.ndarray],
    density: np.ndarray,
    levels: Sequence[float],
):
    """The profile-likelihood regions in the plane of two POIs over the posterior draws
    ``posterior``, with the posterior's 68% / 90% highest-density contours: ``density`` on the
    grid ``axes`` and its ``levels`` (:func:`cevns_bayes.report.credible_levels_2d`)."""
    fig = pp.contour_2d(
        axes,
        delta_chi2_2d,
        pois,
        best=best,
        sm=sm,
        posterior=posterior,
        title="profile regions over the posterior",
    )
    ax = fig.axes[0]
    xx, yy = np.meshgrid(*axes, indexing="ij")
    ax.contour(
        xx,
        yy,
        density,
        levels=sorted(levels),
        colors=["m", "m"],
        linestyles=[":", "-."],
        linewidths=1.5,
    )
    ax.plot([], [], color="m", ls="-.", label="posterior 68% HPD")
    ax.plot([], [], color="m", ls=":", label="posterior 90% HPD")
    ax.legend(fontsize=7, loc="upper right")
    return fig
