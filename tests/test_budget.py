"""The difference budget of :mod:`cevns_bayes.workflows.budget` (docs/physics.md §7): a reduced
budget of ``xsec`` on the release data, its table, figure (:mod:`cevns_bayes.plots.budget`) and
files, and (slow) the full budget."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from _figures import assert_drawn_png

from cevns_bayes.errors import ConfigError
from cevns_bayes.plots.budget import budget_figure
from cevns_bayes.spec import load_spec
from cevns_bayes.workflows.budget import (
    GROUPS,
    budget_table_markdown,
    difference_budget,
    variation_names,
    write_budget,
)

FAST_VARIATIONS = ["time_efficiency_off", "nuisance_fixed:r_n_scale"]


@pytest.fixture(scope="module")
def xsec():
    return load_spec("xsec")


@pytest.fixture(scope="module")
def small_budget(xsec):
    return difference_budget(xsec, variations=FAST_VARIATIONS)


def _row(doc, name):
    (row,) = [r for r in doc["rows"] if r["variation"] == name]
    return row


# --- cheap checks (no fit) ---------------------------------------------------------------------
def test_variation_list_of_xsec_is_the_section_7_budget(xsec):
    names = variation_names(xsec)
    # the default flux has the pulse in its times: no pulse rows, the 2018 row stands for them
    assert names[:10] == [
        "flux:file_2018",
        "flux:analytic",
        "time_efficiency_off",
        "form_factor:helm",
        "form_factor:klein_nystrand",
        "couplings:tree",
        "couplings:radiative",
        "couplings:giunti",
        "binning:fine",
        "binning:uniform:12x12",
    ]
    assert names[10:] == [f"nuisance_fixed:{n}" for n in xsec.nuisances]
    assert len(names) == 19
    # with the 2018 file as the nominal flux the pulse rows come back
    from cevns_bayes.paths import FLUX_2018_FILE

    names_2018 = variation_names(xsec, flux=FLUX_2018_FILE)
    assert names_2018[:7] == [
        "flux:2021-derived",
        "flux:analytic",
        "pulse_shape:triangle",
        "pulse_shape:box",
        "pulse_fwhm_ns:250",
        "pulse_fwhm_ns:600",
        "time_efficiency_off",
    ]


def test_two_poi_spec_is_rejected():
    with pytest.raises(ConfigError, match="exactly one"):
        difference_budget(load_spec("flavored"))


def test_unknown_variation_is_rejected(xsec):
    with pytest.raises(ConfigError, match="unknown variation"):
        difference_budget(xsec, variations=["pulse_shape:square"])


def _synthetic(shifts, gap=7.5, err=29.0):
    rows = [
        {
            "group": g,
            "variation": v,
            "best": 172.5 + s,
            "shift": s,
            "shift_in_sigma": s / err,
            "valid": True,
        }
        for g, v, s in shifts
    ]
    return {
        "model": "xsec",
        "poi": "sigma",
        "units": "1e-40 cm2",
        "nominal": {"best": 172.5, "error": err},
        "published": 172.5 - gap,
        "gap_to_published": gap,
        "rows": rows,
    }


def test_closing_line_says_which_part_of_the_gap_is_accounted_for():
    partial = budget_table_markdown(
        _synthetic([("flux", "flux:analytic", -3.0), ("binning", "binning:fine", +2.0)])
    )
    assert "about 40% of the gap" in partial
    assert "not explained by any listed modelling choice" in partial
    whole = budget_table_markdown(_synthetic([("pulse", "pulse_fwhm_ns:600", -9.0)]))
    assert "within the spread of the listed modelling choices" in whole
    none = budget_table_markdown(
        _synthetic([("time_efficiency", "time_efficiency_off", -9.8), ("binning", "b", 1.0)])
    )
    assert "not accounted for by these choices" in none  # the ε_T row is not counted


# --- a reduced budget on the release data ------------------------------------------------------
def test_nominal_fit_is_in_the_published_band(small_budget):
    nom = small_budget["nominal"]
    assert nom["valid"]
    assert 150.0 <= nom["best"] <= 195.0
    assert 22.0 <= nom["error"] <= 35.0  # HESSE: half the published 68% width band (45-70)
    assert small_budget["published"] == pytest.approx(165.0)
    assert small_budget["gap_to_published"] == pytest.approx(nom["best"] - 165.0)
    assert nom["settings"]["time_efficiency"] is True
    assert nom["settings"]["binning"] == "default"


def test_rows_are_the_requested_variations(small_budget):
    assert [r["variation"] for r in small_budget["rows"]] == FAST_VARIATIONS
    for r in small_budget["rows"]:
        assert r["valid"]
        assert r["shift"] == pytest.approx(r["best"] - small_budget["nominal"]["best"])
        assert r["shift_in_sigma"] == pytest.approx(r["shift"] / small_budget["nominal"]["error"])


def test_time_efficiency_off_lowers_sigma(small_budget):
    # ε_T(t) ≤ 1: without it the model predicts more CEvNS events per unit σ (and more BRN/NIN
    # background under the signal), so the same observed excess needs a smaller σ.
    # An independent computation with the 2018 flux gives 340 SM events without ε_T and 316
    # with it (7.6% more per σ); BRN/NIN rise by 0.5% / 8%, so σ falls by a little more than
    # 1 - 1/1.076 = 7%: between 4% and 10% of the nominal best fit
    row = _row(small_budget, "time_efficiency_off")
    assert -0.10 < row["shift"] / small_budget["nominal"]["best"] < -0.04
    assert row["note"]  # flagged as a change of the fitted model


def test_fixing_a_nuisance_moves_little_and_equals_dropping_it(small_budget, xsec):
    from cevns_bayes.inference.bayes import build_forward_model
    from cevns_bayes.inference.profile import ProfileLikelihood

    row = _row(small_budget, "nuisance_fixed:r_n_scale")
    assert abs(row["shift_in_sigma"]) < 0.5
    # the same fit as a spec with the [nuisances.r_n_scale] table deleted
    nuis = {k: v for k, v in xsec.nuisances.items() if k != "r_n_scale"}
    reduced = dataclasses.replace(xsec, nuisances=nuis)  # re-validated in __post_init__
    assert "r_n_scale" not in reduced.free_names
    model = build_forward_model(reduced)
    best = ProfileLikelihood(reduced, model).fit()
    assert best.values["sigma"] == pytest.approx(row["best"], rel=1e-3)


def test_budget_is_json_serializable(small_budget):
    text = json.dumps(small_budget, allow_nan=False)
    assert json.loads(text)["poi"] == "sigma"
    assert isinstance(small_budget["timing_s"], float)


def test_markdown_has_one_row_per_variation(small_budget):
    md = budget_table_markdown(small_budget)
    table = [ln for ln in md.splitlines() if ln.startswith("| ")]
    body = table[2:]  # header and separator
    assert len(body) == len(FAST_VARIATIONS)
    for name, line in zip(FAST_VARIATIONS, body):
        assert f"| {name} |" in line
    assert "Gap to the published sigma" in md.splitlines()[-1]


def test_figure_has_one_bar_per_variation(small_budget):
    import matplotlib.pyplot as plt

    fig = budget_figure(small_budget, GROUPS)
    try:
        ax = fig.axes[0]
        assert len(ax.patches) >= len(FAST_VARIATIONS)
        xs = [ln.get_xdata()[0] for ln in ax.get_lines()]
        assert any(np.isclose(x, -small_budget["gap_to_published"]) for x in xs)
    finally:
        plt.close(fig)


def test_write_budget_writes_json_markdown_and_figure(small_budget, tmp_path):
    paths = write_budget(small_budget, tmp_path / "xsec")
    names = ["budget.json", "budget.md", "budget.png"]
    assert [p.name for p in paths] == names
    # no temporary files; the figure also as PDF
    assert sorted(p.name for p in (tmp_path / "xsec").iterdir()) == sorted([*names, "budget.pdf"])
    assert json.loads((tmp_path / "xsec" / "budget.json").read_text()) == json.loads(
        json.dumps(small_budget)
    )
    assert (tmp_path / "xsec" / "budget.md").read_text() == budget_table_markdown(
        small_budget
    ) + "\n"
    assert_drawn_png(tmp_path / "xsec" / "budget.png")


# --- the full budget ---------------------------------------------------------------------------
@pytest.mark.slow
def test_full_xsec_budget_every_row_valid(xsec):
    doc = difference_budget(xsec)
    assert [r["variation"] for r in doc["rows"]] == variation_names(xsec)
    bad = [r["variation"] for r in doc["rows"] if not r["valid"]]
    assert not bad, bad
    json.dumps(doc, allow_nan=False)
    md = budget_table_markdown(doc)
    assert sum(ln.startswith("| ") for ln in md.splitlines()) == len(doc["rows"]) + 2
