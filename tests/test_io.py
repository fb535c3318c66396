"""Tests of cevns_bayes.io: the real release files, the flux files and every bad-input case."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import uproot

from cevns_bayes.errors import ConfigError, DataError
from cevns_bayes.io import (
    FLAVORS,
    RELEASE_FILES,
    check_hashes,
    load_release,
    read_efficiency_coefficients,
    read_events,
    read_flux,
    read_quenching_coefficients,
    read_shape,
    write_flux_2021_format,
)
from cevns_bayes.paths import DEFAULT_DATA_DIR, FLUX_2018_FILE, SHA256SUMS

# Masses (MeV) for the pi+ decay-at-rest line E = (m_pi^2 - m_mu^2) / (2 m_pi) = 29.79 MeV.
M_PI, M_MU = 139.57039, 105.6583755

QUENCHING_TEXT = """\
# Scintillation response curve
# Coefficients given as: a b c d

# Nominal scintillation model
0.0554628 4.30681 -111.707 840.384

# Syst model 0, +1 sigma
0.0613632 3.51547 -85.5548 595.562
# Syst model 0, -1 sigma
0.0495624 5.09815 -137.858 1085.2
"""

EFFICIENCY_HEADER = """\
# Energy-dependent efficiency curve
# Coefficients given as: a b c d

