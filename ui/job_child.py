"""The child side of :mod:`ui.job_process`: the window's heavy studio calls in a process of their own.

    python -m ui.job_child JOB_FOLDER WINDOW_PID

Reads ``JOB_FOLDER/job.json`` (the kind of job, the session as JSON and its file path, the
analysis to use or none, the job's options), runs the studio call (analyse, generate, open
an editor's timeline as a new session, conform a session onto a recut) and reports on the
pipe that was stdout when it started, one JSON object per line: ``{"progress": f,
"message": m}`` while it works (and ``{"preview": m}`` when a generation's preview starts),
then ``{"done": true}`` once ``result.json`` (and an analysis as ``controls.npz``) is written,
or ``{"error": class name, "message": m, "details": traceback, "media": ...}`` (with every
media file of a timeline that misses some). Stray prints of the libraries go to stderr,
never into the protocol. Everything crosses as JSON, NPZ without pickle, and the files
studio writes (no pickled objects: DESIGN.md).
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
    from expotion_engine.types import ControlTrack, atomic_write_json
    from studio.session import Session

    job = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
    options = job.get("options") or {}
    if job["kind"] == "open_timeline":
        result = open_timeline(Path(options["timeline"]), Path(options["session_file"]), folder, reporter.progress)
    elif job["kind"] == "conform":
        result = conform(Path(job["session_path"]), options, reporter.progress)
    else:
        session_path = Path(job["session_path"])
        session = Session.from_dict(job["session"], session_path)
        session.path = session_path
        controls = ControlTrack.load(folder / job["controls"]) if job.get("controls") else None
        result = analyse_or_generate(job["kind"], session, controls, folder, reporter.progress,
                                     preview=bool(options.get("preview")), say=lambda m: reporter.send({"preview": m}))
    atomic_write_json(folder / RESULT_FILE, result)


def analyse_or_generate(kind: str, session: Any, controls: Any, folder: Path, progress: Any, *,
                        preview: bool = False, say: Any = None) -> dict[str, Any]:
    """Analyse (when ``controls`` is None) and, for "generate", make and write a take; the result's JSON.

    ``preview``: the take's first seconds play here and grow in ``preview.wav`` in the takes folder while the
    rest is made (``say`` hears where); a complete take removes it. A stopped generation keeps it, and the
    window says so (this process may be killed).
    """
    from expotion_engine.progress import sub_progress
    from studio import pipeline
    from studio.preview import previewing

    analysed = controls is None
    if analysed:
        share = 1.0 if kind == "analyse" else 0.3
        controls = analyse(session, sub_progress(progress, 0.0, share))
        progress = sub_progress(progress, share, 1.0)
        controls.save(folder / CONTROLS_FILE)
    result: dict[str, Any] = {"controls": CONTROLS_FILE if analysed else None}
    if kind == "generate":
        with previewing(session.takes_dir, session.export.sample_rate, preview, say=say, announce=False) as listener:
            record, _take = pipeline.generate_take(session, controls, progress=progress, on_audio=listener)
        result.update(take_id=record.id, session=session.to_dict(None))
    return result


def analyse(session: Any, progress: Any) -> Any:
    """The session's analysis: of its video, or for a session scored from an editor's timeline, clip by clip
    on the sequence's time axis with the edit points as hits (the sequence re-read, in the session's range)."""
    from dataclasses import replace

    from studio import pipeline
    from studio.timecode import to_frame
    from studio.timeline.controls import timeline_controls
    from studio.timeline.read import read_timeline

    source = session.timeline
    if source is None:
        return pipeline.analyze_session(session, progress=progress)
    timeline = read_timeline(source.path, rate=source.rate)
    out = None if session.video_out is None else to_frame(session.video_out, timeline.rate)
    timeline = replace(timeline, in_frame=to_frame(session.video_in, timeline.rate), out_frame=out)
    return timeline_controls(timeline, session.analysis_settings(), picture=session.video, progress=progress)


def open_timeline(path: Path, session_file: Path, folder: Path, progress: Any) -> dict[str, Any]:
    """A new session for an editor's timeline, as ``expotion score TIMELINE`` makes it: the sequence's picture
    rendered beside ``session_file``, its markers as cues, its start timecode and rate, its clips analysed."""
    from expotion_engine.progress import sub_progress
    from studio.export.job import safe_name
    from studio.session import Session
    from studio.timecode import frame_seconds
    from studio.timeline.read import read_timeline
    from studio.timeline.render import render_picture
    from studio.timeline.score import delivery_rate, timeline_cues, timeline_source

    timeline = read_timeline(path)
    title = timeline.name or path.stem
    picture = render_picture(timeline, session_file.parent / f"{safe_name(session_file.stem)}_picture.mp4",
                             progress=sub_progress(progress, 0.0, 0.3))
    session = Session.for_video(
        picture, title=title, frame_rate=timeline.rate.fps, video_in=timeline.seconds(timeline.in_frame),
        video_out=timeline.seconds(timeline.range_out) if timeline.range_out < timeline.duration else None,
        markers=timeline_cues(timeline))
    session.timecode_rate = delivery_rate(timeline)
    session.timeline = timeline_source(timeline)
    session.timecode_start = frame_seconds(timeline.start_frame, timeline.rate)
    session.save(session_file)
    analyse(session, sub_progress(progress, 0.3, 1.0)).save(folder / CONTROLS_FILE)
    return {"session_file": str(session.path), "controls": CONTROLS_FILE}


def conform(session_file: Path, options: dict[str, Any], progress: Any) -> dict[str, Any]:
    """``expotion conform`` (its own entry point, so the app conforms exactly as the command does) without the
    delivery; its terminal progress bar is replaced by this protocol's progress lines."""
    import argparse
    import contextlib
    import threading

    from studio.commands import conform as command

    @contextlib.contextmanager
    def relayed(_description: str) -> Any:
        yield progress, threading.Event()  # cancelling kills this process

    parser = argparse.ArgumentParser(prog="expotion")
    command.add_parser(parser.add_subparsers())
    arguments = ["conform", str(session_file), options["new_timeline"], "-o", options["output"], "--no-delivery"]
    if options.get("take"):
        arguments += ["--take", options["take"]]
    args = parser.parse_args(arguments)
    command.progress_and_cancel = relayed
    args.run(args)
    out = Path(options["output"])
    data = json.loads((out / command.REPORT_NAME).read_text(encoding="utf-8"))
    sessions = sorted(out.glob("*.expotion"))
    return {"session_file": str(sessions[0]), "report": command.report_lines(data)}


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
        reporter.send({"error": type(exc).__name__, "message": str(exc), "details": traceback.format_exc(),
                       "media": _media_of_failed_timeline(Path(argv[0]), exc)})
        return 1
    reporter.send({"done": True})
    return 0


def _media_of_failed_timeline(folder: Path, exc: Exception) -> list[dict[str, Any]] | None:
    """For a timeline that could not be read, every media file it uses and where it was found (else None)."""
    from studio.timeline.model import TimelineError

    if not isinstance(exc, TimelineError):
        return None
    job = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
    options = job.get("options") or {}
    path = options.get("timeline") or options.get("new_timeline")
    if not path:
        return None
    from ui.timeline_media import media_status

    try:
        media = media_status(path)
    except TimelineError:
        return None
    return [m.to_dict() for m in media] if any(m.found is None for m in media) else None


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
