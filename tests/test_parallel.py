"""map_forked: closures run in forked workers, results in order, same as running here."""

import os

import numpy as np

from cevns_bayes.parallel import default_workers, map_forked


def test_forked_workers_run_a_closure_and_keep_the_order():
    big = np.arange(10.0)  # state the workers inherit, never pickled
    seen = []

    def task(k):
        return (k, float(big[k] ** 2), os.getpid())

    out = map_forked(task, [3, 1, 4, 1, 5], workers=2, on_result=lambda i, r: seen.append(i))
    assert [r[:2] for r in out] == [(3, 9.0), (1, 1.0), (4, 16.0), (1, 1.0), (5, 25.0)]
    assert seen == [3, 1, 4, 1, 5]
    assert all(r[2] != os.getpid() for r in out)  # computed in the workers
    serial = map_forked(task, [3, 1, 4, 1, 5], workers=1)
    assert [r[:2] for r in serial] == [r[:2] for r in out]
    assert all(r[2] == os.getpid() for r in serial)


def test_local_items_run_here_and_come_first():
    out = map_forked(lambda k: (k, os.getpid()), [1, 2], workers=2, local=[7])
    assert [r[0] for r in out] == [7, 1, 2]
    assert out[0][1] == os.getpid()


def test_default_workers_never_exceeds_the_tasks():
    assert default_workers(1) == 1
    assert 1 <= default_workers(100) <= (os.cpu_count() or 1)
