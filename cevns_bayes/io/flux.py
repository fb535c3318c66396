"""Readers (and a test writer) of the SNS neutrino-flux ROOT files, through uproot.

Two formats are understood, told apart by their histogram names:

* ``coherent-2018-th1d``: ``nuEnergyAndTime.root`` of COHERENT's 2018 release (arXiv:1804.09459),
  one TH1D per flavor for the energy (``keNuMu`` ..., MeV) and one for the production time
  (``tNuMu`` ..., ns after the proton hits the target, WITHOUT the proton-pulse width).
* ``coherent-2021-th2d``: ``snsFlux2D.root`` of the 2021 CsI release, one TH2D per flavor named
  ``convolved_energy_time_of_<flavor>`` with axis 0 (x) the time in ns (already convolved with
  the proton pulse) and axis 1 (y) the neutrino energy in MeV.

All probabilities are normalized by the histogram total INCLUDING under- and overflow, so the
in-range probabilities sum to slightly less than 1 when some neutrinos fall outside the axis
range (e.g. produced after 20 µs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import uproot

from cevns_bayes.errors import DataError
from cevns_bayes.io.text import require_file
from cevns_bayes.paths import FLUX_2018_FILE

__all__ = [
    "FLAVORS",
    "OPTIONAL_FLAVORS",
    "SOURCE_2018",
    "SOURCE_2021",
    "FluxFlavor",
    "FluxTables",
    "read_flux",
    "write_flux_2021_format",
]

#: Flavors every flux file must provide.
FLAVORS: tuple[str, ...] = ("nu_mu", "nu_mu_bar", "nu_e")
#: Flavors read when present (the anti-nu_e contamination, ~1e-3 of the flux).
OPTIONAL_FLAVORS: tuple[str, ...] = ("nu_e_bar",)

#: ``FluxTables.source`` of the 2018 TH1D file.
SOURCE_2018 = "coherent-2018-th1d"
#: ``FluxTables.source`` of the 2021 TH2D file.
SOURCE_2021 = "coherent-2021-th2d"

#: Flavor -> suffix of the 2018 histogram names (``ke<suffix>``, ``t<suffix>``).
_NAMES_2018 = {"nu_mu": "NuMu", "nu_mu_bar": "AntiNuMu", "nu_e": "NuE", "nu_e_bar": "AntiNuE"}
#: Every histogram name of the 2018 format (used to recognise it).
_KNOWN_2018 = frozenset(f"{q}{s}" for q in ("ke", "t") for s in _NAMES_2018.values())
#: Prefix and flavor -> suffix of the 2021 histogram names.
_PREFIX_2021 = "convolved_energy_time_of_"
_NAMES_2021 = {
    "nu_mu": "nu_mu",
    "nu_mu_bar": "anti_nu_mu",
    "nu_e": "nu_e",
    "nu_e_bar": "anti_nu_e",
}


class FluxFlavor(NamedTuple):
    """Energy and time distributions of one neutrino flavor.

    Attributes:
        energy_edges_mev: neutrino-energy bin edges, MeV, shape (nE + 1,).
        energy_prob: probability per energy bin, shape (nE,). Normalized by the total including
            under/overflow, so it sums to 1 up to the (small) fraction outside the axis range.
        time_edges_ns: production-time bin edges, ns, shape (nt + 1,).
        time_prob: probability per time bin, shape (nt,), normalized the same way.
        joint_prob: joint probability per (time, energy) bin, shape (nt, nE), for the 2021 TH2D
            format (``time_prob`` and ``energy_prob`` are then its marginals); None for 2018.
    """

    energy_edges_mev: np.ndarray
    energy_prob: np.ndarray
    time_edges_ns: np.ndarray
    time_prob: np.ndarray
    joint_prob: np.ndarray | None


class FluxTables(NamedTuple):
    """The flux of every flavor found in one file.

    Attributes:
        flavors: flavor name (from :data:`FLAVORS`, plus ``"nu_e_bar"`` when present) ->
            its :class:`FluxFlavor`.
        source: :data:`SOURCE_2018` or :data:`SOURCE_2021`.
        pulse_convolved: whether the times include the proton-pulse width (False for the 2018
            file, True for the 2021 file).
        path: the file the flux was read from.
    """

    flavors: dict[str, FluxFlavor]
    source: str
    pulse_convolved: bool
    path: Path


# --------------------------------------------------------------------------------------------
# reading


def _describe(err: BaseException) -> str:
    """An exception as one line: its type and its message with whitespace collapsed."""
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def _check_edges(path: Path, name: str, edges: np.ndarray, what: str) -> np.ndarray:
    """Check bin edges are finite and strictly increasing; return them as float64."""
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise DataError(f"{path}: histogram {name!r}: {what} axis has no bins")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise DataError(
            f"{path}: histogram {name!r}: {what} bin edges are not finite and strictly increasing"
        )
    return edges


def _histogram(file: Any, path: Path, name: str, ndim: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Read histogram ``name`` of dimension ``ndim``: (contents with flow, per-axis edges).

    The contents are checked to be finite, >= 0 and not all zero.
    """
    want = "TH1" if ndim == 1 else "TH2"
    try:
        classname = file.classname_of(name)
    except Exception as err:  # uproot raises many kinds of errors on damaged files
        raise DataError(
            f"{path}: cannot read the class of histogram {name!r}: {_describe(err)}"
        ) from err
    if not str(classname).startswith(want):
        raise DataError(
            f"{path}: histogram {name!r} is a {classname}; expected a {want} "
            f"({ndim}D histogram, e.g. {want}D)"
        )
    try:
        hist = file[name]
        values = np.asarray(hist.values(flow=True), dtype=np.float64)
        edges = [np.asarray(hist.axis(i).edges(), dtype=np.float64) for i in range(ndim)]
    except Exception as err:  # uproot raises many kinds of errors on damaged files
        raise DataError(f"{path}: cannot read histogram {name!r}: {_describe(err)}") from err
    if values.ndim != ndim or any(values.shape[i] != edges[i].size + 1 for i in range(ndim)):
        raise DataError(
            f"{path}: histogram {name!r} has contents of shape {values.shape}, inconsistent with "
            f"its axes ({', '.join(str(e.size - 1) for e in edges)} bins plus under/overflow)"
        )
    if not np.all(np.isfinite(values)):
        raise DataError(f"{path}: histogram {name!r} holds non-finite contents (NaN or inf)")
    if np.any(values < 0):
        raise DataError(
            f"{path}: histogram {name!r} has negative contents (min {values.min():g}); "
            f"expected counts >= 0"
        )
    if values.sum() <= 0:
        raise DataError(f"{path}: histogram {name!r} is empty (all contents zero)")
    return values, edges


