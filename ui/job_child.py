"""The child side of :mod:`ui.job_process`: analyse or generate in a process of its own.

    python -m ui.job_child JOB_FOLDER WINDOW_PID

Reads ``JOB_FOLDER/job.json`` (the session as JSON, its file path, the analysis to use or
none), runs the studio call and reports on the pipe that was stdout when it started, one
JSON object per line: ``{"progress": f, "message": m}`` while it works, then
``{"done": true}`` once ``result.json`` (and the analysis as ``controls.npz``) is written,
or ``{"error": class name, "message": m, "details": traceback}``. Stray prints of the
libraries go to stderr, never into the protocol. Everything crosses as JSON, NPZ without
pickle, and the take folder studio writes (no pickled objects: DESIGN.md).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import IO, Any

JOB_FILE = "job.json"
RESULT_FILE = "result.json"
CONTROLS_FILE = "controls.npz"


class _Reporter:
    """Writes protocol lines to the original stdout."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def send(self, message: dict[str, Any]) -> None:
        self._stream.write(json.dumps(message) + "\n")
        self._stream.flush()

    def progress(self, fraction: float, message: str) -> None:
        self.send({"progress": float(fraction), "message": str(message)})


def run_job(folder: Path, reporter: _Reporter) -> None:
    """Do the job described in ``folder/job.json`` and write its result beside it."""
    from expotion_engine.progress import sub_progress
    from expotion_engine.types import ControlTrack, atomic_write_json
    from studio import pipeline
    from studio.session import Session

    job = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
    session_path = Path(job["session_path"])
    session = Session.from_dict(job["session"], session_path)
    session.path = session_path
    progress = reporter.progress
    controls = ControlTrack.load(folder / job["controls"]) if job.get("controls") else None
    analysed = controls is None
    if analysed:
        share = 1.0 if job["kind"] == "analyse" else 0.3
        controls = pipeline.analyze_session(session, progress=sub_progress(progress, 0.0, share))
        progress = sub_progress(progress, share, 1.0)
    result: dict[str, Any] = {"controls": CONTROLS_FILE if analysed else None}
    if job["kind"] == "generate":
        record, _take = pipeline.generate_take(session, controls, progress=progress)
        result.update(take_id=record.id, session=session.to_dict(None))
    if analysed:
        controls.save(folder / CONTROLS_FILE)
    atomic_write_json(folder / RESULT_FILE, result)


def main(argv: list[str]) -> int:
    """Run the job in folder ``argv[0]`` for the window process ``argv[1]``; exit status 0 when its result is
    written, 1 when it failed, 2 when the window was already gone."""
    from studio.export.video import die_with_parent

    die_with_parent()
    if os.getppid() != int(argv[1]):  # the window died before the request above took effect
        return 2
    reporter = _Reporter(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)  # stray prints of any library go to stderr, never into the protocol
    sys.stdout = sys.stderr
    try:
        run_job(Path(argv[0]), reporter)
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the window, which shows it
        reporter.send({"error": type(exc).__name__, "message": str(exc), "details": traceback.format_exc()})
        return 1
    reporter.send({"done": True})
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
