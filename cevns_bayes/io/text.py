"""Reading the shipped text files: a file that must exist, its lines, and the numbers on a
line, every error a :class:`~cevns_bayes.errors.DataError` naming the file and the line.
Used by every reader in :mod:`cevns_bayes.io`."""

from __future__ import annotations

import math
from pathlib import Path

from cevns_bayes.errors import DataError


def require_file(path: str | Path, what: str) -> Path:
    """Return ``path`` as a Path after checking it names an existing regular file."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: {what} not found (expected an existing file)")
    if p.is_dir():
        raise DataError(f"{p}: {what} is a directory (expected a file)")
    if not p.is_file():
        raise DataError(f"{p}: {what} is not a regular file")
    return p


def read_lines(path: Path, what: str) -> list[str]:
    """Read a text file as a list of lines (without line ends); OS/decoding errors -> DataError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: {what} is not a UTF-8 text file ({err.reason})") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read {what}: {err.strerror or err}") from err
    return text.splitlines()


def parse_numbers(path: Path, lineno: int, line: str, n: int, meaning: str) -> list[float]:
    """Parse one whitespace-separated line of exactly ``n`` finite numbers.

    ``meaning`` describes the expected columns in error messages.
    """
    fields = line.split()
    if len(fields) != n:
        raise DataError(
            f"{path}: line {lineno}: expected {n} numbers ({meaning}), "
            f"found {len(fields)} field(s): {line.strip()!r}"
        )
    return finite_numbers(
        path, lineno, fields, meaning, f"expected {n} numbers: {meaning}): {line.strip()!r}"
    )


def finite_numbers(
    path: Path,
    lineno: int,
    fields: list[str],
    meaning: str,
    expected: str,
    first_field: int | None = None,
) -> list[float]:
    """The fields of one line as finite floats; errors name the file and line (and the field's
    number when ``first_field``, the number of ``fields[0]``, is given). ``expected`` closes the
    message of a field that is not a number, ``meaning`` that of a non-finite one."""
    values: list[float] = []
    for k, field in enumerate(fields, start=first_field or 1):
        at = f"line {lineno}: field {k}" if first_field else f"line {lineno}"
        try:
            value = float(field)
        except ValueError as err:
            name = f"{at} {field!r}" if first_field else f"{at}: {field!r}"
            raise DataError(f"{path}: {name} is not a number ({expected}") from err
        if not math.isfinite(value):
            raise DataError(
                f"{path}: {at}: non-finite value {field!r} (expected finite numbers: {meaning})"
            )
        values.append(value)
    return values
