"""The window's long jobs: which studio call each runs, on a worker thread, with a task panel in the status bar.

Each job function here has the worker calling convention ``fn(*args, progress, cancel)``
and only asks ``studio`` to act. Jobs get a copy of the session, so a worker never
changes the model the GUI thread is showing; results come back through ``returned``
and the window applies them. :class:`JobRunner` runs one job at a time.
"""

from __future__ import annotations

import copy
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from expotion_engine.errors import ExportError, ExpotionError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, sub_progress
from expotion_engine.types import ControlTrack, Take
from expotion_engine.vision.analyze import resolve_range
from studio import pipeline
from studio.analysis import cache_dir, cache_key
from studio.export.registry import export_delivery
from studio.preview import stale_preview
from studio.session import Session, TakeRecord
from studio.spool import spool_beside
from ui.error_dialog import show_error
from ui.job_process import run_in_child
from ui.mixdown import MixerState, mixed_take
from ui.score_panel import PresetInfo
from ui.task_panel import TaskPanel
from ui.timeline_media import MissingMediaError
from ui.waveform import Peaks, compute_peaks
from ui.workers import Worker, abort_all

log = logging.getLogger(__name__)

__all__ = ["GeneratedTake", "JobRunner", "Worker", "abort_all"]


# --------------------------------------------------------------------------- job functions


def new_session(video: Path, *, progress: ProgressFn, cancel: CancelEvent) -> Session:
    """A session for ``video`` (studio probes and hashes it)."""
    progress(0.0, f"reading {video.name}")
    return Session.for_video(video)


def analyse_session(session: Session, *, progress: ProgressFn, cancel: CancelEvent) -> ControlTrack:
    """The analysis of the session's range: read from studio's cache here, else made in a child process."""
    session = copy.deepcopy(session)
    if session.timeline is None and analysis_cached(session):
        return pipeline.analyze_session(session, progress=progress, cancel=cancel)
    return run_in_child("analyse", session, None, progress=progress, cancel=cancel).controls


def analysis_cached(session: Session) -> bool:
    """Whether studio's analysis cache holds the session's analysis (reading it takes milliseconds)."""
    folder = cache_dir()
    if folder is None:
        return False
    settings = session.analysis_settings()
    source, _ = resolve_range(session.check_video(), settings)
    return (folder / f"{cache_key(source.content_hash, settings, source.start, source.end)}.npz").is_file()


@dataclass(frozen=True, eq=False)
class GeneratedTake:
    """A finished take, its record for the session, its waveforms (mix, stems), and the analysis it was made from."""

    record: TakeRecord
    take: Take
    peaks: Peaks
    controls: ControlTrack
    stem_peaks: dict[str, Peaks]


def stem_peaks(take: Take) -> dict[str, Peaks]:
    """Each stem's waveform, by name (for the timeline's stem lanes)."""
    return {stem.name: compute_peaks(stem.audio, take.sample_rate) for stem in take.stems}


def generate_take(session: Session, controls: ControlTrack | None, preview: bool = False, *, progress: ProgressFn,
                  cancel: CancelEvent) -> GeneratedTake:
    """Generate and write a take in a child process; analyses first when ``controls`` is None (the range or
    settings changed). The child writes the take beside the session file; the window adds its record.
    ``preview``: the child plays the take's first seconds while the rest is made (``preview.wav`` in the takes
    folder, removed once the take is complete); its message comes as a progress message. The preview an earlier
    stopped generation kept goes first, so a preview there after this one stopped is this one's.
    """
    for path in stale_preview(session.takes_dir):
        path.unlink()
    made = run_in_child("generate", session, controls, progress=progress, cancel=cancel, preview=preview)
    assert made.record is not None
    take = Take.load(made.record.folder)
    check_cancel(cancel)
    return GeneratedTake(made.record, take, compute_peaks(take.mix, take.sample_rate), made.controls,
                         stem_peaks(take))


@dataclass(frozen=True, eq=False)
class OpenedTimeline:
    """A new session made from an editor's timeline (saved, its picture rendered beside it) and its analysis."""

    session: Session
    controls: ControlTrack


def open_timeline(path: Path, session_file: Path, *, progress: ProgressFn, cancel: CancelEvent) -> OpenedTimeline:
    """Read an editor's timeline, render its picture and analyse its clips into a new session (child process)."""
    made = run_in_child("open_timeline", None, progress=progress, cancel=cancel, timeline=str(path),
                        session_file=str(session_file))
    assert made.controls is not None
    return OpenedTimeline(Session.load(made.data["session_file"]), made.controls)


