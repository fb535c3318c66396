"""Progress display on stderr for the long runs (posterior grid, 2-D profile scan, toys,
exclusion scans)."""

from __future__ import annotations

import sys
import time
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


class RateCounter:
    """``<what> k/n (rate/s, ETA)`` on stderr for a long run of independent items (toys, scan
    points): rewritten in place in a terminal; otherwise a line per item, or per 10% of the run
    with ``per_decile`` (so logs stay short). ``done`` items finished before (a resumed run)
    count towards k but not towards the rate."""

    def __init__(
        self, what: str, total: int, done: int, enabled: bool, *, per_decile: bool = False
    ) -> None:
        self.what, self.total, self.done, self.enabled = what, total, done, enabled
        self.per_decile = per_decile
        self.start_done = done
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._last_decile = -1
        if enabled:
            self._show()

    def update(self, k: int = 1) -> None:
        self.done += k
        if self.enabled:
            self._show()

    def _show(self) -> None:
        dt = time.perf_counter() - self.t0
        new = self.done - self.start_done
        rate = new / dt if dt > 0 and new else 0.0
        left = self.total - self.done
        eta = f", ETA {left / rate:.0f} s" if rate > 0 and left else ""
        line = f"{self.what} {self.done}/{self.total} ({rate:.2f}/s, {dt:.0f} s{eta})"
        if self.tty:
            end = "\n" if self.done >= self.total else ""
            print(f"\r{line}\033[K", end=end, file=sys.stderr, flush=True)
            return
        if self.per_decile:
            decile = int(10 * self.done / max(self.total, 1))
            if decile == self._last_decile and self.done < self.total:
                return
            self._last_decile = decile
        print(line, file=sys.stderr, flush=True)
