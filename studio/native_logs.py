"""Keep the C++ libraries' own stderr chatter (TFLite, absl from mediapipe) off the terminal.

Python's ``sys.stderr`` moves to a duplicate of file descriptor 2, and descriptor 2 itself
points at ``os.devnull``, so progress bars and error messages still show while native
log lines that cannot be configured from Python go nowhere. ``-vv`` keeps them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silence_native_stderr() -> Iterator[None]:
    """Route native writes to fd 2 into /dev/null for the duration of the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding or "utf-8",
                           errors="backslashreplace")
    moved = [h for h in logging.getLogger().handlers
             if isinstance(h, logging.StreamHandler) and h.stream is python_stderr]
    for handler in moved:  # log warnings are Python's, not native chatter: they follow sys.stderr
        handler.setStream(sys.stderr)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        for handler in moved:
            handler.setStream(python_stderr)
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr.close()
        sys.stderr = python_stderr
