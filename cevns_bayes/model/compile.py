"""How every pytensor function of the package is compiled: one backend, chosen in one place.

The likelihood and its gradient are evaluated hundreds of thousands of times per analysis, so
the backend matters. Measured with ``scripts/benchmark.py`` on the 2-core reference machine
(xsec, 9 × 11 bins, 10 free parameters, ln L + gradient):

- ``numba`` (the default): the whole graph becomes one LLVM-compiled function; no per-node
  interpreter overhead and no dependence on a system BLAS (pip-installed pytensor links none).
- ``c``: pytensor's C backend (``FAST_RUN``), about 2.4× slower here, mostly per-node overhead
  and numpy-C-API matrix products.

Two settings make the numba backend compile quickly (a new graph still takes ≈ 15 s to
compile whole, so only the functions evaluated many times use it: ``hot`` in
:func:`compile_function`):

- the large lookup tables of the forward model are shared variables, not constants
  (:meth:`ForwardModel.table`), so numba can cache the compiled graph on disk: a second
  process compiles the same graph in well under a second instead of ~15 s;
- the rewrite ``local_greedy_distributor`` is left out: on this graph it takes most of the
  rewrite time (≈ 5 of 7 s) and changes nothing measurable in the run time.

``CEVNS_BAYES_BACKEND=c`` (or ``numba``) in the environment chooses the backend, e.g. to compare
them with the benchmark.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from cevns_bayes.errors import ConfigError

BACKENDS = ("numba", "c")
BACKEND_ENV = "CEVNS_BAYES_BACKEND"
#: pytensor modes per backend
_MODE_NAMES = {"numba": "NUMBA", "c": "FAST_RUN"}
#: rewrites left out of every mode (slow on this graph, no run-time gain)
EXCLUDED_REWRITES = ("local_greedy_distributor",)


def backend() -> str:
    """The compile backend: ``$CEVNS_BAYES_BACKEND`` or ``"numba"``."""
    name = os.environ.get(BACKEND_ENV, "numba").strip().lower() or "numba"
    if name not in BACKENDS:
        raise ConfigError(f"{BACKEND_ENV}={name!r} unknown; expected one of {', '.join(BACKENDS)}")
    return name


def pytensor_mode(name: str | None = None):
    """The pytensor ``Mode`` of backend ``name`` (default :func:`backend`)."""
    from pytensor.compile.mode import get_mode

    name = backend() if name is None else name
    if name not in BACKENDS:
        raise ConfigError(f"backend {name!r} unknown; expected one of {', '.join(BACKENDS)}")
    mode = get_mode(_MODE_NAMES[name])
    for rewrite in EXCLUDED_REWRITES:
        mode = mode.excluding(rewrite)
    return mode


def compile_function(inputs: Sequence[Any], outputs: Any, *, hot: bool = True, **kwargs):
    """``pytensor.function`` with the package's mode.

    ``hot``: the function is evaluated many times (a likelihood and its gradient in a fit, a
    sampler or a grid) and gets the fast backend (:func:`backend`). Functions called a few
    times (expected counts of a best fit, a one-off evaluation, the fits of a difference
    budget variant) are compiled with the C backend, whose per-operation cache makes a new
    graph cost seconds, where numba compiles every new graph whole (≈ 15 s).
    """
    import pytensor

    mode = kwargs.pop("mode", None)
    if mode is None:
        mode = pytensor_mode() if hot else pytensor_mode("c")
    return pytensor.function(list(inputs), outputs, mode=mode, **kwargs)
