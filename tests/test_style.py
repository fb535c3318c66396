"""The figure style (cevns_bayes/plots/style.py): Garwood Poisson intervals against the PDG's
table, the style applied inside and restored outside a figure function, PDFs beside PNGs."""

import matplotlib
import numpy as np
import pytest

from cevns_bayes.output import save_figures
from cevns_bayes.plots.style import hep_style, poisson_interval, styled


def test_garwood_intervals_match_the_pdg_table():
    # PDG, Statistics review, table of Poisson 68.27% central intervals: n = 0, 1, 2, 10
    lo, hi = poisson_interval([0, 1, 2, 10])
    np.testing.assert_allclose(lo, [0.0, 0.173, 0.708, 6.891], atol=1e-3)
    np.testing.assert_allclose(hi, [1.841, 3.300, 4.638, 14.267], atol=1e-3)
    # large n: n ± √n
    lo, hi = poisson_interval([10000])
    assert lo[0] == pytest.approx(9900.0, abs=1.0) and hi[0] == pytest.approx(10100.0, abs=1.5)


def test_style_applies_inside_and_restores_outside():
    before = matplotlib.rcParams["xtick.direction"]

    @styled
    def make():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        return fig, matplotlib.rcParams["xtick.direction"], matplotlib.rcParams["font.size"]

    fig, inside, size = make()
    assert inside == "in" and size == hep_style()["font.size"]
    assert matplotlib.rcParams["xtick.direction"] == before


def test_save_figures_writes_a_pdf_beside_each_png(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("reconstructed energy [PE]")
    (png,) = save_figures({"line.png": fig}, tmp_path)
    pdf = png.with_suffix(".pdf")
    assert png.exists() and pdf.read_bytes()[:5] == b"%PDF-"