@dataclass(frozen=True)
class Conformed:
    """A session's take conformed onto a recut: the new session file and the report, line by line."""

    session_file: Path
    report: list[str]


def conform_session(session: Session, new_timeline: Path, output: Path, take_id: str, *, progress: ProgressFn,
                    cancel: CancelEvent) -> Conformed:
    """``expotion conform`` of the saved ``session``'s take ``take_id`` onto ``new_timeline`` into the new folder
    ``output`` (child process); a conform that fails or is cancelled leaves no folder behind."""
    try:
        made = run_in_child("conform", session, progress=progress, cancel=cancel, new_timeline=str(new_timeline),
                            output=str(output), take=take_id)
    except BaseException:
        shutil.rmtree(output, ignore_errors=True)
        raise
    return Conformed(Path(made.data["session_file"]), [str(line) for line in made.data["report"]])


def load_take(record: TakeRecord, *, progress: ProgressFn,
              cancel: CancelEvent) -> tuple[TakeRecord, Take, Peaks, dict[str, Peaks]]:
    """Read a saved take's audio from its folder, with the waveforms of its mix and stems."""
    take = Take.load(record.folder)
    return record, take, compute_peaks(take.mix, take.sample_rate), stem_peaks(take)


def export_take(session: Session, take_id: str, folder: Path, formats: tuple[str, ...], force: bool,
                mixer: MixerState | None = None, *, progress: ProgressFn, cancel: CancelEvent) -> list[Path]:
    """Write the delivery of take ``take_id`` into ``folder`` (all formats when ``formats`` is empty);
    ``force`` replaces files already there. A ``mixer`` that changes a strip drives the exported mix and stems.
    A session scored from an editor's sequence also gets that sequence with the score laid in, as ``expotion
    export`` writes it."""
    session = copy.deepcopy(session)
    take = Take.load(session.take(take_id).folder)
    if mixer is None or mixer.is_neutral(tuple(s.name for s in take.stems)):
        written = pipeline.export_take(session, folder, take_id=take_id, formats=list(formats) or None,
                                       force=force, progress=progress, cancel=cancel)
    else:  # the mixer's take first (a long one spooled on the delivery's disk, removed when done), then the delivery
        share = 0.5 if take.on_disk else 0.05
        chosen = list(formats or session.export.formats) or None
        try:
            spool = spool_beside(Path(folder))
            try:
                mixed = mixed_take(take, mixer, spool=spool, progress=sub_progress(progress, 0.0, share),
                                   cancel=cancel)
                written = export_delivery(pipeline.export_job(session, mixed, force=force), Path(folder),
                                          formats=chosen, progress=sub_progress(progress, share, 1.0), cancel=cancel)
            finally:
                spool.close()
        except OSError as exc:
            raise ExportError(f"{folder}: cannot write the delivery there ({exc.strerror or exc}).") from None
    if session.timeline is not None:
        from studio.timeline.deliver import deliver_session

        written += deliver_session(session, folder, take_id=take_id, force=force)
    return written


def preset_infos() -> list[PresetInfo]:
    """The presets studio offers, for the browser (empty, with a warning, when they cannot be listed)."""
    try:
        from studio.presets import list_presets
    except ImportError as exc:
        log.warning("presets are not available: %s", exc)
        return []
    return [PresetInfo(p.name, p.title, p.description, p.prompt) for p in list_presets()]


# --------------------------------------------------------------------------- runner


