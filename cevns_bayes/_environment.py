"""Settings made before pytensor and ArviZ are imported: two warnings a user can do nothing
about, one removed at its cause and one filtered.

* pytensor's "could not link to a BLAS installation": pip's numpy and scipy ship OpenBLAS
  with every symbol renamed (``scipy_dgemm_``), so pytensor's C code cannot link to it, and its
  search (≈ 0.4 s of test compilations in every new process) ends with empty link flags and
  the warning. The package's graphs are small: their products go through numpy's C API, which
  calls that same OpenBLAS, so nothing is lost (README, "Performance"). When no linkable BLAS
  is in sight (no libblas / libopenblas / MKL in the environment or on the loader path) the
  flags are set empty up front, which is what the search would conclude, without the search
  or the warning; an environment with one (conda's MKL or OpenBLAS) keeps pytensor's search.
  A ``blas__ldflags`` the user set in ``PYTENSOR_FLAGS`` is never touched.
  With the flags empty (set here or found so by the search) pytensor also logs "Using NumPy
  C-API based implementation for BLAS functions." whenever it compiles a matrix product's C
  code on an empty cache: that is the fallback just described, so the line is filtered (any
  other message of that logger still shows).
* ArviZ's daily "ArviZ is undergoing a major refactor" FutureWarning announces its own
  future API; the package pins the current one (pyproject), so the notice is filtered.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import warnings

_BLAS_NAMES = ("blas", "openblas", "mkl_rt", "cblas")


def _linkable_blas() -> bool:
    import ctypes.util

    libdirs = [os.path.join(sys.prefix, "lib"), os.path.join(sys.prefix, "Library", "bin")]
    for d in libdirs:
        for name in _BLAS_NAMES:
            if glob.glob(os.path.join(d, f"lib{name}.*")) or glob.glob(
                os.path.join(d, f"{name}*.dll")
            ):
                return True
    return any(ctypes.util.find_library(name) for name in _BLAS_NAMES)


class _DropNumpyBlasNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Using NumPy C-API based implementation for BLAS" not in record.getMessage()


def configure() -> None:
    """Apply the settings above (idempotent)."""
    blas_log = logging.getLogger("pytensor.tensor.blas")
    if not any(isinstance(f, _DropNumpyBlasNotice) for f in blas_log.filters):
        blas_log.addFilter(_DropNumpyBlasNotice())
    warnings.filterwarnings(
        "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
    )
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "blas__ldflags" in flags or "pytensor" in sys.modules:
        return
    if not _linkable_blas():
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, "blas__ldflags=") if f)


configure()
