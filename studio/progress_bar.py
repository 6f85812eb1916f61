"""Terminal progress for the CLI: a tqdm bar on stderr fed by the engine's callbacks.

Ctrl-C sets the cancel event instead of killing the process, so the running stage stops
cleanly at its next check and nothing half-written is left; a second Ctrl-C, or SIGTERM or
SIGHUP (a process manager or a closing terminal wants it gone now), also interrupts at once,
and every ``finally`` still removes staging files and kills child processes.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from expotion_engine.progress import ProgressFn


class TerminalProgress:
    """A progress callback drawing one bar; the bar appears only after ``delay`` seconds."""

    def __init__(self, description: str, delay: float = 1.0) -> None:
        self._bar = tqdm(
            total=1000,
            desc=description,
            file=sys.stderr,
            delay=delay,
            bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]",
            dynamic_ncols=True,
        )
        self._last = 0

    def __call__(self, fraction: float, message: str) -> None:
        step = int(round(min(max(fraction, 0.0), 1.0) * 1000))
        self._bar.set_postfix_str(message, refresh=False)  # before the update draws it: the line shows this message
        if step > self._last:
            self._bar.update(step - self._last)
            self._last = step

    def close(self) -> None:
        self._bar.close()


@contextmanager
def progress_and_cancel(description: str, delay: float = 1.0) -> Iterator[tuple[ProgressFn, threading.Event]]:
    """Yield ``(progress, cancel)`` for one CLI job; Ctrl-C sets ``cancel``, SIGTERM/SIGHUP also interrupt.

    The bar appears after ``delay`` seconds (0: at once, for jobs that always take a while).
    """
    cancel = threading.Event()
    bar = TerminalProgress(description, delay)
    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():

        def on_interrupt(signum: int, frame: object) -> None:
            if cancel.is_set() or signum != signal.SIGINT:
                cancel.set()
                raise KeyboardInterrupt
            cancel.set()

        previous = {sig: signal.signal(sig, on_interrupt) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        with logging_redirect_tqdm():  # a warning while the bar runs goes on its own line above the bar
            yield bar, cancel
    finally:
        bar.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
