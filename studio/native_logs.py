"""Keep the C++ libraries' own stderr chatter (TFLite, absl from mediapipe) off the terminal.

Python's ``sys.stderr`` moves to a duplicate of file descriptor 2, and descriptor 2 itself
points at ``os.devnull``, so progress bars and error messages still show while native
log lines that cannot be configured from Python go nowhere. ``-vv`` keeps them.
"""

from __future__ import annotations

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
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr.close()
        sys.stderr = python_stderr
