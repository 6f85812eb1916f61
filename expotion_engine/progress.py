"""Progress and cancellation as plain callbacks, so the CLI and the UI can both listen.

Every long call takes ``progress(fraction, message)`` (fraction in [0, 1]) and a
``cancel`` event (anything with ``is_set()``, normally :class:`threading.Event`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from expotion_engine.errors import Cancelled

ProgressFn = Callable[[float, str], None]


class CancelEvent(Protocol):
    """What a cancel argument must provide (``threading.Event`` does)."""

    def is_set(self) -> bool: ...


def no_progress(fraction: float, message: str) -> None:
    """A progress callback that ignores every report."""


def check_cancel(cancel: CancelEvent | None) -> None:
    """Raise :class:`Cancelled` when ``cancel`` has been set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("Cancelled by the user.")


def sub_progress(progress: ProgressFn | None, start: float, end: float) -> ProgressFn:
    """Map a stage's own 0..1 progress onto the ``start..end`` part of a parent's."""
    parent = progress or no_progress
    span = end - start

    def report(fraction: float, message: str) -> None:
        parent(start + span * min(max(fraction, 0.0), 1.0), message)

    return report