# Nominal efficiency model
1.32045  0.285979 10.8646 -0.333322
"""


@pytest.fixture(scope="module")
def release():
    return load_release()


@pytest.fixture(scope="module")
def flux_2018():
    return read_flux()


def _data_line_count(path: Path) -> int:
    """Independent count of the data lines of a release text file."""
    with path.open() as fh:
        return sum(1 for line in fh if line.strip() and not line.lstrip().startswith("#"))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# --------------------------------------------------------------------------------------------
# the real release


def test_event_counts_match_line_counts(release):
    for events, name, published in (
        (release.events_c, "dataBeamOnC.txt", 5142),
        (release.events_ac, "dataBeamOnAC.txt", 4890),
    ):
        n_lines = _data_line_count(DEFAULT_DATA_DIR / name)
        assert len(events.pe) == len(events.t_us) == n_lines == published
        assert events.pe.dtype == np.float64 and events.t_us.dtype == np.float64
        assert events.path.name == name


def test_event_counts_in_roi_are_the_published_ones(release):
    def roi(ev):
        return int(np.count_nonzero((ev.pe < 60) & (ev.t_us >= 0) & (ev.t_us < 6)))

    assert roi(release.events_c) == 1578
    assert roi(release.events_ac) == 1295


def test_shapes(release):
    for shape in (release.brn_pe, release.nin_pe):
        assert shape.edges.size == shape.values.size + 1 == 251
        np.testing.assert_allclose(shape.edges[[0, 1, -1]], [0.0, 1.0, 250.0], atol=1e-12)
        assert shape.values[shape.edges[1:] <= 60].sum() == pytest.approx(1.0, abs=1e-5)
    for shape in (release.brn_t, release.nin_t):
        assert shape.edges.size == shape.values.size + 1 == 651
        np.testing.assert_allclose(shape.edges[[0, -1]], [-0.25, 6.25], atol=1e-9)
        np.testing.assert_allclose(np.diff(shape.edges), 0.01, rtol=1e-9)
    assert release.brn_t.values.sum() == pytest.approx(27.63, abs=5e-3)
    assert release.nin_t.values.sum() == pytest.approx(7.565, abs=5e-4)
    assert all(np.all(s.values >= 0) for s in (release.brn_pe, release.nin_t))


def test_quenching_coefficients(release):
    q = release.quenching
    assert q.nominal.shape == (4,)
    assert q.nominal[0] == pytest.approx(0.0554628)
    assert len(q.modes) == 2
    assert q.modes[0][0][0] == pytest.approx(0.0613632)  # mode 0, +1 sigma, a
    assert q.modes[1][1][3] == pytest.approx(1050.68)  # mode 1, -1 sigma, d
    assert all(a.shape == (4,) for pair in q.modes for a in pair)


def test_efficiency_coefficients_resolve_the_labelling_slip(release):
    e = release.efficiency
    assert e.nominal[2] == pytest.approx(10.8646)
    assert e.plus[2] == pytest.approx(9.84596)
    assert e.minus[2] == pytest.approx(11.8832)


def test_release_data_dir_and_files(release):
    assert release.data_dir == DEFAULT_DATA_DIR
    assert set(RELEASE_FILES) == set(release._fields) - {"data_dir"}


# --------------------------------------------------------------------------------------------
# flux


def test_flux_2018(flux_2018):
    assert flux_2018.source == "coherent-2018-th1d"
    assert flux_2018.pulse_convolved is False
    assert set(flux_2018.flavors) == set(FLAVORS) | {"nu_e_bar"}
    for flavor in FLAVORS:
        fl = flux_2018.flavors[flavor]
        assert fl.joint_prob is None
        assert fl.energy_edges_mev.shape == (3001,) and fl.time_edges_ns.shape == (5001,)
        assert fl.energy_prob.sum() == pytest.approx(1.0, abs=1e-3)
        assert fl.time_prob.sum() == pytest.approx(1.0, abs=1e-3)
    numu = flux_2018.flavors["nu_mu"]
    peak = int(np.argmax(numu.energy_prob))
    line = (M_PI**2 - M_MU**2) / (2 * M_PI)
    assert numu.energy_edges_mev[peak] <= line < numu.energy_edges_mev[peak + 1]


def test_flux_2018_normalizes_with_flow(flux_2018):
    with uproot.open(FLUX_2018_FILE) as f:
        h = f["tNuE"]
        expected = h.values().sum() / h.values(flow=True).sum()
    assert flux_2018.flavors["nu_e"].time_prob.sum() == pytest.approx(expected, rel=1e-12)
    # what the flow holds is physics: the muon-decay flavors produced after the 20 µs window,
    # e^(-20 / 2.197) = 1.11e-4 of them; the prompt nu_mu none
    for flavor in ("nu_e", "nu_mu_bar"):
        lost = 1.0 - flux_2018.flavors[flavor].time_prob.sum()
        assert lost == pytest.approx(math.exp(-20.0 / 2.197), rel=0.05), flavor
    assert 1.0 - flux_2018.flavors["nu_mu"].time_prob.sum() < 1e-12
    # most anti-nu_e of the 2018 file are produced after 20 µs (time overflow)
    assert flux_2018.flavors["nu_e_bar"].time_prob.sum() < 0.1


def test_flux_2021_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    t_edges = np.linspace(0.0, 6000.0, 13)
    e_edges = np.linspace(0.0, 60.0, 7)
    counts = {fl: rng.uniform(0, 10, size=(12, 6)) for fl in (*FLAVORS, "nu_e_bar")}
    path = tmp_path / "snsFlux2D.root"
    write_flux_2021_format(path, {fl: (c, t_edges, e_edges) for fl, c in counts.items()})
    with uproot.open(path) as f:
        assert f.classname_of("convolved_energy_time_of_anti_nu_mu") == "TH2D"
    flux = read_flux(path)
    assert flux.source == "coherent-2021-th2d" and flux.pulse_convolved is True
    assert set(flux.flavors) == set(counts)
    for fl, c in counts.items():
        got = flux.flavors[fl]
        np.testing.assert_allclose(got.joint_prob, c / c.sum())
        np.testing.assert_allclose(got.time_prob, c.sum(axis=1) / c.sum())
        np.testing.assert_allclose(got.energy_prob, c.sum(axis=0) / c.sum())
        np.testing.assert_allclose(got.time_edges_ns, t_edges)
        np.testing.assert_allclose(got.energy_edges_mev, e_edges)


def test_flux_2021_without_optional_flavor(tmp_path):
    path = tmp_path / "flux.root"
    hist = (np.ones((3, 2)), np.arange(4.0), np.arange(3.0))
    write_flux_2021_format(path, {fl: hist for fl in FLAVORS})
    assert set(read_flux(path).flavors) == set(FLAVORS)


def test_write_flux_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown flavor"):
        write_flux_2021_format(tmp_path / "a.root", {"tau": (np.ones((1, 1)), [0, 1], [0, 1])})
    with pytest.raises(ValueError, match="shape"):
        write_flux_2021_format(tmp_path / "a.root", {"nu_e": (np.ones((2, 1)), [0, 1], [0, 1])})


# --------------------------------------------------------------------------------------------
# checksums


def test_check_hashes_shipped_data():
    results = check_hashes()
    # 8 release files, the 2018 flux and the 3 files of the 2021-derived flux shapes
    assert len(results) == 12
    assert sum(r.name.startswith("sns-flux-2021-derived/") for r in results) == 3
    assert all(r.ok for r in results), [r.name for r in results if not r.ok]


def test_check_hashes_detects_a_changed_byte(tmp_path):
    data_dir = tmp_path / "coherent-csi-2021"
    shutil.copytree(DEFAULT_DATA_DIR, data_dir)
    flux = tmp_path / FLUX_2018_FILE.name
    shutil.copy(FLUX_2018_FILE, flux)
    target = data_dir / "ninPE.txt"
    raw = bytearray(target.read_bytes())
    raw[-2] = ord("0") if raw[-2] != ord("0") else ord("1")
    target.write_bytes(bytes(raw))
    results = {r.name: r for r in check_hashes(data_dir, flux, SHA256SUMS)}
    bad = [name for name, r in results.items() if not r.ok]
    assert bad == ["coherent-csi-2021/ninPE.txt"]
    assert results["coherent-csi-2021/ninPE.txt"].actual is not None


def test_check_hashes_missing_file(tmp_path):
    data_dir = tmp_path / "release"
    shutil.copytree(DEFAULT_DATA_DIR, data_dir)
    (data_dir / "brnPE.txt").unlink()
    results = {r.name: r for r in check_hashes(data_dir, FLUX_2018_FILE, SHA256SUMS)}
    missing = results["coherent-csi-2021/brnPE.txt"]
    assert missing.actual is None and missing.ok is False
    assert sum(not r.ok for r in results.values()) == 1


def test_check_hashes_malformed_line(tmp_path):
    good = SHA256SUMS.read_text().splitlines()
    sums = _write(tmp_path, "SHA256SUMS", "\n".join([good[0], "deadbeef  brnPE.txt", *good[1:]]))
    with pytest.raises(DataError, match=r"SHA256SUMS: line 2"):
        check_hashes(sums_file=sums)


def test_check_hashes_missing_sums_file(tmp_path):
    with pytest.raises(DataError, match="SUMS_MISSING"):
        check_hashes(sums_file=tmp_path / "SUMS_MISSING")


# --------------------------------------------------------------------------------------------
# bad release text files

READERS = {
    "events": read_events,
    "shape_pe": lambda p: read_shape(p, quantity="pe"),
    "shape_t": lambda p: read_shape(p, quantity="t_us"),
    "quenching": read_quenching_coefficients,
    "efficiency": read_efficiency_coefficients,
    "flux": read_flux,
}


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_missing_file(tmp_path, reader):
    with pytest.raises(DataError, match="nothere.txt.*not found"):
        reader(tmp_path / "nothere.txt")


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_directory_instead_of_file(tmp_path, reader):
    d = tmp_path / "adir.txt"
    d.mkdir()
    with pytest.raises(DataError, match="adir.txt.*directory"):
        reader(d)


TEXT_READERS = {k: v for k, v in READERS.items() if k != "flux"}


@pytest.mark.parametrize("reader", TEXT_READERS.values(), ids=TEXT_READERS.keys())
@pytest.mark.parametrize("text", ["", "# only a comment\n\n"], ids=["empty", "comments-only"])
def test_no_data_rows(tmp_path, reader, text):
    p = _write(tmp_path, "empty.txt", text)
    with pytest.raises(DataError, match="empty.txt"):
        reader(p)


def test_binary_file(tmp_path):
    p = tmp_path / "binary.txt"
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(DataError, match="binary.txt.*not a UTF-8"):
        read_events(p)


EVENTS_OK = "# header\n# PE, t\n10.0 1.0\n20.0 2.0\n"


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("30.0", "expected 2 numbers"),  # truncated line
        ("30.0 3.0 7", "expected 2 numbers"),  # extra column
        ("30.0 abc", "'abc' is not a number"),
        ("nan 3.0", "non-finite"),
        ("30.0 inf", "non-finite"),
        ("-1.5 3.0", "negative event energy"),
        ("30.0 -0.1", "negative event time"),
    ],
    ids=["truncated", "extra-column", "non-numeric", "nan", "inf", "negative-pe", "negative-t"],
)
def test_bad_event_line(tmp_path, bad_line, message):
    p = _write(tmp_path, "events.txt", EVENTS_OK + bad_line + "\n40.0 4.0\n")
    with pytest.raises(DataError, match=rf"events.txt: line 5: .*{message}"):
        read_events(p)


def _shape_text(centres, values) -> str:
    return "".join(f"{c:g} {v:g}\n" for c, v in zip(centres, values, strict=True))


@pytest.mark.parametrize(
    ("centres", "values", "quantity", "message"),
    [
        ([0.5, 1.5, 2.5], [0.1, -0.2, 0.3], "pe", r"line 2: negative bin content"),
        ([0.5, 1.5, 2.5, 3.6, 4.6], [0.1] * 5, "pe", r"line 4: .*not uniformly spaced"),
        ([2.5, 1.5, 0.5], [0.1, 0.2, 0.3], "pe", r"line 2: .*strictly increasing"),
        ([-0.5, 0.5, 1.5], [0.1, 0.2, 0.3], "pe", r"lowest PE bin edge is -1"),
        ([0.5, 1.5, 2.5], [0.0, 0.0, 0.0], "pe", r"all 3 bin contents are zero"),
        ([0.5], [1.0], "pe", r"only 1 bin"),
        ([0.005, 0.015, 0.025], [0.0, 0.0, 0.0], "t_us", r"all 3 bin contents are zero"),
        ([0.005, 0.015, 0.025], [1.0, -1.0, 0.0], "t_us", r"line 2: negative bin content"),
    ],
    ids=[
        "negative",
        "non-uniform",
        "decreasing",
        "negative-pe-edge",
        "all-zero",
        "one-bin",
        "t-all-zero",
        "t-negative",
    ],
)
def test_bad_shape(tmp_path, centres, values, quantity, message):
    p = _write(tmp_path, "shape.txt", _shape_text(centres, values))
    with pytest.raises(DataError, match=rf"shape.txt: .*{message}"):
        read_shape(p, quantity=quantity)


def test_shape_negative_times_are_legitimate(tmp_path):
    p = _write(tmp_path, "trec.txt", _shape_text([-0.245, -0.235, -0.225], [0.0, 1.0, 2.0]))
    shape = read_shape(p, quantity="t_us")
    np.testing.assert_allclose(shape.edges, [-0.25, -0.24, -0.23, -0.22], atol=1e-12)


@pytest.mark.parametrize("line", ["1.5 2 3", "1.5 x", "1.5 nan"], ids=["3-cols", "text", "nan"])
def test_bad_shape_line(tmp_path, line):
    p = _write(tmp_path, "brn.txt", "0.5 0.1\n" + line + "\n")
    with pytest.raises(DataError, match=r"brn.txt: line 2"):
        read_shape(p, quantity="pe")


def test_shape_unknown_quantity():
    with pytest.raises(ConfigError, match="quantity"):
        read_shape(DEFAULT_DATA_DIR / "brnPE.txt", quantity="keV")


# --------------------------------------------------------------------------------------------
# bad coefficient files


def test_quenching_parsed_by_headers_not_line_numbers(tmp_path):
    # blocks in another order, extra comments and blank lines, a three-mode file
    text = (
        "# Syst model 1, -1 sigma\n1 2 3 4\n\n# a remark\n"
        "# Syst model 0, -1 sigma\n5 6 7 8\n# Nominal model\n\n9 10 11 12\n"
        "# Syst model 1, +1 sigma\n13 14 15 16\n# Syst model 0, +1 sigma\n17 18 19 20\n"
        "# Syst model 2, +1 sigma\n21 22 23 24\n# Syst model 2, -1 sigma\n25 26 27 28\n"
    )
    q = read_quenching_coefficients(_write(tmp_path, "q.txt", text))
    np.testing.assert_array_equal(q.nominal, [9, 10, 11, 12])
    assert len(q.modes) == 3
    np.testing.assert_array_equal(q.modes[0][0], [17, 18, 19, 20])
    np.testing.assert_array_equal(q.modes[0][1], [5, 6, 7, 8])
    np.testing.assert_array_equal(q.modes[1][1], [1, 2, 3, 4])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            QUENCHING_TEXT.replace("# Nominal scintillation model\n", ""),
            r"line 4: .*without a block",
        ),
        (
            QUENCHING_TEXT.replace("# Nominal scintillation model\n", "# Syst model 1, +1 sigma\n"),
            r"no nominal block",
        ),
        (
            QUENCHING_TEXT.replace("# Nominal scintillation model", "# Just a remark").replace(
                "0.0554628 4.30681 -111.707 840.384\n", ""
            ),
            r"no nominal block",
        ),
        (
            QUENCHING_TEXT.replace(
                "# Syst model 0, -1 sigma\n0.0495624 5.09815 -137.858 1085.2\n", ""
            ),
            r"syst model 0 lacks its -1 sigma",
        ),
        (
            QUENCHING_TEXT.replace("Syst model 0", "Syst model 1"),
            r"without gaps \(missing \[0\]\)",
        ),
        (QUENCHING_TEXT.replace("-85.5548 595.562", "-85.5548"), r"line 8: expected 4 numbers"),
        (QUENCHING_TEXT.replace("-85.5548 595.562", "-85.5548 595.562 1"), r"line 8: expected 4"),
        (QUENCHING_TEXT.replace("4.30681", "four"), r"line 5: 'four' is not a number"),
        (QUENCHING_TEXT.replace("840.384", "inf"), r"line 5: non-finite"),
        (QUENCHING_TEXT + "1 2 3 4\n", r"line 11: second line of numbers"),
        (QUENCHING_TEXT + "# Syst model 1, +1 sigma\n", r"line 11\) has no line of 4"),
        (QUENCHING_TEXT + "# Syst model 0, +1 sigma\n1 2 3 4\n", r"line 11: duplicate block"),
        (QUENCHING_TEXT + "# Nominal again\n1 2 3 4\n", r"2 nominal blocks"),
        (QUENCHING_TEXT.split("# Syst")[0], r"no systematic blocks"),
    ],
    ids=[
        "nominal-header-missing",
        "nominal-missing",
        "no-nominal-at-all",
        "mode-lacks-minus",
        "mode-gap",
        "3-numbers",
        "5-numbers",
        "non-numeric",
        "inf",
        "two-lines",
        "header-without-data",
        "duplicate-block",
        "duplicate-nominal",
        "no-modes",
    ],
)
def test_bad_quenching_file(tmp_path, text, message):
    p = _write(tmp_path, "scint.txt", text)
    with pytest.raises(DataError, match=rf"scint.txt: .*{message}"):
        read_quenching_coefficients(p)


def test_efficiency_proper_labels_are_honoured(tmp_path):
    text = EFFICIENCY_HEADER + (
        "# Syst model, -1 sigma\n1.297 0.286592 11.8832 -0.31028\n"
        "# Syst model, +1 sigma\n1.3439 0.285366 9.84596 -0.356364\n"
    )
    e = read_efficiency_coefficients(_write(tmp_path, "eff.txt", text))
    assert e.plus[2] == pytest.approx(9.84596) and e.minus[2] == pytest.approx(11.8832)


def test_efficiency_same_labels_assigned_by_threshold(tmp_path):
    text = EFFICIENCY_HEADER + (
        "# Syst model, +1 sigma\n1.297 0.286592 11.8832 -0.31028\n"
        "# Syst model, +1 sigma\n1.3439 0.285366 9.84596 -0.356364\n"
    )
    e = read_efficiency_coefficients(_write(tmp_path, "eff.txt", text))
    assert e.plus[2] == pytest.approx(9.84596) and e.minus[2] == pytest.approx(11.8832)


@pytest.mark.parametrize(
    ("systs", "message"),
    [
        (
            "# Syst model, +1 sigma\n1 0.3 9.8 -0.3\n# Syst model, +1 sigma\n1 0.3 9.9 -0.3\n",
            r"not on opposite sides of the nominal",
        ),
        ("# Syst model, +1 sigma\n1 0.3 9.8 -0.3\n", r"expected exactly two systematic blocks"),
        (
            "# Syst model, +1 sigma\n1 0.3 9.8\n# Syst model, -1 sigma\n1 0.3 12 -0.3\n",
            r"line 8: expected 4 numbers",
        ),
        (
            "# Syst model 1, +1 sigma\n1 0.3 9.8 -0.3\n# Syst model 1, -1 sigma\n1 0.3 12 -0.3\n",
            r"expected a single PCA mode",
        ),
    ],
    ids=["same-side", "one-syst", "short-line", "wrong-mode"],
)
def test_bad_efficiency_file(tmp_path, systs, message):
    p = _write(tmp_path, "eff.txt", EFFICIENCY_HEADER + "\n" + systs)
    with pytest.raises(DataError, match=rf"eff.txt: .*{message}"):
        read_efficiency_coefficients(p)


def test_efficiency_without_nominal(tmp_path):
    text = "# Syst model, +1 sigma\n1 0.3 9.8 -0.3\n# Syst model, -1 sigma\n1 0.3 12 -0.3\n"
    with pytest.raises(DataError, match=r"eff.txt: no nominal block"):
        read_efficiency_coefficients(_write(tmp_path, "eff.txt", text))


# --------------------------------------------------------------------------------------------
# load_release


def test_load_release_names_missing_files(tmp_path):
    d = tmp_path / "partial"
    shutil.copytree(DEFAULT_DATA_DIR, d)
    (d / "ninTrec.txt").unlink()
    (d / "effCoefficients.txt").unlink()
    with pytest.raises(DataError) as info:
        load_release(d)
    msg = str(info.value)
    assert "ninTrec.txt" in msg and "effCoefficients.txt" in msg and str(d) in msg
    assert "brnPE.txt, brnTrec.txt" in msg  # the list of expected files


def test_load_release_missing_folder(tmp_path):
    with pytest.raises(DataError, match="nofolder.*not found"):
        load_release(tmp_path / "nofolder")


def test_load_release_propagates_file_errors(tmp_path):
    d = tmp_path / "release"
    shutil.copytree(DEFAULT_DATA_DIR, d)
    with (d / "dataBeamOnAC.txt").open("a") as fh:
        fh.write("12.0\n")
    with pytest.raises(DataError, match=r"dataBeamOnAC.txt: line 4893: expected 2 numbers"):
        load_release(d)


# --------------------------------------------------------------------------------------------
# bad flux files


def _write_th1(path: Path, hists: dict[str, np.ndarray], edges=None) -> Path:
    with uproot.recreate(path) as f:
        for name, values in hists.items():
            e = np.linspace(0.0, 10.0, len(values) + 1) if edges is None else edges
            f[name] = (np.asarray(values, dtype=np.float64), e)
    return path


def _all_2018(values=(1.0, 2.0, 3.0)) -> dict[str, np.ndarray]:
    names = ("NuMu", "AntiNuMu", "NuE")
    return {f"{q}{n}": np.array(values) for n in names for q in ("ke", "t")}


def test_flux_text_file_renamed_root(tmp_path):
    p = _write(tmp_path, "fake.root", "this is not a ROOT file\n" * 50)
    with pytest.raises(DataError, match="fake.root: not a readable ROOT file"):
        read_flux(p)


@pytest.mark.parametrize("size", [0, 100, 20000, -100])
def test_flux_truncated_root(tmp_path, size):
    raw = FLUX_2018_FILE.read_bytes()
    p = tmp_path / "cut.root"
    p.write_bytes(raw[:size])
    with pytest.raises(DataError, match="cut.root") as info:
        read_flux(p)
    assert info.value.__cause__ is not None


def test_flux_missing_flavor_2018(tmp_path):
    hists = _all_2018()
    del hists["tNuE"]
    p = _write_th1(tmp_path / "f2018.root", hists)
    with pytest.raises(DataError) as info:
        read_flux(p)
    msg = str(info.value)
    assert "f2018.root" in msg and "lacks histogram(s) tNuE" in msg
    assert "expected keNuMu, tNuMu" in msg and "found keAntiNuMu, keNuE, keNuMu" in msg


def test_flux_half_optional_pair_2018(tmp_path):
    hists = _all_2018()
    hists["keAntiNuE"] = np.array([1.0, 1.0, 1.0])
    with pytest.raises(DataError, match=r"h.root: .*lacks histogram\(s\) tAntiNuE"):
        read_flux(_write_th1(tmp_path / "h.root", hists))


def test_flux_missing_flavor_2021(tmp_path):
    p = tmp_path / "f2021.root"
    hist = (np.ones((3, 2)), np.arange(4.0), np.arange(3.0))
    write_flux_2021_format(p, {"nu_mu": hist, "nu_e": hist})
    with pytest.raises(DataError) as info:
        read_flux(p)
    msg = str(info.value)
    assert "f2021.root" in msg and "lacks histogram(s) convolved_energy_time_of_anti_nu_mu" in msg
    assert "found convolved_energy_time_of_nu_e, convolved_energy_time_of_nu_mu" in msg


def test_flux_no_known_histograms(tmp_path):
    p = _write_th1(tmp_path / "other.root", {"hSomething": np.ones(3)})
    with pytest.raises(DataError, match=r"other.root: no SNS flux histograms found.*hSomething"):
        read_flux(p)


def test_flux_wrong_dimension_2018(tmp_path):
    p = tmp_path / "dim.root"
    hists = _all_2018()
    with uproot.recreate(p) as f:
        for name, values in hists.items():
            if name == "keNuE":
                f[name] = (np.ones((3, 2)), np.arange(4.0), np.arange(3.0))
            else:
                f[name] = (values, np.linspace(0.0, 10.0, 4))
    with pytest.raises(DataError, match=r"dim.root: histogram 'keNuE' is a TH2D; expected a TH1"):
        read_flux(p)


def test_flux_wrong_dimension_2021(tmp_path):
    p = tmp_path / "dim.root"
    hist = (np.ones((3, 2)), np.arange(4.0), np.arange(3.0))
    with uproot.recreate(p) as f:
        f["convolved_energy_time_of_nu_mu"] = hist
        f["convolved_energy_time_of_anti_nu_mu"] = hist
        f["convolved_energy_time_of_nu_e"] = (np.ones(3), np.arange(4.0))
    with pytest.raises(DataError, match=r"dim.root: histogram 'convolved_energy_time_of_nu_e' is"):
        read_flux(p)


def test_flux_wrong_class(tmp_path):
    p = tmp_path / "cls.root"
    hists = _all_2018()
    del hists["tNuMu"]
    _write_th1(p, hists)
    with uproot.update(p) as f:
        f["tNuMu"] = "a string, not a histogram"
    with pytest.raises(DataError, match=r"cls.root: histogram 'tNuMu' is a TObjString"):
        read_flux(p)


def test_flux_negative_content_2018(tmp_path):
    hists = _all_2018()
    hists["keAntiNuMu"] = np.array([1.0, -2.0, 3.0])
    with pytest.raises(DataError, match=r"neg.root: histogram 'keAntiNuMu' has negative"):
        read_flux(_write_th1(tmp_path / "neg.root", hists))


def test_flux_negative_content_2021(tmp_path):
    p = tmp_path / "neg.root"
    good = (np.ones((3, 2)), np.arange(4.0), np.arange(3.0))
    bad = (np.array([[1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]), np.arange(4.0), np.arange(3.0))
    write_flux_2021_format(p, {"nu_mu": good, "nu_mu_bar": good, "nu_e": bad})
    with pytest.raises(DataError, match=r"neg.root: histogram 'convolved_energy_time_of_nu_e'"):
        read_flux(p)


def test_flux_all_zero_2018(tmp_path):
    hists = _all_2018()
    hists["tNuE"] = np.zeros(3)
    with pytest.raises(DataError, match=r"zero.root: histogram 'tNuE' is empty"):
        read_flux(_write_th1(tmp_path / "zero.root", hists))


def test_flux_all_zero_2021(tmp_path):
    p = tmp_path / "zero.root"
    good = (np.ones((3, 2)), np.arange(4.0), np.arange(3.0))
    zero = (np.zeros((3, 2)), np.arange(4.0), np.arange(3.0))
    write_flux_2021_format(p, {"nu_mu": zero, "nu_mu_bar": good, "nu_e": good})
    with pytest.raises(DataError, match=r"zero.root: histogram 'convolved_energy_time_of_nu_mu'"):
        read_flux(p)


def test_flux_nan_content(tmp_path):
    hists = _all_2018()
    hists["keNuMu"] = np.array([1.0, np.nan, 3.0])
    with pytest.raises(DataError, match=r"nan.root: histogram 'keNuMu' holds non-finite"):
        read_flux(_write_th1(tmp_path / "nan.root", hists))
