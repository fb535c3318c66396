"""Progress display on stderr for the long scans (posterior grid, 2-D profile scan)."""

from __future__ import annotations

import sys
from collections.abc import Callable


def point_counter(total: int, enabled: bool) -> Callable[[int], None]:
    """An ``update(k)`` that rewrites ``grid k/total points`` on stderr about 50 times over the
    scan (and at the end); a no-op when not ``enabled``."""
    if not enabled:
        return lambda k: None

    step = max(total // 50, 1)

    def update(k: int) -> None:
        if k % step == 0 or k == total:
            sys.stderr.write(f"\rgrid {k}/{total} points")
            if k == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return update
