"""Reader of the "2021-derived" SNS flux shapes shipped in ``data/sns-flux-2021-derived/``.

The release's ``snsFlux2D.root`` is not shipped; these three text files hold its projections as
saved by public analysis code (see ``data/PROVENANCE.md``): per-flavor time profiles in 10 ns
bins (0-15 µs, the proton pulse already folded in), per-flavor energy projections in 1 MeV bins,
and coarse 2D (125 ns x 1 MeV) shapes. Each flavor is normalised to 1 in the files.

The energy bin labels are the ones the deriving code wrote (lower edges 1..59 MeV) and are known
to be 1 MeV too high (the 29.79 MeV nu_mu line sits in the bin labelled [30, 31); moved down by
1 MeV, every flavor matches the 2018 spectra to an L1 distance below 0.005). They are
returned as labelled; do not use them for energies (prefer the 2018 spectra or the analytic
pi-DAR spectra). The time profiles are the valuable part.

Every reader validates what it reads and raises :class:`~cevns_bayes.errors.DataError` with a
message naming the file, the line (when there is one) and what was expected. Consistency between
the three files is not checked here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from cevns_bayes.errors import DataError
from cevns_bayes.io.text import finite_numbers, parse_numbers, read_lines, require_file
from cevns_bayes.paths import DERIVED_FLUX_2021_DIR

__all__ = [
    "DERIVED_FILES",
    "DERIVED_FLAVORS",
    "DerivedFlux2021",
    "read_derived_flux_2021",
    "read_energy_projections",
    "read_joint_shapes",
    "read_time_profiles",
]

#: Flavors of the derived files, in the package's names, in file column order.
DERIVED_FLAVORS: tuple[str, ...] = ("nu_mu", "nu_mu_bar", "nu_e", "nu_e_bar")
#: The same flavors as the files name them (column headers, first field of the 2D rows).
_FILE_FLAVORS: tuple[str, ...] = ("nu_mu", "anti_nu_mu", "nu_e", "anti_nu_e")
_TO_PACKAGE = dict(zip(_FILE_FLAVORS, DERIVED_FLAVORS, strict=True))

#: Role of each file -> its name inside the folder.
DERIVED_FILES: dict[str, str] = {
    "time": "time_profiles_10ns.txt",
    "energy": "energy_projections_1MeV.txt",
    "joint": "energy_time_2d_125ns_1MeV.txt",
}

#: Largest allowed distance of a flavor's total from 1 (the files normalise each flavor to 1).
_NORM_TOL = 1e-4
#: Relative tolerance on uniform bin widths and on the contiguity of bins.
_WIDTH_RTOL = 1e-9
#: Energy bins of the 2D file: its rows carry no energy labels; its header states 1 MeV bins with
#: lower edges 1..59 MeV as filed by the deriving code (the labelling of the energy projections).
_JOINT_N_ENERGY = 59
_JOINT_ENERGY_EDGES_MEV = 1.0 + np.arange(_JOINT_N_ENERGY + 1, dtype=np.float64)


class DerivedFlux2021(NamedTuple):
    """The three derived flux files, read and validated (see :func:`read_derived_flux_2021`).

    Every ``*_prob`` array is keyed by :data:`DERIVED_FLAVORS` and sums to 1 (each flavor's
    filed values divided by their total, which the reader checks is within 1e-4 of 1).

    Attributes:
        time_edges_ns: time bin edges, ns; (1501,) from 0 to 15000 ns in 10 ns bins as shipped.
        time_prob: flavor -> probability per time bin, (1500,) as shipped.
        energy_edges_mev: energy bin edges AS LABELLED in the file, MeV; (60,) from 1 to 60 MeV
            as shipped. The labels are 1 MeV too high: not for energies.
        energy_prob: flavor -> probability per energy bin, (59,) as shipped.
        joint_time_edges_ns: time bin edges of the 2D shapes, ns; (121,) 0..15000 ns, 125 ns.
        joint_prob: flavor -> probability per (time, energy) bin, (120, 59) as shipped; its
            energy bins are those of ``energy_edges_mev`` (same labelling).
        folder: the folder the files were read from.
    """

    time_edges_ns: np.ndarray
    time_prob: dict[str, np.ndarray]
    energy_edges_mev: np.ndarray
    energy_prob: dict[str, np.ndarray]
    joint_time_edges_ns: np.ndarray
    joint_prob: dict[str, np.ndarray]
    folder: Path


# --------------------------------------------------------------------------------------------
# helpers


def _check_bins(
    p: Path, lo: np.ndarray, hi: np.ndarray, linenos: np.ndarray, unit: str
) -> np.ndarray:
    """Check (low, high) bin rows are non-empty, contiguous and uniform; return the edges."""
    width = hi - lo
    bad = width <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{p}: line {linenos[i]}: bin [{lo[i]:g}, {hi[i]:g}) {unit} is empty or reversed "
            f"(expected the upper edge above the lower edge)"
        )
    step = float(np.median(width))
    if lo.size > 1:
        gap = np.abs(lo[1:] - hi[:-1]) > _WIDTH_RTOL * step
        if gap.any():
            i = int(np.argmax(gap)) + 1
            raise DataError(
                f"{p}: line {linenos[i]}: bin starts at {lo[i]:g} {unit} but the previous bin "
                f"(line {linenos[i - 1]}) ends at {hi[i - 1]:g} {unit} (expected contiguous, "
                f"strictly increasing bins)"
            )
    odd = np.abs(width - step) > _WIDTH_RTOL * step
    if odd.any():
        i = int(np.argmax(odd))
        raise DataError(
            f"{p}: line {linenos[i]}: bin [{lo[i]:g}, {hi[i]:g}) {unit} is {width[i]:g} {unit} "
            f"wide (expected uniform bins of {step:g} {unit}, to a relative {_WIDTH_RTOL:g})"
        )
    return np.r_[lo, hi[-1]].astype(np.float64)


def _check_negative(p: Path, values: np.ndarray, linenos: np.ndarray, names: list[str]) -> None:
    """Reject negative values; ``values`` is (rows, columns), ``names`` names the columns."""
    neg = values < 0
    if neg.any():
        row, col = np.argwhere(neg)[0]
        raise DataError(
            f"{p}: line {linenos[row]}: negative value {values[row, col]:g} in {names[col]} "
            f"(expected probabilities >= 0)"
        )


def _normalised(p: Path, values: np.ndarray, flavor: str, linenos: np.ndarray) -> np.ndarray:
    """Check a flavor's values total 1 within :data:`_NORM_TOL`; return them divided by it."""
    total = float(values.sum())
    where = f"lines {linenos[0]}-{linenos[-1]}"
    if total <= 0:
        raise DataError(
            f"{p}: flavor {flavor} ({where}) sums to 0 (expected each flavor normalised to 1, "
            f"as the file says)"
        )
    if abs(total - 1.0) > _NORM_TOL:
        raise DataError(
            f"{p}: flavor {flavor} ({where}) sums to {total:.8g} (expected 1 within "
            f"{_NORM_TOL:g}: the file says each flavor is normalised to 1)"
        )
    return values / total


