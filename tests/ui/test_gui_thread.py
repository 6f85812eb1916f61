"""What keeps the GUI thread safe and quick: garbage collected on it alone while workers run, fast polylines."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
from PySide6.QtCore import QObject

from ui.polygons import polygon
from ui.workers import Worker


class _Cycle(QObject):
    """A QObject kept alive only by a reference cycle: freed by the cyclic collector alone."""

    def __init__(self) -> None:
        super().__init__()
        self.me = self


def test_while_a_worker_runs_garbage_is_collected_on_the_gui_thread_only(qapp, qtbot) -> None:
    assert gc.isenabled()
    release = threading.Event()
    seen: list[bool] = []

    def job(*, progress, cancel) -> None:
        garbage = [[i] for i in range(50_000)]  # allocations that would start a collection on this thread
        seen.append(gc.isenabled())
        release.wait(30)
        del garbage

    worker = Worker(job, name="allocating").start()
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert seen == [False]  # automatic collection is off while the worker runs
    cycle = _Cycle()
    alive = weakref.ref(cycle)
    freed_on: list[int] = []
    weakref.finalize(cycle, lambda: freed_on.append(threading.get_ident()))
    del cycle
    kept = [[] for _ in range(20_000)]  # live allocations: they pass the collection thresholds
    qtbot.waitUntil(lambda: alive() is None, timeout=10_000)  # the GUI thread's timer collected it
    del kept
    assert freed_on == [threading.get_ident()]
    release.set()
    qtbot.waitUntil(worker.is_finished, timeout=10_000)
    assert gc.isenabled()


def test_polygon_holds_the_points_it_was_given(qapp) -> None:
    xs = np.linspace(0.0, 640.0, 1001)
    ys = np.sin(xs / 50.0) * 20 + 40
    poly = polygon(xs, ys)
    assert poly.size() == 1001
    for i in (0, 1, 500, 1000):
        point = poly.at(i)
        assert (point.x(), point.y()) == (xs[i], ys[i])
    assert polygon(xs[:0], ys[:0]).isEmpty()
