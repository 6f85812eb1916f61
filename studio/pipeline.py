"""The scoring pipeline: analyse (cached) -> generate -> stems (when missing) -> save the take -> export.

One ``progress(fraction, message)`` covers every stage (weighted by :data:`STAGE_WEIGHTS`,
each message starts with the stage's name) and one ``cancel`` event stops any of them.
A take is written into a temporary folder and renamed into place, and the session
changes only once its take is complete, so a failed or cancelled stage leaves the session
file and every earlier take as they were. The stages are callable on their own
(:func:`analyze_session`, :func:`generate_take`, :func:`export_take`) for the desktop
app's worker threads.
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from expotion_engine.audio_io import Spool
from expotion_engine.engines import Engine, get_engine
from expotion_engine.errors import EngineError, ExportError, SessionError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress, sub_progress
from expotion_engine.types import ControlTrack, GenerationRequest, Take
from studio.analysis import analyze
from studio.export.job import ExportJob
from studio.export.registry import check_export, check_folder, export_delivery
from studio.fsutil import move_take_in, publish_folder
from studio.presets import load_preset
from studio.session import SESSION_MARKER_KINDS, Session, TakeRecord, utc_now
from studio.spool import spool_beside
from studio.warmup import settle

log = logging.getLogger(__name__)

AudioFn = Callable[[int, np.ndarray], None]

#: share of the whole run each stage reports over, in order
STAGE_WEIGHTS: dict[str, float] = {"analyse": 0.35, "generate": 0.50, "save": 0.03, "export": 0.12}

#: an engine's output may miss the range by this much (seconds); it is then padded or trimmed to the sample
LENGTH_TOLERANCE = 0.05


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """What one run made: the controls, the take (and its record in the session) and the delivery files."""

    controls: ControlTrack
    take: Take
    record: TakeRecord
    exported: tuple[Path, ...] = ()


def _stage(progress: ProgressFn | None, name: str) -> ProgressFn:
    """A progress callback whose messages name the stage."""
    parent = progress or no_progress

    def report(fraction: float, message: str) -> None:
        parent(fraction, f"{name}: {message}" if message else name)

    return report


def preset_table(name: str | None) -> Mapping[str, Any]:
    """The preset ``name`` (built-in name or .toml path) as a GenerationRequest's table; None: engine defaults."""
    if not name:
        return {}
    return load_preset(name).table


# --------------------------------------------------------------------------- analyse


def analyze_session(
    session: Session, *, use_cache: bool = True, progress: ProgressFn | None = None, cancel: CancelEvent | None = None
) -> ControlTrack:
    """The ControlTrack of the session's video and range (from the analysis cache when it is there)."""
    video = session.check_video()
    return analyze(video, session.analysis_settings(), use_cache=use_cache,
                   progress=_stage(progress, "analyse"), cancel=cancel)


# --------------------------------------------------------------------------- generate


def build_request(session: Session, controls: ControlTrack) -> GenerationRequest:
    """The engine's request from the session's choices and the analysed controls."""
    return GenerationRequest(
        controls=controls,
        prompt=session.prompt,
        preset=preset_table(session.preset),
        seed=session.seed,
        sample_rate=session.export.sample_rate,
        bpm=session.bpm,
        cues=session.cues(controls.duration),
        options=dict(session.engine_options),
    )


def _fit_length(take: Take, n_samples: int) -> Take:
    """``take`` at exactly ``n_samples`` (engines may round a window); a larger miss is an engine error."""
    missing = n_samples - take.n_samples
    if missing == 0:
        return take
    if abs(missing) > LENGTH_TOLERANCE * take.sample_rate:
        raise EngineError(
            f"The {take.engine} engine returned {take.duration:.3f} s of music for a "
            f"{n_samples / take.sample_rate:.3f} s range."
        )
    log.info("fitting the %s take by %+d samples to the range", take.engine, missing)

    def fit(audio: np.ndarray) -> np.ndarray:
        return np.pad(audio, ((0, 0), (0, missing))) if missing > 0 else audio[:, :n_samples]

    return replace(take, mix=fit(take.mix), stems=tuple(replace(s, audio=fit(s.audio)) for s in take.stems))


def finish_take(take: Take, n_samples: int, progress: ProgressFn | None = None,
                cancel: CancelEvent | None = None) -> Take:
    """``take`` at exactly ``n_samples``, with stems separated from the mix when the engine gave none.

    Separation uses Demucs, or its marked DSP fallback where the weights are missing; the
    musicgen engine separates by itself and the procedural one renders exact stems, so
    this only runs for an engine that returned a bare mix.
    """
    take = _fit_length(take, n_samples)
    if take.stems:
        return take
    from expotion_engine.stems import separate

    stems = separate(take.mix, take.sample_rate, fallback=True, progress=_stage(progress, "stems"), cancel=cancel)
    return replace(take, stems=tuple(stems), info={**take.info, "stems": "separated by the pipeline"})


