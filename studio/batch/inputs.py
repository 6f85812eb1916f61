"""A batch's jobs from a folder of videos, a CSV/JSON manifest or an editor timeline (one job per clip)."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from expotion_engine.errors import ExpotionError
from expotion_engine.media.probe import probe_video
from studio.batch.jobs import BatchError, BatchJob, unique_names
from studio.export.source_timecode import file_timecode
from studio.session import DEFAULT_PRESET
from studio.timecode import smpte_rate, to_frame

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mxf", ".mpg", ".mts"})
TIMELINE_SUFFIXES = frozenset({".otio", ".xml", ".fcpxml", ".edl"})
#: manifest column -> BatchJob field (``path`` is the video; ``timecode`` is short for ``timecode_start``)
COLUMNS = {"path": "video", "timecode": "timecode_start",
           **{f.name: f.name for f in fields(BatchJob) if f.name not in ("video", "sample_rate")}}


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


def _media_path(url: str, timeline: Path) -> Path:
    parsed = urlparse(url)
    text = unquote(parsed.path) if parsed.scheme == "file" else url
    return (timeline.parent / text).resolve()


def _edl_rate(path: Path) -> float:
    """The rate to count an EDL at (EDLs name none): the frame rate of the first clip's media that exists."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BatchError(f"{path}: cannot read the EDL ({exc.strerror or exc}).") from None
    for url in re.findall(r"^\*\s*FROM CLIP:\s*(\S.*?)\s*$", text, flags=re.MULTILINE):
        media = _media_path(url, path)
        if media.is_file():
            try:
                return probe_video(media).fps
            except ExpotionError:
                continue
    raise BatchError(f"{path}: an EDL names no frame rate and none of its clips' media (FROM CLIP) could be read.")


def _media_start(reference: Any, video: Path, rate: float) -> float:
    """Timeline seconds of the media's first frame: its available range's start, else (an EDL names none) the
    timecode the file carries, else 0."""
    import opentimelineio as otio

    if reference.available_range is not None:
        return reference.available_range.start_time.to_seconds()
    timecode_rate = smpte_rate(rate)
    if timecode_rate is None or not video.is_file():
        return 0.0
    try:
        own = file_timecode(video, timecode_rate)
    except ExpotionError:
        return 0.0
    if own is None:
        return 0.0
    return otio.opentime.RationalTime(to_frame(own.seconds, timecode_rate), rate).to_seconds()


def timeline_jobs(path: Path, defaults: JobDefaults) -> list[BatchJob]:
    """One job per clip of an editor timeline's video tracks (OpenTimelineIO reads .otio, FCP 7 XML, FCPXML, EDL).

    The range is the clip's source range in its media, counted from the media's first frame;
    the media's own start timecode (the timeline's, else the file's) becomes the job's timecode start.
    """
    import opentimelineio as otio

    from studio.timeline.read import below_storyline

    options = {"rate": _edl_rate(path)} if path.suffix.lower() == ".edl" else {}
    try:
        timeline = otio.adapters.read_from_file(str(path), **options)
    except Exception as exc:  # noqa: BLE001 - OTIO's adapters raise many types for a bad file
        raise BatchError(f"{path}: OpenTimelineIO cannot read this timeline ({exc}).") from None
    jobs = []
    fcpxml = path.suffix.lower() == ".fcpxml"  # its lanes below the storyline are music and sound, not picture
    clips = [clip for track in timeline.video_tracks() if not (fcpxml and below_storyline(track))
             for clip in track.find_clips()]
    for index, clip in enumerate(clips, start=1):
        reference = clip.media_reference
        url = getattr(reference, "target_url", None)
        if not url:
            continue
        source = clip.trimmed_range()
        video = _media_path(url, path)
        media_start = _media_start(reference, video, source.start_time.rate)
        start = source.start_time.to_seconds() - media_start
        jobs.append(defaults.job(f"{index:03d}_{clip.name or video.stem}", video, start=round(start, 6),
                                 end=round(start + source.duration.to_seconds(), 6),
                                 timecode_start=repr(media_start), title=f"{index:03d}_{video.stem}"))
    return jobs