def _missing_error(path: Path, source: str, expected: list[str], found: list[str]) -> DataError:
    """A DataError listing the expected and the found histogram names."""
    missing = [n for n in expected if n not in found]
    return DataError(
        f"{path}: {source} flux file lacks histogram(s) {', '.join(missing)}; expected "
        f"{', '.join(expected)}; found {', '.join(found) if found else '(none)'}"
    )


def _read_2018(file: Any, path: Path, found: list[str]) -> dict[str, FluxFlavor]:
    """Read the TH1D energy and time histograms of the 2018 file, each normalized on its own."""
    required = [f"{q}{_NAMES_2018[fl]}" for fl in FLAVORS for q in ("ke", "t")]
    if any(n not in found for n in required):
        raise _missing_error(path, "2018 (TH1D)", required, found)
    flavors: dict[str, FluxFlavor] = {}
    for flavor in FLAVORS + OPTIONAL_FLAVORS:
        e_name, t_name = f"ke{_NAMES_2018[flavor]}", f"t{_NAMES_2018[flavor]}"
        present = [n in found for n in (e_name, t_name)]
        if not any(present):
            continue  # only optional flavors get here
        if not all(present):
            raise _missing_error(path, "2018 (TH1D)", [e_name, t_name], found)
        e_values, (e_edges,) = _histogram(file, path, e_name, 1)
        t_values, (t_edges,) = _histogram(file, path, t_name, 1)
        e_edges = _check_edges(path, e_name, e_edges, "energy")
        t_edges = _check_edges(path, t_name, t_edges, "time")
        if e_edges[0] < 0:
            raise DataError(f"{path}: histogram {e_name!r}: energy axis starts below 0 MeV")
        flavors[flavor] = FluxFlavor(
            energy_edges_mev=e_edges,
            energy_prob=e_values[1:-1] / e_values.sum(),
            time_edges_ns=t_edges,
            time_prob=t_values[1:-1] / t_values.sum(),
            joint_prob=None,
        )
    return flavors


def _read_2021(file: Any, path: Path, found: list[str]) -> dict[str, FluxFlavor]:
    """Read the TH2D (time x energy) histograms of the 2021 file."""
    required = [_PREFIX_2021 + _NAMES_2021[fl] for fl in FLAVORS]
    if any(n not in found for n in required):
        raise _missing_error(path, "2021 (TH2D)", required, found)
    flavors: dict[str, FluxFlavor] = {}
    for flavor in FLAVORS + OPTIONAL_FLAVORS:
        name = _PREFIX_2021 + _NAMES_2021[flavor]
        if name not in found:
            continue  # only optional flavors get here
        values, (t_edges, e_edges) = _histogram(file, path, name, 2)
        t_edges = _check_edges(path, name, t_edges, "time (axis 0)")
        e_edges = _check_edges(path, name, e_edges, "energy (axis 1)")
        if e_edges[0] < 0:
            raise DataError(f"{path}: histogram {name!r}: energy axis (axis 1) starts below 0 MeV")
        joint = values[1:-1, 1:-1] / values.sum()
        flavors[flavor] = FluxFlavor(
            energy_edges_mev=e_edges,
            energy_prob=joint.sum(axis=0),
            time_edges_ns=t_edges,
            time_prob=joint.sum(axis=1),
            joint_prob=joint,
        )
    return flavors


