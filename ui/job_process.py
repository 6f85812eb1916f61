"""Analysis, generation, timelines and conform in a child process: their Python work never holds the window's GIL.

A worker thread of the window calls :func:`run_in_child`: it writes the job (the session as
JSON, the analysis as NPZ) into a temporary folder, starts ``python -m ui.job_child`` in a
process group of its own (it dies with the window, even when that is killed, on Linux), relays the
child's progress lines, and reads the result back from files: the session's new take record
(JSON, validated by studio), the take folder studio wrote, the analysis (NPZ, no pickle).
Cancel kills the child's whole process group; a take is committed by studio only once it is
complete on disk, so a killed child leaves the session as it was.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expotion_engine import errors
from expotion_engine.errors import Cancelled, ExpotionError
from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import ControlTrack, atomic_write_json
from studio.export.video import kill_group
from studio.session import Session, TakeRecord
from ui.job_child import CONTROLS_FILE, JOB_FILE, RESULT_FILE
from ui.timeline_media import MediaStatus, MissingMediaError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
#: how often (s) the waiting worker thread looks at the cancel event
POLL_S = 0.05


class ChildJobError(ExpotionError):
    """The child process ended without a result (killed, or it crashed)."""


@dataclass(frozen=True, eq=False)
class ChildResult:
    """What a child job made: the analysis it made or used, a generation's new take record, the result's JSON."""

    controls: ControlTrack | None
    record: TakeRecord | None
    data: dict[str, Any]


def run_in_child(kind: str, session: Session | None, controls: ControlTrack | None = None, *, progress: ProgressFn,
                 cancel: CancelEvent, started: Callable[[int], None] | None = None, **options: Any) -> ChildResult:
    """Run ``kind`` in a child process and return what it made.

    "analyse" and "generate" work on ``session`` (``controls`` None analyses first; a generation
    needs a saved session: the child writes the take beside its file, the session given is not
    changed). "open_timeline" (options ``timeline``, ``session_file``) and "conform" (the saved
    ``session``; options ``new_timeline``, ``output``, ``take``) are described in :mod:`ui.job_child`.
    ``started`` is told the child's process id (its process group's too).
    """
    with tempfile.TemporaryDirectory(prefix="expotion-job-") as name:
        folder = Path(name)
        path = session.path if session is not None else None
        job = {"kind": kind, "session_path": str(path) if path is not None else "",
               "session": session.to_dict(None) if session is not None else None, "controls": None,
               "options": options}
        if controls is not None:
            controls.save(folder / CONTROLS_FILE)
            job["controls"] = CONTROLS_FILE
        atomic_write_json(folder / JOB_FILE, job)
        _run(folder, progress, cancel, started)
        result = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
        if result.get("controls"):
            controls = ControlTrack.load(folder / CONTROLS_FILE)
        record = None
        if kind == "generate":
            made = Session.from_dict(result["session"], path)
            record = made.take(str(result["take_id"]))
        return ChildResult(controls, record, result)


def _run(folder: Path, progress: ProgressFn, cancel: CancelEvent, started: Callable[[int], None] | None) -> None:
    """Start the child on ``folder``, relay its progress until it ends; raise its error or Cancelled."""
    with open(folder / "child.log", "w+b") as log_file:
        # no preexec_fn: it would make Popen fork this whole process with the GIL held (100 ms and more
        # of a frozen window); the child asks to die with its parent itself (ui.job_child.main)
        process = subprocess.Popen([sys.executable, "-m", "ui.job_child", str(folder), str(os.getpid())],
                                   cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log_file,
                                   start_new_session=True)
        log.info("background job %s runs in process %d", folder.name, process.pid)
        if started is not None:
            started(process.pid)
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process, lines), name="child job reader", daemon=True)
        reader.start()
        outcome: dict | None = None
        fraction = 0.0
        try:
            while True:
                if cancel.is_set():
                    raise Cancelled("Cancelled by the user.")
                try:
                    line = lines.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if line is None:
                    break
                message = _parse(line)
                if "progress" in message:
                    fraction = float(message["progress"])
                    progress(fraction, str(message.get("message", "")))
                elif "preview" in message:  # where the take's first seconds are (the preview of a generation)
                    progress(fraction, str(message["preview"]))
                elif "done" in message or "error" in message:
                    outcome = message
        finally:
            if process.poll() is None and (cancel.is_set() or outcome is None):
                kill_group(process)
            process.wait()
            reader.join()
        if outcome is not None and "error" in outcome:
            raise _error(outcome)
        if outcome is None or process.returncode != 0:
            log_file.seek(0)
            tail = log_file.read()[-4000:].decode("utf-8", "replace")
            error = ChildJobError(f"The background job stopped without a result (exit status {process.returncode}).")
            error.add_note(tail)
            raise error


def _read_lines(process: subprocess.Popen, lines: queue.Queue) -> None:
    for raw in process.stdout or ():
        lines.put(raw.decode("utf-8", "replace"))
    lines.put(None)


def _parse(line: str) -> dict:
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        log.debug("child job: %s", line.rstrip())
        return {}
    return message if isinstance(message, dict) else {}


def _error(outcome: dict) -> ExpotionError:
    """The child's error as the same ExpotionError class (ExpotionError for anything else; MissingMediaError
    when a timeline's media are missing), its traceback as a note."""
    message = str(outcome.get("message") or "The background job failed.")
    if outcome.get("media"):
        error: ExpotionError = MissingMediaError(message, [MediaStatus.from_dict(m) for m in outcome["media"]])
        error.add_note(f"In the background process:\n{outcome.get('details', '')}")
        return error
    cls = getattr(errors, str(outcome.get("error")), None)
    if cls is None and outcome.get("error") == "TimelineError":
        from studio.timeline.model import TimelineError  # imports OpenTimelineIO: only when one is needed

        cls = TimelineError
    if not (isinstance(cls, type) and issubclass(cls, ExpotionError)):
        cls = ExpotionError
    error = cls(message)
    error.add_note(f"In the background process:\n{outcome.get('details', '')}")
    return error

