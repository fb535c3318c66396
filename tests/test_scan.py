"""``cevns-bayes scan``: exclusion curves from a test-local plug-in with a fixed mass.

The spec frees g_toy and fixes m_toy_mev (tests/user_physics/toy_mediator.py); the scan runs
three masses with a small Bayesian grid, in this process, its box following the toy's
propagator (``box = "propagator"``, q = 10 MeV: the toy's limit scales exactly so). Checked:
the files, resuming (a second run computes nothing, a lost point is recomputed alone), the
profile limit against an independent profile fit at the limit (Δχ² = 2.706), the Bayesian
limits against a finer independent grid on each point's box (the posterior mass below them is
0.90), the boxes and the profile curve with its allowed band, the ``[scan]`` errors, and the
command line.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cevns_bayes.cli import main
from cevns_bayes.errors import ConfigError
from cevns_bayes.inference import limits as lim
from cevns_bayes.inference.grid import LaplaceGrid
from cevns_bayes.inference.profile import ProfileLikelihood
from cevns_bayes.model.statistical import StatisticalModel
from cevns_bayes.spec import load_spec
from cevns_bayes.workflows.exclusion import point_path, resolve_scan, run_scan

HERE = Path(__file__).parent / "user_physics"
SPEC_TEXT = f"""
[analysis]
name = "toy_scan"
include = ["{(Path(__file__).parents[1] / "models" / "shared" / "csi2021_nuisances.toml")}"]

[physics]
modules = ["{HERE / "toy_mediator.py"}"]

[pois.g_toy]
prior = "flat"
lower = 0.0
upper = 80.0
initial = 10.0

[fixed]
m_toy_mev = 10.0

[scan]
parameter = "m_toy_mev"
values = [3.0, 10.0, 30.0]
limit_on = "g_toy"
box = "propagator"
box_q_mev = 10.0

