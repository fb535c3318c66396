"""SHA-256 check of the shipped data files against ``data/SHA256SUMS``."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from cevns_bayes.errors import DataError
from cevns_bayes.io.text import read_lines, require_file
from cevns_bayes.paths import DEFAULT_DATA_DIR, DERIVED_FLUX_2021_DIR, FLUX_2018_FILE, SHA256SUMS

__all__ = ["HashCheck", "check_hashes", "sha256_of"]

#: One line of ``sha256sum`` output: 64 hex digits, two spaces (or space + '*'), a path.
_SUM_LINE = re.compile(r"^(?P<hex>[0-9a-fA-F]{64}) [ *](?P<path>\S.*)$")
_CHUNK = 1 << 20
#: Folder prefix of the sums entries that belong to the 2021-derived flux shapes.
_DERIVED_PREFIX = "sns-flux-2021-derived"


class HashCheck(NamedTuple):
    """Result of checking one entry of the sums file.

    Attributes:
        name: the path as written in the sums file (e.g. ``coherent-csi-2021/brnPE.txt``).
        path: the local file it was matched to.
        expected: the expected SHA-256 (lower-case hex).
        actual: the SHA-256 of the local file, or None when the file is not present.
        ok: whether the file is present and its hash matches.
    """

    name: str
    path: Path
    expected: str
    actual: str | None
    ok: bool


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as lower-case hex.

    Raises:
        DataError: the file cannot be read.
    """
    p = Path(path)
    digest = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError as err:
        raise DataError(f"{p}: cannot read file to hash it: {err.strerror or err}") from err
    return digest.hexdigest()


def _read_sums(sums_file: Path) -> list[tuple[int, str, str]]:
    """Parse a sums file into (line number, expected hex, relative path) entries."""
    entries: list[tuple[int, str, str]] = []
    for lineno, line in enumerate(read_lines(sums_file, "checksum file"), start=1):
        if not line.strip():
            continue
        match = _SUM_LINE.match(line.rstrip())
        if match is None:
            raise DataError(
                f"{sums_file}: line {lineno}: malformed checksum line {line.strip()!r} "
                f"(expected '<64 hex digits>  <relative path>')"
            )
        entries.append((lineno, match.group("hex").lower(), match.group("path")))
    if not entries:
        raise DataError(f"{sums_file}: no checksum lines (expected '<64 hex digits>  <path>')")
    return entries


def check_hashes(
    data_dir: str | Path = DEFAULT_DATA_DIR,
    flux_path: str | Path = FLUX_2018_FILE,
    sums_file: str | Path = SHA256SUMS,
    *,
    derived_flux_dir: str | Path = DERIVED_FLUX_2021_DIR,
) -> list[HashCheck]:
    """Check the release files, the flux file and the derived flux shapes against the sums file.

    Each line of ``sums_file`` is ``<hex>  <relpath>`` (``sha256sum`` output, relative to the
    data root). An entry under ``sns-flux-2021-derived/`` is matched to the file of that
    relative path under ``derived_flux_dir``. Any other entry is matched by its base name: to
    ``flux_path`` when the base names are equal, otherwise to the file of that name in
    ``data_dir``. A file that is not present gives ``actual=None, ok=False``; a mismatch gives
    ``ok=False``. Nothing is raised for a bad hash: the caller decides.

    Returns:
        one :class:`HashCheck` per line of the sums file, in file order.

    Raises:
        DataError: the sums file is missing, unreadable, empty or has a malformed line (the
            message names the line), or a present file cannot be read.
    """
    sums = require_file(sums_file, "checksum file")
    d, flux, derived = Path(data_dir), Path(flux_path), Path(derived_flux_dir)
    results: list[HashCheck] = []
    for _lineno, expected, rel in _read_sums(sums):
        parts = PurePosixPath(rel.replace("\\", "/")).parts
        base = parts[-1]
        if len(parts) > 1 and parts[0] == _DERIVED_PREFIX:
            local = derived.joinpath(*parts[1:])
        else:
            local = flux if base == flux.name else d / base
        actual = sha256_of(local) if local.is_file() else None
        results.append(
            HashCheck(name=rel, path=local, expected=expected, actual=actual, ok=actual == expected)
        )
    return results
