"""Readers of the text files of COHERENT's 2021 CsI[Na] data release.

Every reader validates what it reads and raises :class:`~cevns_bayes.errors.DataError` with a
message that names the file, the line (when there is one) and what was expected. Units follow
the release: reconstructed energy in photoelectrons (PE), reconstructed time ``t_rec`` in µs,
quenching polynomial from nuclear-recoil energy in MeVnr to electron-equivalent energy in MeVee.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cevns_bayes.errors import ConfigError, DataError
from cevns_bayes.io.text import parse_numbers, read_lines, require_file
from cevns_bayes.paths import DEFAULT_DATA_DIR

__all__ = [
    "RELEASE_FILES",
    "BinnedShape",
    "EfficiencyCoefficients",
    "EventList",
    "QuenchingCoefficients",
    "ReleaseData",
    "load_release",
    "read_efficiency_coefficients",
    "read_events",
    "read_quenching_coefficients",
    "read_shape",
]

#: Role of each release file -> its file name inside the release folder.
RELEASE_FILES: dict[str, str] = {
    "events_c": "dataBeamOnC.txt",
    "events_ac": "dataBeamOnAC.txt",
    "brn_pe": "brnPE.txt",
    "brn_t": "brnTrec.txt",
    "nin_pe": "ninPE.txt",
    "nin_t": "ninTrec.txt",
    "quenching": "scintRespCoefficients.txt",
    "efficiency": "effCoefficients.txt",
}

#: Relative tolerance on the uniformity of bin centres in the shape files.
_SPACING_RTOL = 1e-6
#: Number of coefficients per block of the coefficient files (a, b, c, d).
_N_COEFFICIENTS = 4


class EventList(NamedTuple):
    """Selected beam-on events of one window (C or AC), one entry per event.

    Attributes:
        pe: reconstructed energy of each event, PE (float64).
        t_us: reconstructed time ``t_rec`` of each event, µs (float64).
        path: the file the events were read from.
    """

    pe: np.ndarray
    t_us: np.ndarray
    path: Path


class BinnedShape(NamedTuple):
    """A 1D histogram given in the release as (bin centre, content) rows.

    Attributes:
        edges: the ``n + 1`` bin edges, in the units of the file's first column (PE or µs).
        values: the ``n`` bin contents (>= 0), as given in the file (no renormalization).
        path: the file the shape was read from.
    """

    edges: np.ndarray
    values: np.ndarray
    path: Path


class QuenchingCoefficients(NamedTuple):
    """Coefficients of the CsI[Na] quenching polynomial.

    ``Eee = a x + b x^2 + c x^3 + d x^4`` with ``x`` the nuclear-recoil energy in MeVnr and
    ``Eee`` the electron-equivalent energy in MeVee.

    Attributes:
        nominal: ``(a, b, c, d)`` of the nominal model, shape (4,).
        modes: one ``(plus_1sigma, minus_1sigma)`` pair per PCA mode, ordered by mode number;
            each array has shape (4,).
        path: the file the coefficients were read from.
    """

    nominal: np.ndarray
    modes: tuple[tuple[np.ndarray, np.ndarray], ...]
    path: Path


class EfficiencyCoefficients(NamedTuple):
    """Coefficients of the energy efficiency ``eps_E(x) = a / (1 + exp(-b (x - c))) + d``.

    ``x`` is the reconstructed energy in PE (the release clips ``eps_E`` at 0).

    Attributes:
        nominal: ``(a, b, c, d)`` of the nominal curve, shape (4,).
        plus: the +1 sigma set (higher efficiency: threshold ``c`` below nominal), shape (4,).
        minus: the -1 sigma set (threshold ``c`` above nominal), shape (4,).
        path: the file the coefficients were read from.
    """

    nominal: np.ndarray
    plus: np.ndarray
    minus: np.ndarray
    path: Path


class ReleaseData(NamedTuple):
    """Everything in the release folder, read and validated (see :func:`load_release`)."""

    events_c: EventList
    events_ac: EventList
    brn_pe: BinnedShape
    brn_t: BinnedShape
    nin_pe: BinnedShape
    nin_t: BinnedShape
    quenching: QuenchingCoefficients
    efficiency: EfficiencyCoefficients
    data_dir: Path


# --------------------------------------------------------------------------------------------
# low-level helpers


def _read_table(
    path: str | Path, n_cols: int, what: str, meaning: str
) -> tuple[Path, np.ndarray, np.ndarray]:
    """Read a file of ``n_cols`` numeric columns; ``#`` lines and blank lines are skipped.

    Returns the checked path, a float64 array of shape (rows, n_cols) with at least one row,
    and the 1-based line number in the file of each row (for error messages).
    """
    p = require_file(path, what)
    rows: list[list[float]] = []
    linenos: list[int] = []
    for lineno, line in enumerate(read_lines(p, what), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        rows.append(parse_numbers(p, lineno, line, n_cols, meaning))
        linenos.append(lineno)
    if not rows:
        raise DataError(f"{p}: {what} has no data rows (expected lines of {n_cols} numbers)")
    return p, np.asarray(rows, dtype=np.float64), np.asarray(linenos, dtype=np.int64)


def _first_line(mask: np.ndarray, linenos: np.ndarray) -> int:
    """Line number in the file of the first row where ``mask`` is true."""
    return int(linenos[int(np.argmax(mask))])


# --------------------------------------------------------------------------------------------
# event lists and binned shapes


def read_events(path: str | Path) -> EventList:
    """Read a list of selected events (``dataBeamOnC.txt`` or ``dataBeamOnAC.txt``).

    The file holds ``#`` comment lines, then one event per line: reconstructed energy (PE) and
    reconstructed time ``t_rec`` (µs), separated by whitespace.

    Raises:
        DataError: missing or unreadable file, no events, a line without exactly two numbers,
            a non-numeric or non-finite value, a negative energy or a negative time.
    """
    p, data, linenos = _read_table(path, 2, "event list", "energy in PE, t_rec in µs")
    pe, t_us = data[:, 0].copy(), data[:, 1].copy()
    for column, name, unit in ((pe, "energy", "PE"), (t_us, "time t_rec", "µs")):
        bad = column < 0
        if bad.any():
            lineno = _first_line(bad, linenos)
            raise DataError(
                f"{p}: line {lineno}: negative event {name} {column[bad][0]:g} {unit} "
                f"(expected >= 0)"
            )
    return EventList(pe=pe, t_us=t_us, path=p)


def read_shape(path: str | Path, *, quantity: str) -> BinnedShape:
    """Read a binned shape given as (bin centre, content) rows.

    ``quantity="pe"`` for ``brnPE.txt`` / ``ninPE.txt`` (centres 0.5 .. 249.5 PE, 1 PE bins);
    ``quantity="t_us"`` for ``brnTrec.txt`` / ``ninTrec.txt`` (centres -0.245 .. 6.245 µs,
    0.01 µs bins). The bin edges are rebuilt from the centres, which must be increasing and
    uniformly spaced to a relative tolerance of 1e-6. For ``"pe"`` the lowest edge must be
    >= 0 PE; for ``"t_us"`` negative times are legitimate (the release covers -0.25 .. 6.25 µs).

    Raises:
        ConfigError: ``quantity`` is neither ``"pe"`` nor ``"t_us"``.
        DataError: missing or unreadable file, malformed line, fewer than two rows, non-uniform
            or non-increasing centres, a negative lower PE edge, a negative content, or all
            contents zero.
    """
    if quantity not in ("pe", "t_us"):
        raise ConfigError(f"read_shape: quantity must be 'pe' or 't_us', got {quantity!r}")
    unit = "PE" if quantity == "pe" else "µs"
    p, data, linenos = _read_table(path, 2, "binned shape", f"bin centre in {unit}, bin content")
    centres, values = data[:, 0], data[:, 1].copy()
    n = centres.size
    if n < 2:
        raise DataError(f"{p}: only {n} bin; expected at least 2 rows to define the bin width")
    steps = np.diff(centres)
    width = (centres[-1] - centres[0]) / (n - 1)
    if width <= 0 or np.any(steps <= 0):
        lineno = _first_line(np.r_[False, steps <= 0], linenos)
        raise DataError(f"{p}: line {lineno}: bin centres must be strictly increasing")
    # compare each step with the median step, so that the message points at the odd one out
    step = float(np.median(steps))
    odd = np.abs(steps - step) > _SPACING_RTOL * step
    if odd.any():
        raise DataError(
            f"{p}: line {_first_line(np.r_[False, odd], linenos)}: bin centres are not uniformly "
            f"spaced (expected a step of {step:g} {unit} to a relative 1e-6, found "
            f"{steps[int(np.argmax(odd))]:g})"
        )
    edges = centres[0] - 0.5 * width + width * np.arange(n + 1, dtype=np.float64)
    if quantity == "pe" and edges[0] < -1e-9 * width:
        raise DataError(
            f"{p}: lowest PE bin edge is {edges[0]:g} (expected >= 0 PE; first centre "
            f"{centres[0]:g}, width {width:g})"
        )
    if quantity == "pe":
        edges[0] = max(edges[0], 0.0)
    negative = values < 0
    if negative.any():
        lineno = _first_line(negative, linenos)
        raise DataError(
            f"{p}: line {lineno}: negative bin content {values[negative][0]:g} (expected >= 0)"
        )
    if not values.any():
        raise DataError(f"{p}: all {n} bin contents are zero (expected a non-empty shape)")
    return BinnedShape(edges=edges, values=values, path=p)


# --------------------------------------------------------------------------------------------
# coefficient files

_NOMINAL_RE = re.compile(r"\bnominal\b", re.IGNORECASE)
_SYST_RE = re.compile(
    r"\bsyst(?:ematic)?\s+model\s*(?P<mode>\d+)?\s*,\s*(?P<sign>[+-])\s*1\s*sigma\b",
    re.IGNORECASE,
)


class _Block(NamedTuple):
    """One header + data line of a coefficient file."""

    kind: str  # "nominal" or "syst"
    mode: int | None  # PCA mode number (None when the header gives none)
    sign: int  # +1 or -1 for "syst"; 0 for "nominal"
    header_line: int
    label: str  # the header text, for messages
    values: np.ndarray | None
    data_line: int | None


def _read_blocks(path: str | Path, what: str) -> tuple[Path, list[_Block]]:
    """Split a coefficient file into blocks by their ``#`` headers.

    A header is a comment matching ``nominal`` or ``syst model [k], <+|->1 sigma``; other
    comments are ignored. Each header must be followed by exactly one line of 4 numbers before
    the next header or the end of the file.
    """
    p = require_file(path, what)
    blocks: list[_Block] = []
    current: _Block | None = None

    def close(block: _Block | None) -> None:
        if block is None:
            return
        if block.values is None:
            raise DataError(
                f"{p}: block {block.label!r} (line {block.header_line}) has no line of "
                f"{_N_COEFFICIENTS} coefficients (expected one line 'a b c d' after the header)"
            )
        blocks.append(block)

    for lineno, line in enumerate(read_lines(p, what), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            syst = _SYST_RE.search(text)
            if syst is not None:
                close(current)
                mode = syst.group("mode")
                current = _Block(
                    kind="syst",
                    mode=None if mode is None else int(mode),
                    sign=1 if syst.group("sign") == "+" else -1,
                    header_line=lineno,
                    label=text,
                    values=None,
                    data_line=None,
                )
            elif _NOMINAL_RE.search(text):
                close(current)
                current = _Block("nominal", None, 0, lineno, text, None, None)
            continue
        if current is None:
            raise DataError(
                f"{p}: line {lineno}: coefficients without a block header (expected a "
                f"'# Nominal ...' or '# Syst model ..., +/-1 sigma' line before them)"
            )
        if current.values is not None:
            raise DataError(
                f"{p}: line {lineno}: second line of numbers in block {current.label!r} "
                f"(line {current.header_line}); expected exactly one line of "
                f"{_N_COEFFICIENTS} coefficients per block"
            )
        numbers = parse_numbers(p, lineno, line, _N_COEFFICIENTS, "coefficients a b c d")
        current = current._replace(values=np.asarray(numbers, dtype=np.float64), data_line=lineno)
    close(current)
    if not blocks:
        raise DataError(
            f"{p}: no coefficient blocks found (expected a '# Nominal ...' header followed by a "
            f"line of {_N_COEFFICIENTS} numbers, and '# Syst model ..., +/-1 sigma' blocks)"
        )
    return p, blocks


def _nominal_block(p: Path, blocks: list[_Block]) -> np.ndarray:
    """The values of the single nominal block of a coefficient file."""
    nominal = [b for b in blocks if b.kind == "nominal"]
    if not nominal:
        raise DataError(f"{p}: no nominal block (expected a '# Nominal ...' header and 4 numbers)")
    if len(nominal) > 1:
        lines = ", ".join(str(b.header_line) for b in nominal)
        raise DataError(f"{p}: {len(nominal)} nominal blocks (lines {lines}); expected one")
    assert nominal[0].values is not None
    return nominal[0].values


def read_quenching_coefficients(path: str | Path) -> QuenchingCoefficients:
    """Read the quenching coefficients (``scintRespCoefficients.txt``).

    The file is parsed by its comment headers, not by line numbers: ``# Nominal ...`` and
    ``# Syst model <k>, <+|->1 sigma``, each followed by one line of 4 numbers ``a b c d`` of
    ``Eee[MeVee] = a x + b x^2 + c x^3 + d x^4`` with ``x`` in MeVnr. One nominal block is
    required, at least one PCA mode, modes numbered 0..K-1 without gaps, and for every mode
    exactly one +1 sigma and one -1 sigma block.

    Raises:
        DataError: missing or unreadable file, missing/duplicate block, a mode lacking one
            sign, a gap in the mode numbers, or a block line without exactly 4 finite numbers.
    """
    p, blocks = _read_blocks(path, "quenching coefficient file")
    nominal = _nominal_block(p, blocks)
    by_mode: dict[int, dict[int, _Block]] = {}
    for b in blocks:
        if b.kind != "syst":
            continue
        if b.mode is None:
            raise DataError(
                f"{p}: line {b.header_line}: header {b.label!r} has no mode number "
                f"(expected '# Syst model <k>, +1 sigma' / '-1 sigma')"
            )
        signs = by_mode.setdefault(b.mode, {})
        if b.sign in signs:
            raise DataError(
                f"{p}: line {b.header_line}: duplicate block {b.label!r} (already at line "
                f"{signs[b.sign].header_line})"
            )
        signs[b.sign] = b
    if not by_mode:
        raise DataError(
            f"{p}: no systematic blocks (expected '# Syst model 0, +1 sigma' and "
            f"'# Syst model 0, -1 sigma' at least)"
        )
    expected_modes = list(range(max(by_mode) + 1))
    if sorted(by_mode) != expected_modes:
        missing = sorted(set(expected_modes) - set(by_mode))
        raise DataError(
            f"{p}: PCA modes {sorted(by_mode)} found; expected modes numbered 0..{max(by_mode)} "
            f"without gaps (missing {missing})"
        )
    modes: list[tuple[np.ndarray, np.ndarray]] = []
    for k in expected_modes:
        signs = by_mode[k]
        for sign, name in ((1, "+1 sigma"), (-1, "-1 sigma")):
            if sign not in signs:
                raise DataError(
                    f"{p}: syst model {k} lacks its {name} block (expected a "
                    f"'# Syst model {k}, {name}' header followed by 4 numbers)"
                )
        plus, minus = signs[1].values, signs[-1].values
        assert plus is not None and minus is not None
        modes.append((plus, minus))
    return QuenchingCoefficients(nominal=nominal, modes=tuple(modes), path=p)


def read_efficiency_coefficients(path: str | Path) -> EfficiencyCoefficients:
    """Read the energy-efficiency coefficients (``effCoefficients.txt``).

    ``eps_E(x) = a / (1 + exp(-b (x - c))) + d`` with ``x`` in PE. The file is parsed by its
    comment headers: ``# Nominal ...`` then two ``# Syst model[ 0], <+|->1 sigma`` blocks, each
    followed by one line of 4 numbers ``a b c d``.

    Labelling slip in the release: both systematic blocks of the published file are headed
    ``# Syst model, +1 sigma``; the second one (c = 11.88 PE) is in fact the -1 sigma set.
    The rule applied here:

    * a proper ``+1`` / ``-1`` pair is taken as labelled;
    * if both blocks carry the same label, they are assigned by the physics: +1 sigma is the
      set of higher efficiency, i.e. with threshold ``c`` below the nominal ``c``; -1 sigma is
      the set with ``c`` above nominal. If the two thresholds are not on opposite sides of the
      nominal one, the file is ambiguous and a DataError is raised.

    Raises:
        DataError: missing or unreadable file, no nominal block, not exactly two systematic
            blocks of one mode, an ambiguous pair, or a block line without exactly 4 finite
            numbers.
    """
    p, blocks = _read_blocks(path, "efficiency coefficient file")
    nominal = _nominal_block(p, blocks)
    syst = [b for b in blocks if b.kind == "syst"]
    modes = sorted({b.mode for b in syst if b.mode is not None})
    if modes and modes != [0]:
        raise DataError(
            f"{p}: systematic blocks for modes {modes}; expected a single PCA mode "
            f"('# Syst model, +1 sigma' / '-1 sigma', or mode 0)"
        )
    if len(syst) != 2:
        found = ", ".join(f"{b.label!r} (line {b.header_line})" for b in syst) or "none"
        raise DataError(
            f"{p}: expected exactly two systematic blocks (+1 sigma and -1 sigma), found "
            f"{len(syst)}: {found}"
        )
    first, second = syst
    assert first.values is not None and second.values is not None
    if first.sign != second.sign:
        plus, minus = (first, second) if first.sign > 0 else (second, first)
        assert plus.values is not None and minus.values is not None
        return EfficiencyCoefficients(nominal=nominal, plus=plus.values, minus=minus.values, path=p)
    c_nom, c1, c2 = nominal[2], first.values[2], second.values[2]
    if c1 < c_nom < c2:
        plus_values, minus_values = first.values, second.values
    elif c2 < c_nom < c1:
        plus_values, minus_values = second.values, first.values
    else:
        raise DataError(
            f"{p}: both systematic blocks (lines {first.header_line} and {second.header_line}) "
            f"are labelled {first.label!r} and their thresholds c = {c1:g}, {c2:g} PE are not on "
            f"opposite sides of the nominal c = {c_nom:g} PE; cannot tell +1 sigma from -1 sigma"
        )
    return EfficiencyCoefficients(nominal=nominal, plus=plus_values, minus=minus_values, path=p)


# --------------------------------------------------------------------------------------------
# the whole release


def load_release(data_dir: str | Path = DEFAULT_DATA_DIR) -> ReleaseData:
    """Read and validate every text file of the release folder ``data_dir``.

    The file names are those of :data:`RELEASE_FILES`. All missing files are reported at once.

    Raises:
        DataError: the folder does not exist or is not a folder, some files are missing (the
            message names them and the folder), or any file fails its reader's checks.
    """
    d = Path(data_dir)
    if not d.exists():
        raise DataError(
            f"{d}: release folder not found (expected a folder holding "
            f"{', '.join(RELEASE_FILES.values())})"
        )
    if not d.is_dir():
        raise DataError(f"{d}: release folder is not a directory")
    missing = [name for name in RELEASE_FILES.values() if not (d / name).is_file()]
    if missing:
        raise DataError(
            f"{d}: release folder lacks {len(missing)} file(s): {', '.join(missing)} "
            f"(expected all of {', '.join(RELEASE_FILES.values())})"
        )
    f = {role: d / name for role, name in RELEASE_FILES.items()}
    return ReleaseData(
        events_c=read_events(f["events_c"]),
        events_ac=read_events(f["events_ac"]),
        brn_pe=read_shape(f["brn_pe"], quantity="pe"),
        brn_t=read_shape(f["brn_t"], quantity="t_us"),
        nin_pe=read_shape(f["nin_pe"], quantity="pe"),
        nin_t=read_shape(f["nin_t"], quantity="t_us"),
        quenching=read_quenching_coefficients(f["quenching"]),
        efficiency=read_efficiency_coefficients(f["efficiency"]),
        data_dir=d,
    )
