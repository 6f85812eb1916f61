"""Run a studio call on a worker QThread and turn its progress callbacks into Qt signals.

A :class:`Worker` wraps ``fn(*args, progress=..., cancel=..., **kwargs)`` (the calling
convention of every long studio call). Signals, emitted on the GUI thread:

- ``started()`` when the call begins,
- ``progressed(fraction, message)`` at most every ``interval`` seconds (a new message sooner, so
  stages are not skipped, but never a flood that would starve the event loop),
- ``returned(result)`` when it returns,
- ``aborted()`` when it stopped because :meth:`Worker.abort` set its cancel event,
- ``errored(exception)`` when it raised anything else (traceback kept on the exception),
- ``finished()`` always, last.

Abort is cooperative (superqt/napari style): it sets a :class:`threading.Event` that the
studio call checks between steps.

While any worker runs, Python's cyclic garbage collector runs only on the GUI thread
(:class:`GuiCollector`, the way pyqtgraph does it): a collection started by an allocation
on a worker thread can destroy a QObject there, and ``~QObject`` then holds Qt's
signal-slot lock while it waits for the GIL, which the GUI thread holds while it waits for
that lock (in ``connect``, or a media player's ``stop``): a deadlock, seen as a test run
that never ends.
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from expotion_engine.errors import Cancelled

log = logging.getLogger(__name__)

#: Workers whose thread is still running; keeps them alive until ``finished``.
_ACTIVE: set[Worker] = set()

#: how often (ms) the GUI thread collects garbage while workers run
COLLECT_MS = 500

#: GIL switch interval while workers run (s). Python's 5 ms default lets a busy worker make
#: every Qt call of the GUI thread wait up to 5 ms for the GIL; painting a view makes
#: hundreds, so the window would stall. 1 ms keeps the GUI thread responsive.
SWITCH_INTERVAL = 0.001


class GuiCollector(QObject):
    """Turns automatic garbage collection off while workers run and collects on the GUI thread instead."""

    def __init__(self) -> None:
        super().__init__()
        self._owned = False
        self._timer = QTimer(self)
        self._timer.setInterval(COLLECT_MS)
        self._timer.timeout.connect(self.collect)

    @property
    def active(self) -> bool:
        """True while automatic collection is off because of running workers."""
        return self._owned

    def update(self) -> None:
        """Called on the GUI thread whenever a worker starts or ends."""
        running = any(worker.is_running() for worker in _ACTIVE)
        if running and not self._owned and gc.isenabled():
            gc.disable()
            self._owned = True
            self._timer.start()
        elif not running and self._owned:
            self._timer.stop()
            self._owned = False
            gc.enable()
            self.collect()

    @Slot()
    def collect(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds (as automatic collection would)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = max((g for g in range(3) if counts[g] > thresholds[g]), default=-1)
        if generation >= 0:
            gc.collect(generation)


_COLLECTOR: GuiCollector | None = None


def _collector() -> GuiCollector:
    global _COLLECTOR
    if _COLLECTOR is None:
        _COLLECTOR = GuiCollector()
    return _COLLECTOR


class _Runner(QObject):
    """Lives on the worker thread; calls the function and reports back through signals."""

    started = Signal()
    progressed = Signal(float, str)
    returned = Signal(object)
    aborted = Signal()
    errored = Signal(object)
    done = Signal()

    def __init__(self, call: Callable[[Callable[[float, str], None], threading.Event], Any],
                 cancel: threading.Event, interval: float) -> None:
        super().__init__()
        self._call = call
        self._cancel = cancel
        self._interval = interval
        self._last_time = 0.0
        self._last_message = ""

    def _progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        elapsed = now - self._last_time
        new_stage = message != self._last_message and elapsed >= self._interval / 5
        if new_stage or fraction >= 1.0 or elapsed >= self._interval:
            self._last_time = now
            self._last_message = message
            self.progressed.emit(float(min(max(fraction, 0.0), 1.0)), str(message))

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            result = self._call(self._progress, self._cancel)
        except Cancelled:
            self.aborted.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI, never kill the thread
            log.debug("worker call failed", exc_info=True)
            self.errored.emit(exc)
        else:
            if self._cancel.is_set():
                self.aborted.emit()
            else:
                self.returned.emit(result)
        finally:
            self.done.emit()


class Worker(QObject):
    """One studio call on its own QThread, with started/progressed/returned/errored/finished."""

    started = Signal()
    progressed = Signal(float, str)
    returned = Signal(object)
    aborted = Signal()
    errored = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "", interval: float = 0.05,
                 **kwargs: Any) -> None:
        super().__init__()
        self.name = name or getattr(fn, "__name__", "job")
        self._cancel = threading.Event()

        def call(progress: Callable[[float, str], None], cancel: threading.Event) -> Any:
            return fn(*args, progress=progress, cancel=cancel, **kwargs)

        self._thread = QThread()
        self._thread.setObjectName(f"worker:{self.name}")
        self._runner = _Runner(call, self._cancel, interval)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.started.connect(self.started)
        self._runner.progressed.connect(self.progressed)
        self._runner.returned.connect(self.returned)
        self._runner.aborted.connect(self.aborted)
        self._runner.errored.connect(self.errored)
        # direct: the thread must end even while the GUI thread is blocked in wait() (closing the app)
        self._runner.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)
        self._started = False
        self._finished = False

    @property
    def abort_requested(self) -> bool:
        return self._cancel.is_set()

    def is_running(self) -> bool:
        return self._started and not self._finished

    def is_finished(self) -> bool:
        """True once ``finished`` has been emitted (the result, error or abort was delivered)."""
        return self._finished

    def start(self) -> Worker:
        """Start the call on its thread; returns ``self`` for chaining."""
        if self._started:
            raise RuntimeError(f"worker {self.name!r} was already started")
        self._started = True
        _ACTIVE.add(self)
        _collector().update()
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()
        return self

    def abort(self) -> None:
        """Ask the call to stop at its next cancellation check."""
        self._cancel.set()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the thread has ended (for shutdown and tests); True when it did."""
        return self._thread.wait(timeout_ms)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._finished = True
        _ACTIVE.discard(self)
        _collector().update()
        self.finished.emit()


def abort_all(warn_after_ms: int = 5_000) -> None:
    """Abort every running worker and wait until each thread has ended (when the app closes, and at exit).

    A call that reaches no cancellation check for ``warn_after_ms`` (an import, one long
    library call) is logged and still waited for: a QThread destroyed while it runs aborts Python.
    """
    for worker in list(_ACTIVE):
        worker.abort()
    for worker in list(_ACTIVE):
        while not worker.wait(warn_after_ms):
            log.warning("worker %s has not stopped after %d ms; still waiting for it", worker.name, warn_after_ms)
        worker._finished = True  # joined: its queued ``finished`` may never be delivered (the loop has ended)
        _ACTIVE.discard(worker)
    if _COLLECTOR is not None:
        _COLLECTOR.update()


# runs before the interpreter tears modules down, so no worker's QThread is ever destroyed running
atexit.register(abort_all)