def read_flux(path: str | Path = FLUX_2018_FILE) -> FluxTables:
    """Read an SNS flux ROOT file, detecting its format from the histogram names.

    2018 format (TH1D ``ke*`` in MeV, ``t*`` in ns): each histogram is normalized on its own by
    its total including under/overflow (the anti-nu_e energy and time histograms do not hold
    the same number of entries); ``joint_prob`` is None and ``pulse_convolved`` False (the
    times exclude the proton pulse). Note that most anti-nu_e of that file are produced after
    20 µs, so its in-range ``time_prob`` sums to far less than 1.

    2021 format (TH2D ``convolved_energy_time_of_*``, x = time in ns, y = energy in MeV):
    ``joint_prob`` = contents / total including flow; ``time_prob`` and ``energy_prob`` are its
    marginals over the in-range bins; ``pulse_convolved`` is True.

    nu_mu, nu_mu_bar and nu_e are required; nu_e_bar is read when present.

    Raises:
        DataError: missing file or directory, not a (readable) ROOT file, no recognised
            histograms, a flavor's histogram missing (the message lists the expected and found
            names), a histogram of the wrong class or dimension, negative, non-finite or
            all-zero contents, or bad axes.
    """
    p = require_file(path, "flux file")
    try:
        file = uproot.open(p)
    except Exception as err:  # uproot raises OSError, ValueError, ... on non-ROOT input
        raise DataError(
            f"{p}: not a readable ROOT file (expected a ROOT file of SNS flux histograms; "
            f"uproot said: {_describe(err)})"
        ) from err
    with file:
        try:
            found = sorted(set(file.keys(recursive=False, cycle=False)))
        except Exception as err:  # uproot raises many kinds of errors on damaged files
            raise DataError(f"{p}: cannot list the ROOT file's contents: {_describe(err)}") from err
        if any(n.startswith(_PREFIX_2021) for n in found):
            flavors = _read_2021(file, p, found)
            source, convolved = SOURCE_2021, True
        elif any(n in _KNOWN_2018 for n in found):
            flavors = _read_2018(file, p, found)
            source, convolved = SOURCE_2018, False
        else:
            expected = [_PREFIX_2021 + _NAMES_2021[fl] for fl in FLAVORS]
            expected_2018 = [f"{q}{_NAMES_2018[fl]}" for fl in FLAVORS for q in ("ke", "t")]
            raise DataError(
                f"{p}: no SNS flux histograms found; expected TH2D {', '.join(expected)} "
                f"(2021 format) or TH1D {', '.join(expected_2018)} (2018 format); found "
                f"{', '.join(found) if found else '(none)'}"
            )
    return FluxTables(flavors=flavors, source=source, pulse_convolved=convolved, path=p)


# --------------------------------------------------------------------------------------------
# writing (tests and utilities)


def write_flux_2021_format(
    path: str | Path, flavors: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> None:
    """Write flux histograms in the 2021 TH2D format (for tests and format conversions).

    Args:
        path: the ROOT file to create (overwritten if it exists).
        flavors: flavor -> ``(counts, time_edges_ns, energy_edges_mev)`` with ``counts`` of
            shape (nt, nE), time edges in ns (nt + 1,) and energy edges in MeV (nE + 1,).
            Flavors are named as in :data:`FLAVORS` / :data:`OPTIONAL_FLAVORS`; the ROOT
            suffixes (``anti_nu_mu``, ``anti_nu_e``) are accepted as well. Each is written as
            TH2D ``convolved_energy_time_of_<nu_mu|anti_nu_mu|nu_e|anti_nu_e>`` with x = time,
            y = energy and empty under/overflow bins.

    Raises:
        ValueError: unknown flavor name, or counts whose shape does not match the edges.
    """
    aliases = dict(_NAMES_2021)
    aliases.update({suffix: suffix for suffix in _NAMES_2021.values()})
    hists: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for flavor, (counts, t_edges, e_edges) in flavors.items():
        if flavor not in aliases:
            raise ValueError(
                f"write_flux_2021_format: unknown flavor {flavor!r}; expected one of "
                f"{', '.join(FLAVORS + OPTIONAL_FLAVORS)}"
            )
        c = np.asarray(counts, dtype=np.float64)
        t = np.asarray(t_edges, dtype=np.float64)
        e = np.asarray(e_edges, dtype=np.float64)
        if c.shape != (t.size - 1, e.size - 1):
            raise ValueError(
                f"write_flux_2021_format: {flavor}: counts of shape {c.shape} do not match "
                f"{t.size} time edges and {e.size} energy edges (expected ({t.size - 1}, "
                f"{e.size - 1}))"
            )
        hists[_PREFIX_2021 + aliases[flavor]] = (c, t, e)
    with uproot.recreate(Path(path)) as out:
        for name, hist in hists.items():
            out[name] = hist
