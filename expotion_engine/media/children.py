"""Child processes (ffmpeg) that never outlive Expotion.

Every child runs in its own session and process group, so a terminal's Ctrl-C reaches only
Expotion (which then cancels and stops its children itself), and asks Linux to kill it when
its parent dies, even by SIGKILL. When the parent stops waiting for any reason (an error, a
time limit, a cancel) the child's whole group is killed and reaped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

#: ``prctl`` option: the signal a child gets when its parent dies
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Any:
    """libc's ``prctl``, looked up once in the parent (the child only calls it); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def die_with_parent() -> None:
    """In the child, before its program starts: ask Linux to kill it when its parent dies (even by SIGKILL)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def kill_group(process: subprocess.Popen) -> None:
    """Kill ``process`` and its whole process group (it runs in its own session), then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    process.wait()


def popen_child(command: Sequence[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen`` of ``command`` in its own session, dying with this process."""
    return subprocess.Popen(list(command), start_new_session=True, preexec_fn=die_with_parent, **kwargs)


def run_child(command: Sequence[str], *, input: bytes | str | None = None, timeout: float | None = None,
              text: bool = False, errors: str | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run(command, capture_output=True)`` with the child in its own group, dying with this
    process, and its group killed when the wait ends early (``timeout`` raises ``TimeoutExpired`` as
    ``subprocess.run`` does, an interrupt propagates)."""
    process = popen_child(command, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text, errors=errors)
    try:
        out, err = process.communicate(input, timeout=timeout)
    except BaseException:
        kill_group(process)
        raise
    return subprocess.CompletedProcess(list(command), process.returncode, out, err)


__all__ = ["die_with_parent", "kill_group", "popen_child", "run_child"]
