"""The output layer: every result file (JSON, NetCDF, NumPy archives, figures, Markdown) is
written through :func:`atomic_path`, to a temporary file beside the target and then an atomic
rename, so an interrupted run never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if path.is_dir():
            raise IsADirectoryError(21, "is a folder, expected a file path", str(path))
        # mkstemp creates files readable by the owner only; give results the usual mode
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically. NaN/inf become null."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(obj), indent=2) + "\n")
    return Path(path)


def write_npz(path: str | Path, arrays: Mapping[str, Any]) -> Path:
    """Write named arrays as a compressed NumPy archive (``.npz``), atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return Path(path)


def save_figure(fig, path: str | Path, dpi: int = 130) -> Path:
    """Save a matplotlib figure atomically (format from the suffix of ``path``)."""
    import matplotlib

    from cevns_bayes.plots.style import hep_style

    path = Path(path)
    # text is laid out when the figure is drawn, i.e. here: under the style it was made in
    with atomic_path(path) as tmp, matplotlib.rc_context(hep_style()):
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path


def save_figures(
    figures: Mapping[str, Any], folder: str | Path, dpi: int = 130, *, pdf: bool = True
) -> list[Path]:
    """Save each figure of ``{file name: figure}`` into ``folder`` (:func:`save_figure`) and
    close it; a PNG is also written as PDF (vector, for papers) unless ``pdf=False``.
    Returns the paths in order (the PNGs; the PDFs sit beside them)."""
    import matplotlib.pyplot as plt

    paths = []
    for name, fig in figures.items():
        path = save_figure(fig, Path(folder) / name, dpi=dpi)
        if pdf and path.suffix == ".png":
            save_figure(fig, path.with_suffix(".pdf"))
        paths.append(path)
        plt.close(fig)
    return paths
