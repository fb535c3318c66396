"""Independent pieces of one computation on every core, sharing what is already in memory.

Grids of fits and the model variants of a difference budget are independent tasks that all use
the same compiled likelihood or the same loaded inputs. Forked worker processes inherit both,
so a worker starts at once: no import, no data loading, no compilation. Where the platform
cannot fork (or with one worker) the tasks run here, in order, with the same results.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: the task forked workers run (set only while a pool runs; inherited by the fork)
_TASK: Callable[[Any], Any] | None = None


def _run_task(item: Any) -> Any:
    return _TASK(item)


def default_workers(n_tasks: int) -> int:
    """One worker per core, at most one per task."""
    return max(1, min(os.cpu_count() or 1, n_tasks))


def map_forked(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int | None = None,
    on_result: Callable[[Any, Any], None] | None = None,
    local: Iterable[Any] = (),
) -> list[Any]:
    """``[fn(item) for item in items]``, computed by up to ``workers`` forked processes.

    ``fn`` may be a closure (it is not pickled: the workers inherit it); items and results are
    pickled. ``local`` items run in this process while the workers are busy (e.g. quick tasks
    that need state a worker must not touch) and their results come first in the returned
    list, followed by the results of ``items`` in order. ``on_result(item, result)`` is called
    as each result arrives (progress lines).
    """
    global _TASK
    from concurrent.futures import ProcessPoolExecutor

    items = list(items)
    workers = default_workers(len(items)) if workers is None else max(1, int(workers))
    workers = min(workers, max(len(items), 1))
    out_local = []
    if workers == 1 or "fork" not in mp.get_all_start_methods():
        for item in local:
            out_local.append(fn(item))
            if on_result:
                on_result(item, out_local[-1])
        out = []
        for item in items:
            out.append(fn(item))
            if on_result:
                on_result(item, out[-1])
        return out_local + out
    _TASK = fn
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            futures = [pool.submit(_run_task, item) for item in items]
            for item in local:
                out_local.append(fn(item))
                if on_result:
                    on_result(item, out_local[-1])
            out = []
            for item, fut in zip(items, futures):
                out.append(fut.result())
                if on_result:
                    on_result(item, out[-1])
    finally:
        _TASK = None
    return out_local + out
