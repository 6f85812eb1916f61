"""A batch's jobs from a folder of videos, a CSV/JSON manifest or an editor timeline (one job per clip)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from expotion_engine.errors import ExpotionError
from studio.batch.jobs import BatchError, BatchJob, unique_names
from studio.export.source_timecode import file_timecode
from studio.session import DEFAULT_PRESET
from studio.timecode import TimecodeRate, frame_seconds, to_frame
from studio.timeline import TimelineError, read_timeline

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mxf", ".mpg", ".mts"})
TIMELINE_SUFFIXES = frozenset({".otio", ".xml", ".fcpxml", ".edl"})
#: manifest column -> BatchJob field (``path`` is the video; ``timecode`` is short for ``timecode_start``)
COLUMNS = {"path": "video", "timecode": "timecode_start",
           **{f.name: f.name for f in fields(BatchJob) if f.name not in ("video", "sample_rate", "engine_options")}}


@dataclass(frozen=True)
class JobDefaults:
    """The command line's choices, used where a manifest row or timeline clip gives none."""

    preset: str = DEFAULT_PRESET
    prompt: str = ""
    seed: int = 0
    engine: str = "procedural"
    formats: tuple[str, ...] = field(default_factory=tuple)

    def job(self, name: str, video: Path, **values: Any) -> BatchJob:
        """A job for ``video`` with these defaults under ``values``."""
        base = {"preset": self.preset, "prompt": self.prompt, "seed": self.seed, "engine": self.engine,
                "formats": self.formats}
        return BatchJob(name=name, video=video, **{**base, **values})


def read_jobs(source: str | os.PathLike[str], defaults: JobDefaults | None = None) -> list[BatchJob]:
    """The jobs ``source`` describes, with unique folder names, in its order."""
    source = Path(source)
    defaults = defaults or JobDefaults()
    if source.is_dir():
        jobs = folder_jobs(source, defaults)
    elif not source.is_file():
        raise BatchError(f"{source} does not exist; give a folder of videos, a .csv/.json manifest or a timeline.")
    elif source.suffix.lower() == ".csv":
        jobs = manifest_jobs(_read_csv(source), source, defaults)
    elif source.suffix.lower() == ".json":
        jobs = manifest_jobs(_read_json(source), source, defaults)
    elif source.suffix.lower() in TIMELINE_SUFFIXES:
        jobs = timeline_jobs(source, defaults)
    else:
        raise BatchError(f"{source} is not a folder, a .csv/.json manifest or a timeline (.otio, .xml, .fcpxml, .edl).")
    if not jobs:
        raise BatchError(f"{source} names no clips to score.")
    return unique_names(jobs)


def folder_jobs(folder: Path, defaults: JobDefaults) -> list[BatchJob]:
    """One whole-clip job per video file directly in ``folder`` (by name)."""
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    return [defaults.job(p.stem, p.resolve()) for p in videos]


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [{k.strip().lower(): v for k, v in row.items() if k and v not in (None, "")}
                    for row in csv.DictReader(handle)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BatchError(f"{path}: cannot read the manifest ({exc}).") from None


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BatchError(f"{path}: cannot read the manifest ({exc}).") from None
    rows = data.get("clips") if isinstance(data, Mapping) else data
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise BatchError(f"{path}: the manifest must be a list of clip objects (or {{\"clips\": [...]}}).")
    return [{str(k).lower(): v for k, v in row.items() if v is not None} for row in rows]


def _number(value: Any, column: str, where: str, kind: type = float) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise BatchError(f"{where}: {column} {value!r} is not a number.") from None


def manifest_jobs(rows: list[dict[str, Any]], path: Path, defaults: JobDefaults) -> list[BatchJob]:
    """One job per manifest row; relative video paths are relative to the manifest's folder."""
    jobs = []
    for number, row in enumerate(rows, start=1):
        where = f"{path} row {number}"
        unknown = sorted(set(row) - set(COLUMNS))
        if unknown:
            raise BatchError(f"{where}: unknown column(s) {', '.join(unknown)}; valid: {', '.join(sorted(COLUMNS))}.")
        if "path" not in row:
            raise BatchError(f"{where} has no path.")
        values = {COLUMNS[k]: v for k, v in row.items() if k != "path"}
        for column in ("start", "end"):
            if column in values:
                values[column] = _number(values[column], column, where)
        if "seed" in values:
            values["seed"] = _number(values["seed"], "seed", where, int)
        if "formats" in values:
            formats = values["formats"]
            values["formats"] = tuple(formats.replace(",", " ").replace(";", " ").split()
                                      if isinstance(formats, str) else map(str, formats))
        if "timecode_start" in values:
            values["timecode_start"] = str(values["timecode_start"])
        video = (path.parent / str(row["path"])).resolve()
        jobs.append(defaults.job(str(values.pop("name", video.stem)), video, **values))
    return jobs


def _file_start(video: Path, rate: TimecodeRate) -> int:
    """Frames at ``rate`` of the timecode ``video`` carries (0: none, or one that does not count at ``rate``)."""
    try:
        own = file_timecode(video, rate)
    except ExpotionError:
        return 0
    return to_frame(own.seconds, rate) if own is not None else 0


def timeline_jobs(path: Path, defaults: JobDefaults) -> list[BatchJob]:
    """One job per shot of an editor timeline's picture, read as ``expotion score`` reads a sequence.

    :func:`studio.timeline.read.read_timeline` reads .otio, FCP 7 XML, FCPXML and EDL at the sequence's exact
    rate (an EDL at its first found media's), relinks the media and refuses a timeline whose media is missing.
    The range is the shot's source frames in its media, counted from the media's first frame; the job starts at
    the timecode the video file carries (else 00:00:00:00), the same start its folder or manifest row gives.
    """
    try:
        timeline = read_timeline(path)
    except TimelineError as exc:
        raise BatchError(str(exc)) from None
    rate = timeline.rate
    jobs = []
    shots = [clip for clip in timeline.clips if clip.media is not None]
    for index, clip in enumerate(shots, start=1):
        video = clip.media
        own = _file_start(video, rate)
        jobs.append(defaults.job(f"{index:03d}_{clip.name or video.stem}", video,
                                 start=frame_seconds(clip.source_in, rate), end=frame_seconds(clip.source_out, rate),
                                 timecode_start=repr(frame_seconds(own, rate)), title=f"{index:03d}_{video.stem}"))
    return jobs
