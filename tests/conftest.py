"""Test-session settings.

The suite compiles many small variants of the forward graph (binnings, options, specs). The
numba backend compiles every new graph whole (≈ 15 s each, cached on disk afterwards), the C
backend per operation, so on a clean machine (CI) the suite runs on the C backend unless
``CEVNS_BAYES_BACKEND`` is set. ``tests/test_compile.py`` checks that the numba backend, the
default for users, gives the same likelihood and gradient.
"""

import os

os.environ.setdefault("CEVNS_BAYES_BACKEND", "c")