def _check_column_header(p: Path, lineno: int, text: str, expected: list[str]) -> None:
    """A comment naming the columns must name exactly the expected ones, in order."""
    names = text.split()
    if names != expected:
        raise DataError(
            f"{p}: line {lineno}: column header {' '.join(names)!r} (expected "
            f"{' '.join(expected)!r}: the columns are read in that order)"
        )


def _parse_joint_numbers(p: Path, lineno: int, fields: list[str], meaning: str) -> list[float]:
    """The numbers of a 2D row (after its flavor name); the rows are too long to quote whole,
    so errors name the field."""
    expected = f"expected a flavor name, then {meaning})"
    return finite_numbers(p, lineno, fields, meaning, expected, first_field=2)


def _read_1d(
    path: str | Path, what: str, lo_name: str, hi_name: str, unit: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read a file of rows ``low high <one value per flavor>``; return edges and probabilities.

    ``#`` lines and blank lines are skipped; a comment whose first word is ``lo_name`` is the
    column header and must list ``lo_name hi_name`` then the four flavors in file order.
    """
    p = require_file(path, what)
    columns = [lo_name, hi_name, *_FILE_FLAVORS]
    meaning = ", ".join(columns)
    rows: list[list[float]] = []
    linenos: list[int] = []
    for lineno, line in enumerate(read_lines(p, what), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if text.split()[:1] == [lo_name]:
                _check_column_header(p, lineno, text, columns)
            continue
        rows.append(parse_numbers(p, lineno, line, len(columns), meaning))
        linenos.append(lineno)
    if not rows:
        raise DataError(f"{p}: {what} has no data lines (expected lines of {meaning})")
    data = np.asarray(rows, dtype=np.float64)
    lines = np.asarray(linenos, dtype=np.int64)
    edges = _check_bins(p, data[:, 0], data[:, 1], lines, unit)
    values = data[:, 2:]
    _check_negative(p, values, lines, list(_FILE_FLAVORS))
    prob = {
        _TO_PACKAGE[name]: _normalised(p, values[:, k].copy(), name, lines)
        for k, name in enumerate(_FILE_FLAVORS)
    }
    return edges, prob


# --------------------------------------------------------------------------------------------
# the three files


def read_time_profiles(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read the per-flavor time profiles (``time_profiles_10ns.txt``).

    Rows are ``t_low_ns t_high_ns nu_mu anti_nu_mu nu_e anti_nu_e``: contiguous, uniform time
    bins (10 ns from 0 to 15000 ns as shipped), production time after the proton hits the target
    with the proton pulse folded in.

    Returns:
        the time bin edges in ns, and flavor (:data:`DERIVED_FLAVORS`) -> probability per bin,
        each summing to 1.

    Raises:
        DataError: missing or unreadable file, no data lines, a line without exactly 6 finite
            numbers, a negative value, bins not contiguous, not increasing or not uniform, a
            column header naming other columns, or a flavor not summing to 1 within 1e-4.
    """
    return _read_1d(path, "time-profile file", "t_low_ns", "t_high_ns", "ns")


def read_energy_projections(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read the per-flavor energy projections (``energy_projections_1MeV.txt``).

    Rows are ``e_low_MeV e_high_MeV nu_mu anti_nu_mu nu_e anti_nu_e`` (1 MeV bins labelled
    1..60 MeV as shipped). The edges are returned AS LABELLED; the labels are shifted by
    1 MeV too high (see ``data/PROVENANCE.md``), so these are shapes, not energies.

    Returns:
        the labelled energy bin edges in MeV, and flavor -> probability per bin, each summing
        to 1.

    Raises:
        DataError: as :func:`read_time_profiles`.
    """
    return _read_1d(path, "energy-projection file", "e_low_MeV", "e_high_MeV", "MeV")


def read_joint_shapes(
    path: str | Path,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Read the coarse 2D (time x energy) shapes (``energy_time_2d_125ns_1MeV.txt``).

    Each row is ``<flavor> t_low_ns t_high_ns`` then 59 values, one per 1 MeV energy bin; the
    flavor is one of ``nu_mu anti_nu_mu nu_e anti_nu_e``, every flavor must be present, and each
    flavor's rows (in file order) must form the same contiguous, uniform time bins (125 ns from
    0 to 15000 ns as shipped). The rows carry no energy labels: the header states 1 MeV bins
    with lower edges 1..59 MeV, the labelling of the energy projections (1 MeV too high).

    Returns:
        the time bin edges in ns, the labelled energy bin edges in MeV (1..60), and flavor
        (:data:`DERIVED_FLAVORS`) -> probability array of shape (time bins, 59), summing to 1.

    Raises:
        DataError: missing or unreadable file, no data lines, a line without the flavor and
            2 + 59 finite numbers, an unknown or missing flavor, a negative value, time bins not
            contiguous, not increasing, not uniform or not the same for every flavor, or a
            flavor not summing to 1 within 1e-4.
    """
    what = "2D flux-shape file"
    p = require_file(path, what)
    n_fields = 3 + _JOINT_N_ENERGY
    meaning = f"t_low_ns, t_high_ns, then {_JOINT_N_ENERGY} energy-bin values"
    rows: dict[str, list[list[float]]] = {name: [] for name in _FILE_FLAVORS}
    linenos: dict[str, list[int]] = {name: [] for name in _FILE_FLAVORS}
    for lineno, line in enumerate(read_lines(p, what), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) != n_fields:
            raise DataError(
                f"{p}: line {lineno}: expected {n_fields} fields (flavor name, {meaning}), "
                f"found {len(fields)}"
            )
        flavor = fields[0]
        if flavor not in rows:
            raise DataError(
                f"{p}: line {lineno}: unknown flavor {flavor!r} (expected one of "
                f"{', '.join(_FILE_FLAVORS)})"
            )
        numbers = _parse_joint_numbers(p, lineno, fields[1:], meaning)
        rows[flavor].append(numbers)
        linenos[flavor].append(lineno)
    if not any(rows.values()):
        raise DataError(
            f"{p}: {what} has no data lines (expected lines of a flavor name, {meaning})"
        )
    missing = [name for name in _FILE_FLAVORS if not rows[name]]
    if missing:
        raise DataError(
            f"{p}: no rows for flavor(s) {', '.join(missing)} (expected rows for each of "
            f"{', '.join(_FILE_FLAVORS)})"
        )
    energy_names = [f"energy bin {k + 1}" for k in range(_JOINT_N_ENERGY)]
    time_edges: np.ndarray | None = None
    reference = _FILE_FLAVORS[0]
    prob: dict[str, np.ndarray] = {}
    for name in _FILE_FLAVORS:
        data = np.asarray(rows[name], dtype=np.float64)
        lines = np.asarray(linenos[name], dtype=np.int64)
        edges = _check_bins(p, data[:, 0], data[:, 1], lines, "ns")
        if time_edges is None:
            time_edges = edges
        elif edges.shape != time_edges.shape or not np.array_equal(edges, time_edges):
            n = min(edges.size, time_edges.size)
            differ = np.flatnonzero(edges[:n] != time_edges[:n])
            i = int(differ[0]) if differ.size else n - 1
            # edge i closes row i - 1 (and opens row i): point at the first row it changes
            lineno = lines[min(max(i - 1, 0), lines.size - 1)]
            raise DataError(
                f"{p}: line {lineno}: flavor {name} has {edges.size - 1} time bins "
                f"{edges[0]:g}..{edges[-1]:g} ns, flavor {reference} {time_edges.size - 1} bins "
                f"{time_edges[0]:g}..{time_edges[-1]:g} ns (expected the same time bins for "
                f"every flavor; first difference at edge {i})"
            )
        values = data[:, 2:]
        _check_negative(p, values, lines, [f"{name} {e}" for e in energy_names])
        prob[_TO_PACKAGE[name]] = _normalised(p, values.copy(), name, lines)
    assert time_edges is not None
    return time_edges, _JOINT_ENERGY_EDGES_MEV.copy(), prob


def read_derived_flux_2021(folder: str | Path = DERIVED_FLUX_2021_DIR) -> DerivedFlux2021:
    """Read and validate the three files of :data:`DERIVED_FILES` in ``folder``.

    The files are read independently: their mutual consistency is not checked (the tests do).

    Raises:
        DataError: the folder does not exist or is not a folder, some files are missing (the
            message names them and the folder), or a file fails its reader's checks.
    """
    d = Path(folder)
    names = ", ".join(DERIVED_FILES.values())
    if not d.exists():
        raise DataError(f"{d}: derived-flux folder not found (expected a folder holding {names})")
    if not d.is_dir():
        raise DataError(f"{d}: derived-flux folder is not a directory")
    missing = [name for name in DERIVED_FILES.values() if not (d / name).is_file()]
    if missing:
        raise DataError(
            f"{d}: derived-flux folder lacks {len(missing)} file(s): {', '.join(missing)} "
            f"(expected all of {names})"
        )
    time_edges, time_prob = read_time_profiles(d / DERIVED_FILES["time"])
    energy_edges, energy_prob = read_energy_projections(d / DERIVED_FILES["energy"])
    joint_time_edges, _joint_energy_edges, joint_prob = read_joint_shapes(
        d / DERIVED_FILES["joint"]
    )
    return DerivedFlux2021(
        time_edges_ns=time_edges,
        time_prob=time_prob,
        energy_edges_mev=energy_edges,
        energy_prob=energy_prob,
        joint_time_edges_ns=joint_time_edges,
        joint_prob=joint_prob,
        folder=d,
    )
