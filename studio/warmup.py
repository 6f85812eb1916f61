"""Engine warm-up off the critical path: import what a command will need on a background thread.

While the main thread probes the video (FFmpeg and OpenCV, which release the GIL) and
checks the preset and the output folder, a daemon thread imports the procedural renderer
and mediapipe, so those imports are mostly done by the time the pipeline reaches them. A
module being imported by the warm-up thread is waited for, never imported twice, and a
failed import here is left for the real import to report.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

#: modules each sub-command needs soon after it starts, in the order it needs them
WARM_UP: dict[str, tuple[str, ...]] = {
    "score": ("expotion_engine.engines.procedural.render", "mediapipe"),
    "demo": ("expotion_engine.engines.procedural.render", "mediapipe"),
}


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the real import reports it, in its own words
            log.debug("warm-up import of %s failed: %s", name, exc)


def warm_up(command: str | None) -> threading.Thread | None:
    """Start importing ``command``'s heavy modules on a daemon thread (None when it has none)."""
    names = WARM_UP.get(command or "")
    if not names:
        return None
    thread = threading.Thread(target=_import_all, args=(names,), name="expotion-warm-up", daemon=True)
    thread.start()
    return thread