class JobRunner(QObject):
    """Runs one job at a time on a :class:`Worker`; errors become dialogs over ``parent``."""

    busyChanged = Signal(bool)
    taskStarted = Signal(QWidget)  # the TaskPanel of a job that shows its progress
    jobFinished = Signal(str)  # job title

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._worker: Worker | None = None
        self.task: TaskPanel | None = None
        self.last_error: BaseException | None = None
        self._loading: set[str] = set()

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def worker(self) -> Worker | None:
        """The running job's worker (None when idle)."""
        return self._worker

    def run(self, title: str, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None]) -> Worker | None:
        """Start ``fn(*args, progress, cancel)`` with its task panel in the status bar (stage, ETA, Cancel)."""
        worker = self._prepare(title, fn, args, on_result)
        if worker is None:
            return None
        # built before the thread starts, so building it never competes with the worker for the GIL
        self.task = TaskPanel(worker, title)
        self.taskStarted.emit(self.task)
        return worker.start()

    def run_quiet(self, title: str, fn: Callable[..., Any], *args: Any,
                  on_result: Callable[[Any], None]) -> Worker | None:
        """Start a short job without a dialog (errors are still shown)."""
        worker = self._prepare(title, fn, args, on_result)
        return worker.start() if worker is not None else None

    def _prepare(self, title: str, fn: Callable[..., Any], args: tuple,
                 on_result: Callable[[Any], None]) -> Worker | None:
        if self._worker is not None:
            log.info("%s: another job is running", title)
            return None
        worker = Worker(fn, *args, name=title)
        worker.returned.connect(on_result)
        worker.errored.connect(lambda exc: self._on_error(title, exc))
        worker.finished.connect(lambda: self._on_finished(title))
        self._worker = worker
        self.last_error = None
        self.busyChanged.emit(True)
        return worker

    def _on_error(self, title: str, exc: BaseException) -> None:
        self.last_error = exc
        if isinstance(exc, MissingMediaError):  # the list of files matters more than the traceback
            from ui.timeline_dialogs import MissingMediaDialog

            MissingMediaDialog(exc, self._parent).open()
            return
        show_error(f"{title} failed", exc, self._parent)

    def _on_finished(self, title: str) -> None:
        self._worker = None
        self.task = None
        self.busyChanged.emit(False)
        self.jobFinished.emit(title)

    def load_take(self, record: TakeRecord,
                  on_loaded: Callable[[TakeRecord, Take, Peaks, dict[str, Peaks]], None],
                  on_failed: Callable[[TakeRecord], None] | None = None) -> None:
        """Read a take's audio in the background (alongside any running job); a failure is shown, then
        ``on_failed`` hears which take it was."""
        if record.id in self._loading:
            return
        self._loading.add(record.id)
        worker = Worker(load_take, record, name=f"load {record.id}")
        worker.returned.connect(lambda result: on_loaded(*result))
        worker.errored.connect(lambda exc: show_error(f"Reading take {record.id}", exc, self._parent))
        if on_failed is not None:
            worker.errored.connect(lambda exc: on_failed(record))
        worker.finished.connect(lambda: self._loading.discard(record.id))
        worker.start()


# --------------------------------------------------------------------------- MIDI clock


class ClockRunner(QObject):
    """Sends the chosen take's MIDI clock from the playhead on a worker thread until stopped."""

    stopped = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._worker: Worker | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self, take: Take, start: float) -> None:
        """Start sending from music time ``start`` (seconds) to the end of ``take``."""
        if self._worker is not None:
            return
        from studio.clock import clock_messages, open_clock_port, send_clock

        def send(*, progress: ProgressFn, cancel: CancelEvent) -> object:
            messages = clock_messages(take.tempo_map, max(start, 0.0), take.duration)
            with open_clock_port(virtual=True) as port:
                return send_clock(messages, port, cancel=cancel, progress=progress)

        worker = Worker(send, name="MIDI clock")
        worker.errored.connect(lambda exc: show_error("MIDI clock", clock_error_for_app(exc), self._parent))
        worker.finished.connect(self._on_finished)
        self._worker = worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.abort()

    def _on_finished(self) -> None:
        self._worker = None
        self.stopped.emit()


#: what the app says instead of studio's command-line cure (``--api ...``) for a MIDI system it cannot reach
CLOCK_CURE = ("Start a MIDI system this computer has (the ALSA sequencer, or a JACK server), "
              "then choose Send MIDI Clock again.")


def clock_error_for_app(exc: BaseException) -> BaseException:
    """``exc`` with a cure the app's user can act on where studio's message names a command-line option."""
    text = str(exc)
    if not isinstance(exc, ExpotionError) or "--" not in text:
        return exc
    sentence = text.split("; ", 1)[0].rstrip(".") + "."
    replaced = type(exc)(f"{sentence} {CLOCK_CURE}")
    replaced.__cause__ = exc
    return replaced.with_traceback(exc.__traceback__)


def clock_available() -> bool:
    """Whether studio has the live MIDI clock."""
    try:
        import studio.clock  # noqa: F401
    except ImportError:
        return False
    return True