[model]
form_factor = "helm"
couplings = "tree"
"""
GRID = {"grid_linear": 8, "grid_log": 5}


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scan")
    path = folder / "toy_scan.toml"
    path.write_text(SPEC_TEXT)
    spec = load_spec(path)
    doc = run_scan(spec, folder / "out", workers=1, progress=False, **GRID)
    return spec, folder, doc


def test_the_scan_writes_its_files(scan_dir):
    spec, folder, doc = scan_dir
    out = folder / "out"
    assert doc["parameter"] == "m_toy_mev" and doc["limit_on"] == "g_toy"
    assert doc["scanned"] == [3.0, 10.0, 30.0]
    assert doc["units"] == {"x": "MeV", "limit": ""}
    assert doc["timing"]["computed"] == 3
    saved = json.loads((out / "limits.json").read_text())
    assert saved["spec"]["scan"]["values"] == [3.0, 10.0, 30.0]
    assert [p["x"] for p in saved["profile"]] == [3.0, 10.0, 30.0]
    prof = np.array([p["upper_90"] for p in saved["profile"]])
    flat = np.array([b["upper_90_flat"] for b in saved["bayes"]])
    log = np.array([b["upper_90_log"] for b in saved["bayes"]])
    # a heavier mediator is weaker: the limits on g grow with the mass
    assert np.all(np.diff(prof) > 0) and np.all(np.diff(flat) > 0)
    assert np.all((0 < log) & (log <= flat))
    # each point's box follows the propagator: 80 x sqrt((m^2 + 10^2) / (10^2 + 10^2))
    factor = np.sqrt((np.array([3.0, 10.0, 30.0]) ** 2 + 100.0) / 200.0)
    np.testing.assert_allclose([p["box"][1] for p in saved["profile"]], 80.0 * factor)
    np.testing.assert_allclose(
        [b["log_prior_min"] for b in saved["bayes"]], 80.0 * lim.LOG_PRIOR_MIN_FRACTION * factor
    )
    assert np.all(prof < 80.0 * factor)
    # the toy's limit scales exactly as the box: g / box is the same at every mass
    np.testing.assert_allclose(prof / factor, prof[1], rtol=0.02)
    # the profile curve: 0 at the best fit, 2.706 at the limit, one allowed band [0, limit]
    for p in saved["profile"]:
        g, d = np.array(p["curve"]["values"]), np.array(p["curve"]["delta_chi2"])
        assert np.all(np.diff(g) > 0) and g[0] == 0.0 and g[-1] <= p["box"][1] + 1e-9
        assert d.min() >= -2e-3  # fits at fixed g agree with the best fit to MIGRAD's tolerance
        assert np.interp(p["upper_90"], g, d) == pytest.approx(lim.DCHI2_90, abs=0.15)
        assert len(p["allowed"]) == 1 and p["allowed"][0][0] == 0.0
        assert p["allowed"][0][1] == pytest.approx(p["upper_90"], rel=0.03)
    assert (out / "region.png").stat().st_size > 10_000
    rows = list(csv.reader((out / "limits.csv").open()))
    assert rows[0][:2] == ["m_toy_mev [MeV]", "profile_upper_90 g_toy"]
    assert len(rows) == 4 and float(rows[2][1]) == pytest.approx(prof[1], rel=1e-5)
    assert (out / "limits.png").stat().st_size > 10_000
    assert sorted(p.name for p in (out / "points").iterdir()) == [
        "x_10.json",
        "x_3.json",
        "x_30.json",
    ]


def test_a_second_run_computes_nothing_and_a_lost_point_is_recomputed(scan_dir):
    spec, folder, first = scan_dir
    out = folder / "out"
    again = run_scan(spec, out, workers=1, progress=False, plots=False, **GRID)
    assert again["timing"]["computed"] == 0
    assert again["profile"] == first["profile"] and again["bayes"] == first["bayes"]
    point_path(out, 10.0).unlink()  # as if the run had been interrupted before this point
    resumed = run_scan(spec, out, workers=1, progress=False, plots=False, **GRID)
    assert resumed["timing"]["computed"] == 1
    np.testing.assert_allclose(
        [p["upper_90"] for p in resumed["profile"]],
        [p["upper_90"] for p in first["profile"]],
        rtol=1e-6,
    )
    # other settings: the points no longer match and are recomputed
    shutil.copytree(out, folder / "other")
    other = run_scan(
        spec,
        folder / "other",
        scan=resolve_scan(spec, values=[30.0]),
        workers=1,
        progress=False,
        plots=False,
        grid_linear=6,
        grid_log=4,
    )
    assert other["timing"]["computed"] == 1 and other["scanned"] == [30.0]


def test_the_limits_hold_against_independent_computations(scan_dir):
    spec, _folder, doc = scan_dir
    x = 30.0
    p = next(q for q in doc["profile"] if q["x"] == x)
    b = next(q for q in doc["bayes"] if q["x"] == x)
    # profile: an ordinary spec with the mass fixed at x, fitted at the limit and at the best
    fixed_spec = type(spec)(**{**spec.__dict__, "fixed": {"m_toy_mev": x}, "scan": None})
    pl = ProfileLikelihood(StatisticalModel(fixed_spec))
    best = min(
        (pl.fit(start=s, hesse=False) for s in ({}, {"g_toy": p["best"] + 1e-3})),
        key=lambda r: r.nll,
    )
    at = pl.fit({"g_toy": p["upper_90"]}, best.values, hesse=False)
    assert 2.0 * (at.nll - best.nll) == pytest.approx(lim.DCHI2_90, abs=0.02)
    # Bayes: the scan's Laplace posterior on a finer grid, integrated independently
    top = next(q for q in doc["profile"] if q["x"] == x)["box"][1]
    lap = LaplaceGrid(StatisticalModel(lim.scan_spec(spec, "m_toy_mev", "g_toy", upper=top)))
    g = np.linspace(0.0, top, 201)
    lp = np.array([lap.point(np.array([v, x]), lap.u0)[0] for v in g])
    dens = np.exp(lp - lp.max())
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(g))])
    assert np.interp(b["upper_90_flat"], g, cdf / cdf[-1]) == pytest.approx(0.90, abs=0.01)
    cut = b["log_prior_min"]
    lg = np.geomspace(cut, top, 201)
    lpl = np.interp(np.log(lg), np.log(g[1:]), lp[1:])  # ln p is smooth in g
    dl = np.exp(lpl - lpl.max())
    cl = np.concatenate([[0.0], np.cumsum(0.5 * (dl[1:] + dl[:-1]) * np.diff(np.log(lg)))])
    assert np.interp(b["upper_90_log"], lg, cl / cl[-1]) == pytest.approx(0.90, abs=0.02)


def test_the_command_line_scan(scan_dir, capsys):
    _spec, folder, first = scan_dir
    args = ["scan", str(folder / "toy_scan.toml"), "--out", str(folder / "out"), "--workers", "1"]
    args += ["--grid-points", "8", "--grid-log-points", "5", "--progress", "off", "--no-plots"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "g_toy: 90% upper limits over 3 values of m_toy_mev [MeV]" in text
    assert "(0 points computed" in text
    bad = ["scan", str(folder / "toy_scan.toml"), "--out", str(folder / "x"), "--points", "4"]
    assert main(bad) == 2
    assert "--points re-spaces a range" in capsys.readouterr().err


def test_allowed_intervals_find_every_band():
    # a double well: Δχ² = 0 at g = 1 and 0.5 at g = 3, above 2.71 between them
    g = np.linspace(0.0, 4.0, 401)
    d = 4.0 * (g - 1.0) ** 2 * (g - 3.0) ** 2 + 0.125 * (g - 1.0) ** 2
    bands = lim.allowed_intervals(g, d, lim.DCHI2_90, best=1.0)
    assert len(bands) == 2
    for (a, b), centre in zip(bands, (1.0, 3.0)):
        assert a < centre < b
        for end in (a, b):  # each end is a crossing of the level
            exact = np.interp(end, g, d)
            assert exact == pytest.approx(lim.DCHI2_90, abs=0.02)
    # a band open at the grid's end keeps the end point
    assert lim.allowed_intervals(g, 0.1 * g, lim.DCHI2_90) == [[0.0, 4.0]]
    assert lim.allowed_intervals(g, 10.0 + g, lim.DCHI2_90) == []
    more = lim.refined_points(np.linspace(0, 10, 5), 0.0, 10.0, 1.0, [[2.0, 3.0]], 11)
    assert np.sum(more <= 2.0) >= 11 and np.sum((more >= 1.75) & (more <= 3.25)) >= 11
    assert more.min() == 0.0 and more.max() == 10.0


@pytest.mark.parametrize(
    "extra, match",
    [
        ('box = "log"', "scan.box"),
        ('box = "propagator"', "scan.box_q_mev: required"),
        ('box = "propagator"\nbox_q_mev = -1.0', "scan.box_q_mev: must be > 0"),
        ("box_q_mev = 10.0", "only with box = 'propagator'"),
    ],
)
def test_scan_box_errors_name_the_key(tmp_path, extra, match):
    text = SPEC_TEXT.replace('box = "propagator"\nbox_q_mev = 10.0\n', extra + "\n")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_spec(path)


def test_the_quick_scan_puts_points_on_a_narrow_island():
    # a fake profile likelihood in one parameter: the best fit at 0 and a second minimum
    # 0.5 % wide at g = 7.3, which a 24-point grid over [0, 20] steps over
    class Fake:
        names = ("g",)

        @staticmethod
        def nll(theta):
            g = theta[0]
            return 0.5 * min(g**2, 2.0 + ((g - 7.3) / 0.01) ** 2)

    class Best:
        values = {"g": 0.0}
        nll = 0.0

    coarse = np.linspace(0.0, 20.0, 24)
    assert np.min(np.abs(coarse - 7.3)) > 0.1  # the coarse grid misses it by 10 widths
    pts = lim.island_points(Fake, Best, "g", 0.0, 20.0, lim.DCHI2_90)
    near = pts[np.abs(pts - 7.3) < 0.05]
    assert near.size >= 3  # points across the island, not only next to it
    d = np.array([2 * Fake.nll([g]) for g in np.unique(np.concatenate([coarse, pts]))])
    bands = lim.allowed_intervals(np.unique(np.concatenate([coarse, pts])), d, lim.DCHI2_90)
    assert len(bands) == 2 and bands[1][0] < 7.3 < bands[1][1]
