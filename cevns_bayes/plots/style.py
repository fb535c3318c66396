"""The field's figure style: mplhep's experiment-neutral ROOT style, sized for the package's
multi-panel figures, with histograms drawn as histograms and counts as points with Poisson
(Garwood) error bars.

Every public figure function of :mod:`cevns_bayes.plots` is wrapped in :func:`styled`, which
applies the style while the figure is made and leaves the caller's matplotlib settings as they
were. mplhep is the scikit-hep package HEP figures are made with (its ROOT style has the
inward ticks on all four sides, minor ticks and axis labels at the ends of the axes that the
field's papers use); its experiment styles (ATLAS, CMS, ...) carry experiment branding and
sizes for single 10 × 10 inch panels, so the package takes ROOT and scales its fonts and ticks
to its own figure sizes.
"""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

#: the coverage of a ±1σ error bar
ONE_SIGMA = 0.682689492137086


def hep_style() -> dict:
    """mplhep's ROOT style with fonts and ticks scaled to figures of 4-11 inches."""
    import mplhep

    style = dict(mplhep.style.ROOT)
    style.update(
        {
            "font.size": 11,
            "axes.linewidth": 1.1,
            "xtick.major.size": 6,
            "xtick.minor.size": 3,
            "ytick.major.size": 6,
            "ytick.minor.size": 3,
            "xtick.major.pad": 4,
            "figure.figsize": (6.4, 4.8),
            "legend.fontsize": "small",
            "savefig.bbox": "tight",
            # mathtext falls back to the cursive family for some glyphs; none is installed on
            # a bare machine, and matplotlib would log "findfont: ... cursive" on every figure
            "font.cursive": ["TeX Gyre Heros", "DejaVu Sans"],
        }
    )
    return style


def styled(fn):
    """Run a figure function under :func:`hep_style` (the caller's rcParams are restored)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(hep_style()):
            return fn(*args, **kwargs)

    return wrapper


def poisson_interval(counts, cl: float = ONE_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """Garwood's central interval for the mean of a Poisson count n (PDG, "Statistics"):
    [χ²_{(1−cl)/2}(2n)/2, χ²_{(1+cl)/2}(2n + 2)/2], with lower 0 for n = 0."""
    n = np.asarray(counts, float)
    a = 0.5 * (1.0 - cl)
    lo = np.where(n > 0, 0.5 * stats.chi2.ppf(a, 2.0 * np.maximum(n, 1e-300)), 0.0)
    hi = 0.5 * stats.chi2.ppf(1.0 - a, 2.0 * (n + 1.0))
    return lo, hi


def data_points(ax, edges, counts, *, widths=None, offset=None, label="data", **kw):
    """Counts per bin as points at the bin centres with Poisson (Garwood) error bars, divided
    by ``widths`` (a density) and moved by ``offset`` (e.g. a subtracted background)."""
    edges = np.asarray(edges, float)
    counts = np.asarray(counts, float)
    widths = np.ones(counts.size) if widths is None else np.asarray(widths, float)
    shift = np.zeros(counts.size) if offset is None else np.asarray(offset, float)
    lo, hi = poisson_interval(counts)
    centres = 0.5 * (edges[1:] + edges[:-1])
    y = (counts - shift) / widths
    yerr = np.vstack([(counts - lo) / widths, (hi - counts) / widths])
    kw.setdefault("color", "k")
    return ax.errorbar(
        centres, y, yerr=yerr, xerr=0.5 * np.diff(edges), fmt="o", ms=3.5, lw=1.0, label=label, **kw
    )


def stacked_histogram(ax, edges, layers, *, labels, colors, widths=None):
    """Stacked filled histograms (mplhep.histplot), each layer divided by ``widths``; returns
    the top of the stack."""
    import mplhep

    edges = np.asarray(edges, float)
    widths = np.ones(edges.size - 1) if widths is None else np.asarray(widths, float)
    dens = [np.asarray(layer, float) / widths for layer in layers]
    mplhep.histplot(
        dens,
        bins=edges,
        ax=ax,
        stack=True,
        histtype="fill",
        label=list(labels),
        color=list(colors),
        alpha=0.85,
    )
    return np.sum(dens, axis=0) if dens else np.zeros(edges.size - 1)