def _generate(engine: Engine, request: GenerationRequest, progress: ProgressFn, cancel: CancelEvent | None,
              on_audio: AudioFn | None, spool: Spool) -> Take:
    """``engine.generate``, with ``on_audio`` and the ``spool`` for engines that take them."""
    accepts = inspect.signature(engine.generate).parameters
    extra: dict[str, Any] = {}
    if "spool" in accepts:
        extra["spool"] = spool
    if on_audio is not None and "on_audio" in accepts:
        extra["on_audio"] = on_audio
    elif on_audio is not None:
        log.info("the %s engine does not report its audio while it works", getattr(engine, "id", "chosen"))
    return engine.generate(request, progress, cancel, **extra)


def commit_take(take: Take, folder: str | os.PathLike[str], *, force: bool = True) -> Path:
    """Write ``take`` into ``folder`` all at once: into a temporary folder first, then renamed into place.

    A new folder appears whole; into an existing folder (the CLI's output folder) the files
    are moved in one by one, ``take.json`` last, and only the previous take's own files (its
    ``take.json`` names them) are replaced or removed; see :func:`studio.fsutil.move_take_in`.
    Without ``force`` a file that appeared in the folder while the take was made stops the commit.
    """
    folder = Path(folder).absolute()
    if folder.is_symlink() and not folder.is_dir():
        raise ExportError(f"{folder} is a broken symbolic link; choose another output folder.")
    folder = folder.resolve()
    parent = folder if folder.is_dir() else folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=parent))
    try:
        take.save(staging)
        if not folder.exists():
            try:
                os.replace(staging, folder)
                publish_folder(folder)
                return folder
            except OSError:
                if not folder.is_dir():
                    raise
        move_take_in(staging, folder, force=force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def generate_take(
    session: Session,
    controls: ControlTrack,
    *,
    folder: str | os.PathLike[str] | None = None,
    label: str = "",
    choose: bool = True,
    force: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
    engine: Engine | None = None,
    on_audio: AudioFn | None = None,
    ready: Callable[[Take], None] | None = None,
) -> tuple[TakeRecord, Take]:
    """Generate a take, write it (into ``folder``, default the session's takes folder) and add it to the session.

    The session object changes only when the take is complete on disk; saving the session
    file is left to the caller. ``force`` False refuses to replace files already in ``folder``.
    ``on_audio(start_sample, block)`` hears the mix while it is made, where the engine offers it.
    A long take the engine renders to disk is spooled beside ``folder`` (a hidden staging folder,
    so a crash leaves nothing the next run does not remove), linked into place, and returned
    reading the committed files. ``ready(take)`` runs on the finished take before anything is written
    (``run_pipeline`` checks there that its delivery can be written, so a failing check replaces nothing).
    """
    request = build_request(session, controls)
    if engine is None:
        settle(session.engine)
        engine = get_engine(session.engine)
    started = time.perf_counter()
    take_id = session.next_take_id()
    target = Path(folder) if folder is not None else session.takes_dir / take_id
    spool = spool_beside(target)
    try:
        take = _generate(engine, request, _stage(sub_progress(progress, 0.0, 0.9), "generate"), cancel, on_audio,
                         spool)
        check_cancel(cancel)
        take = finish_take(take, request.n_samples, sub_progress(progress, 0.9, 0.97), cancel)
        check_cancel(cancel)
        if ready is not None:
            ready(take)
        _stage(progress, "save")(0.97, f"writing {target}")
        take = replace(take, timings={**take.timings, "pipeline_generate_s": time.perf_counter() - started})
        commit_take(take, target, force=force)
        if take.on_disk:  # refer to the committed files, not the spool
            take = Take.load(target)
    finally:
        spool.close()
    record = TakeRecord(
        id=take_id,
        folder=target.resolve(),
        engine=take.engine,
        seed=request.seed,
        prompt=request.prompt,
        preset=session.preset,
        params={
            "bpm": request.bpm,
            "sample_rate": request.sample_rate,
            "options": dict(request.options),
            "video_in": controls.source.start,
            "video_out": controls.source.end,
            "analysis": dict(controls.settings),
        },
        created=utc_now(),
        label=label,
    )
    session.add_take(record, choose=choose)
    _stage(progress, "save")(1.0, f"take {take_id} written")
    return record, take


# --------------------------------------------------------------------------- export


def export_job(session: Session, take: Take, *, force: bool = False, video_tracks: str = "keep",
               timeline_audio: str = "both-mix-enabled", midi_start: str = "zero") -> ExportJob:
    """The delivery of ``take`` placed on the session's video, with the session's cues and settings
    (``video_tracks``: the re-muxed video's audio streams; ``timeline_audio``: the editor timelines'
    audio; ``midi_start``: where the MIDI file starts; see :class:`ExportSettings`)."""
    source = take.request.get("controls", {}).get("source", {}) if isinstance(take.request, Mapping) else {}
    video_in = float(source.get("start", session.video_in))
    # one source of truth: the session's markers as they are now, plus the take's own musical markers
    # (hits, sections); the take's copy of the user markers and cues is stale after a move
    own = (m for m in take.markers if m.kind not in SESSION_MARKER_KINDS)
    markers = sorted((*own, *session.cues(take.duration)), key=lambda m: m.time)
    return ExportJob(
        take=take,
        title=session.title or (session.video.stem if session.video else "untitled"),
        video=session.video if session.video_found else None,
        video_in=video_in,
        timecode_start=session.timecode_start,
        fps=session.frame_rate,
        markers=tuple(markers),
        settings=replace(session.export.settings(force), video_tracks=video_tracks, timeline_audio=timeline_audio,
                         midi_start=midi_start),
        timecode_rate=session.timecode_rate,
    )


def export_take(
    session: Session,
    out_dir: str | os.PathLike[str],
    *,
    take_id: str | None = None,
    formats: Sequence[str] | None = None,
    force: bool = False,
    video_tracks: str = "keep",
    timeline_audio: str = "both-mix-enabled",
    midi_start: str = "zero",
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> list[Path]:
    """Write the delivery folder for a take (default the chosen one) without generating anything."""
    record = session.take(take_id) if take_id is not None else session.chosen()
    if record is None:
        raise SessionError("The session has no take to export yet; score it first.")
    take = Take.load(record.folder)
    job = export_job(session, take, force=force, video_tracks=video_tracks, timeline_audio=timeline_audio,
                     midi_start=midi_start)
    (log.warning if job.timecode.mapped else log.info)("%s", job.timecode.note)
    chosen = list(formats or session.export.formats) or None
    try:
        return export_delivery(job, Path(out_dir), formats=chosen, progress=_stage(progress, "export"), cancel=cancel)
    except OSError as exc:
        raise ExportError(f"{out_dir}: cannot write the delivery there ({exc.strerror or exc}).") from None


# --------------------------------------------------------------------------- all stages


def _span(name: str) -> tuple[float, float]:
    names = list(STAGE_WEIGHTS)
    start = sum(STAGE_WEIGHTS[n] for n in names[: names.index(name)])
    return start, start + STAGE_WEIGHTS[name]


def run_pipeline(
    session: Session,
    *,
    take_folder: str | os.PathLike[str] | None = None,
    export_dir: str | os.PathLike[str] | None = None,
    formats: Sequence[str] | None = None,
    force: bool = False,
    video_tracks: str = "keep",
    timeline_audio: str = "both-mix-enabled",
    midi_start: str = "zero",
    use_cache: bool = True,
    save: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
    on_audio: AudioFn | None = None,
) -> PipelineResult:
    """Analyse, generate and save a take, save the session (when it has a file and ``save``), then export.

    Nothing is exported when ``export_dir`` is None. Before the analysis the delivery folder is checked
    (not a file, writable), and before the take is written the delivery's own
    checks run on it (every planned file, the folders it writes into, what it would replace), so a
    delivery that cannot be written leaves the previous take, session and delivery as they were. The
    session file is written after the take is complete and before the export, so an export that fails
    while writing keeps the new take (``expotion export`` writes its delivery again).
    """
    check_cancel(cancel)
    if export_dir is not None:
        check_folder(export_dir)
    generate_end = _span("save")[1]
    controls = analyze_session(session, use_cache=use_cache, progress=sub_progress(progress, *_span("analyse")),
                               cancel=cancel)
    check_cancel(cancel)

    def deliverable(take: Take) -> None:
        if export_dir is not None:
            job = export_job(session, take, force=force, video_tracks=video_tracks, timeline_audio=timeline_audio,
                             midi_start=midi_start)
            check_export(job, Path(export_dir), list(formats or session.export.formats) or None)

    record, take = generate_take(session, controls, folder=take_folder, force=force,
                                 progress=sub_progress(progress, _span("generate")[0], generate_end), cancel=cancel,
                                 on_audio=on_audio, ready=deliverable)
    if save and session.path is not None:
        session.save()
    exported: list[Path] = []
    if export_dir is not None:
        exported = export_take(session, export_dir, take_id=record.id, formats=formats, force=force,
                               video_tracks=video_tracks, timeline_audio=timeline_audio, midi_start=midi_start,
                               progress=sub_progress(progress, *_span("export")),
                               cancel=cancel)
    (progress or no_progress)(1.0, "done")
    return PipelineResult(controls=controls, take=take, record=record, exported=tuple(exported))


__all__ = [
    "STAGE_WEIGHTS",
    "PipelineResult",
    "analyze_session",
    "build_request",
    "commit_take",
    "export_job",
    "export_take",
    "finish_take",
    "generate_take",
    "preset_table",
    "run_pipeline",
]
