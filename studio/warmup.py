"""Engine warm-up off the critical path: import what a command will need on a background thread.

While the main thread probes the video (FFmpeg and OpenCV, which release the GIL) and
checks the preset and the output folder, a daemon thread imports the procedural renderer
and mediapipe (and, for ``--engine musicgen``, torch and transformers while the video is
analysed), so those imports are mostly done by the time the pipeline reaches them. A
module being imported by the warm-up thread is waited for, never imported twice, and a
failed import here is left for the real import to report. ``transformers`` is the exception:
it replaces its own module in ``sys.modules`` at the end of its import, so another thread
importing it meanwhile gets the half-built module ("cannot import name 'AutoTokenizer'");
the pipeline calls :func:`settle` before it builds such an engine.
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
#: what an engine other than the procedural one adds (imported while the video is analysed)
ENGINE_WARM_UP: dict[str, tuple[str, ...]] = {
    "musicgen": ("torch", "transformers", "expotion_engine.engines.musicgen.engine"),
}

_threads: list[threading.Thread] = []


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the real import reports it, in its own words
            log.debug("warm-up import of %s failed: %s", name, exc)


def warm_up(command: str | None, engine: str | None = None) -> threading.Thread | None:
    """Start importing ``command``'s heavy modules (and ``engine``'s) on a daemon thread (None when none)."""
    names = WARM_UP.get(command or "", ())
    if names:
        names += ENGINE_WARM_UP.get(engine or "", ())
    if not names:
        return None
    thread = threading.Thread(target=_import_all, args=(names,), name="expotion-warm-up", daemon=True)
    thread.start()
    _threads.append(thread)
    return thread


def settle(engine: str) -> None:
    """Wait for the warm-up threads before ``engine`` is built, where they import its stack too (see above)."""
    if engine in ENGINE_WARM_UP:
        for thread in _threads:
            thread.join()
