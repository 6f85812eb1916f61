"""One clip of a batch as a value: the video, its range and the scoring choices, and its session."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from expotion_engine.errors import ExpotionError, SessionError
from studio.export.job import safe_name
from studio.session import DEFAULT_PRESET, DeliveryPrefs, Session
from studio.timecode import TimecodeError, parse_timecode

log = logging.getLogger(__name__)


class BatchError(ExpotionError):
    """A batch input, manifest row or option is not valid."""


@dataclass(frozen=True)
class BatchJob:
    """What to score for one clip; ``name`` is its folder in the batch output (unique within a batch)."""

    name: str
    video: Path
    start: float | None = None
    end: float | None = None
    preset: str = DEFAULT_PRESET
    prompt: str = ""
    seed: int = 0
    engine: str = "procedural"
    #: the video's first frame's timecode (``HH:MM:SS:FF`` or seconds); None: the one the file carries, else 0
    timecode_start: str | None = None
    formats: tuple[str, ...] = ()
    sample_rate: int = 48000
    title: str | None = None
    #: the musicgen engine's ``--model/--adapter/--device/--precision`` (batch-wide; not a manifest column)
    engine_options: tuple[tuple[str, str], ...] = ()

    @property
    def duration(self) -> float | None:
        """Seconds of the range when both ends are known and in order (for throughput figures)."""
        if self.end is None or self.end <= (self.start or 0.0):
            return None
        return self.end - (self.start or 0.0)


def session_for(job: BatchJob) -> Session:
    """The new session ``expotion score`` would make for this clip with the same options (its start timecode too)."""
    title = job.title or job.video.stem
    session = Session.for_video(
        job.video,
        title=title,
        video_in=job.start or 0.0,
        video_out=job.end,
        preset=job.preset,
        prompt=job.prompt,
        engine=job.engine,
        engine_options=dict(job.engine_options),
        seed=job.seed,
        export=DeliveryPrefs(job.sample_rate, 24, tuple(job.formats)),
    )
    if job.timecode_start is None:
        log.info("%s: %s", job.name, session.use_video_timecode())
    else:
        try:
            session.timecode_start = parse_timecode(job.timecode_start, session.timecode().rate)
        except TimecodeError as exc:
            raise SessionError(str(exc)) from None
    session.validate()
    return session


def changed_choices(session: Session, job: BatchJob) -> list[str]:
    """The choices of ``job`` that the clip's finished ``session`` was not scored with (empty: the same job).

    A re-run skips a complete clip only when this is empty, so an edited manifest row is scored again.
    """
    wanted = {
        "video": job.video.resolve(), "start": job.start or 0.0, "end": job.end, "preset": job.preset,
        "prompt": job.prompt, "seed": job.seed, "engine": job.engine, "formats": tuple(job.formats),
        "sample rate": job.sample_rate, "title": job.title or job.video.stem,
        "engine options": dict(job.engine_options),
    }
    had = {
        "video": session.video, "start": session.video_in, "end": session.video_out, "preset": session.preset,
        "prompt": session.prompt, "seed": session.seed, "engine": session.engine,
        "formats": tuple(session.export.formats), "sample rate": session.export.sample_rate, "title": session.title,
        "engine options": dict(session.engine_options),
    }
    changed = [name for name, value in wanted.items() if had[name] != value]
    if job.timecode_start is not None:
        try:
            start = parse_timecode(job.timecode_start, session.timecode().rate)
        except TimecodeError:
            start = None
        if start is None or abs(start - session.timecode_start) > 1e-6:
            changed.append("timecode_start")
    return changed


def unique_names(jobs: Iterable[BatchJob]) -> list[BatchJob]:
    """``jobs`` with safe folder names, a repeated name numbered ``_2``, ``_3`` ... in order."""
    seen: dict[str, int] = {}
    named: list[BatchJob] = []
    for job in jobs:
        base = safe_name(job.name) or "clip"
        count = seen.get(base.lower(), 0) + 1
        seen[base.lower()] = count
        named.append(replace(job, name=base if count == 1 else f"{base}_{count}"))
    return named


def with_defaults(job: BatchJob, formats: Sequence[str], sample_rate: int,
                  engine_options: Mapping[str, str] | None = None) -> BatchJob:
    """``job`` with the batch-wide formats (when the row names none), sample rate and, for a musicgen job,
    engine options."""
    options = tuple(sorted((engine_options or {}).items())) if job.engine == "musicgen" else ()
    return replace(job, formats=tuple(job.formats or formats), sample_rate=sample_rate, engine_options=options)
