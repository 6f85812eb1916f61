"""The session: what the user chose and made for one video, saved as versioned JSON (``*.expotion``).

A session holds the video (path and content hash), the scored range, the timecode of the
video's first frame and its rate when declared, the preset, prompt, engine, seed and tempo,
the analysis settings, the user's markers and cues, the takes made so far (each with what it was made with),
the chosen take and the delivery settings, and for a session scored from an editor's
timeline that sequence (:class:`TimelineSource`: file, format, rate, start and scored
frames), so reopening, exporting and conforming know it. It is plain Python: the CLI, the
pipeline and the desktop app share it.

On disk (``{"format": "expotion.session", "version": N, ...}``) media paths are stored
relative to the session file and resolved against it on load, so a project folder can
move as a whole; the video's absolute path is kept too as a fallback for a session file
moved alone. Loading validates every field and names the file and field that is wrong;
it never writes to the file it reads. Saves are atomic; :meth:`Session.autosave` writes
``<file>.autosave`` beside it, which a clean save removes and :func:`find_autosave`
finds after a crash. Marker times are music time (seconds from the in point).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from expotion_engine.engines import ENGINES
from expotion_engine.errors import ControlError, ExpotionError, SessionError
from expotion_engine.media.hashing import content_hash, legacy_sampled_hash
from expotion_engine.types import Marker, atomic_write_json, read_regular_text
from expotion_engine.vision import AnalysisSettings
from studio.export.job import ExportSettings
from studio.export.source_timecode import file_timecode
from studio.session_migrations import CURRENT_VERSION, upgrade
from studio.timecode import (
    RateChoice,
    TimecodeError,
    check_delivery_rate,
    choose_rate,
    format_timecode,
    parse_rate,
    smpte_rate,
)

log = logging.getLogger(__name__)

SESSION_FORMAT = "expotion.session"
SESSION_VERSION = CURRENT_VERSION
SESSION_SUFFIX = ".expotion"
AUTOSAVE_SUFFIX = ".autosave"
SESSION_MARKER_KINDS = ("user", "cue")
DEFAULT_ENGINE = "procedural"
DEFAULT_PRESET = "cinematic"
BPM_RANGE = (20.0, 400.0)

#: Settings the desktop app edits by name (:meth:`Session.setting`); ``analysis.<field>`` reaches the analysis.
SETTINGS = (
    "title", "video_in", "video_out", "timecode_start", "frame_rate", "timecode_rate", "preset", "prompt",
    "engine", "seed", "bpm",
)


@dataclass(frozen=True)
class TakeRecord:
    """One take of the session: where its files are and what it was made with.

    ``folder`` is absolute in memory (relative to the session file on disk); ``params``
    holds the rest of the request (tempo, sample rate, engine options, range) as JSON data;
    ``created`` is an ISO 8601 UTC time.
    """

    id: str
    folder: Path
    engine: str
    seed: int
    prompt: str = ""
    preset: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    created: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if not self.id or not isinstance(self.id, str):
            raise SessionError(f"A take id must be a non-empty string, got {self.id!r}.")
        object.__setattr__(self, "folder", Path(self.folder))

    def to_dict(self, base: Path | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "folder": _store_path(self.folder, base),
            "engine": self.engine,
            "seed": self.seed,
            "prompt": self.prompt,
            "preset": self.preset,
            "params": dict(self.params),
            "created": self.created,
            "label": self.label,
        }


@dataclass(frozen=True)
class DeliveryPrefs:
    """The session's delivery choices: sample rate, bit depth (32 = float) and formats (empty = all)."""

    sample_rate: int = 48000
    bit_depth: int = 24
    formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        ExportSettings(self.sample_rate, self.bit_depth)
        object.__setattr__(self, "formats", tuple(self.formats))

    def settings(self, force: bool = False) -> ExportSettings:
        """The exporters' settings for these choices."""
        return ExportSettings(self.sample_rate, self.bit_depth, force)

    def to_dict(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "bit_depth": self.bit_depth, "formats": list(self.formats)}


@dataclass(frozen=True)
class TimelineSource:
    """The editor's sequence a session was scored from: its file and format, its timecode rate
    (:attr:`studio.timecode.TimecodeRate.spec`) and start frame, and the scored range in its frames."""

    path: Path
    adapter: str
    rate: str
    start_frame: int
    in_frame: int = 0
    out_frame: int | None = None

    def validate(self) -> None:
        """Raise SessionError (one sentence) when a value cannot describe a sequence."""
        try:
            parse_rate(self.rate)
        except ExpotionError as exc:
            raise SessionError(f"The timeline's rate is not valid ({exc})") from None
        frames = (self.start_frame, self.in_frame) + (() if self.out_frame is None else (self.out_frame,))
        if not all(isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in frames):
            raise SessionError(f"The timeline's start, in and out frames {frames} must be whole numbers >= 0.")
        if self.out_frame is not None and self.out_frame <= self.in_frame:
            raise SessionError(f"The timeline's out frame {self.out_frame} must be after its in frame {self.in_frame}.")

    def to_dict(self, base: Path | None) -> dict[str, Any]:
        return {"path": _store_path(self.path, base), "absolute": self.path.as_posix(), "adapter": self.adapter,
                "rate": self.rate, "start_frame": self.start_frame, "in_frame": self.in_frame,
                "out_frame": self.out_frame}


@dataclass
class Session:
    """Everything the user chose and made for one video; see the module docstring for the file."""

    video: Path | None = None
    video_hash: str = ""
    title: str = ""
    video_in: float = 0.0
    video_out: float | None = None
    timecode_start: float = 0.0
    frame_rate: float = 25.0
    timecode_rate: str | None = None
    preset: str | None = DEFAULT_PRESET
    prompt: str = ""
    engine: str = DEFAULT_ENGINE
    engine_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    bpm: float | None = None
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    markers: list[Marker] = field(default_factory=list)
    takes: list[TakeRecord] = field(default_factory=list)
    chosen_take: str | None = None
    export: DeliveryPrefs = field(default_factory=DeliveryPrefs)
    timeline: TimelineSource | None = None
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.analysis.start is not None or self.analysis.end is not None:
            self.analysis = replace(self.analysis, start=None, end=None)  # the range is video_in/video_out

    # ----------------------------------------------------------------- video

    @classmethod
    def for_video(cls, video: str | os.PathLike[str], **values: Any) -> Session:
        """A new session for ``video``: its hash, title (file name) and frame rate filled in."""
        session = cls(**values)
        session.set_video(video, keep_title=bool(values.get("title")), keep_rate="frame_rate" in values)
        return session

    def set_video(self, video: str | os.PathLike[str], *, keep_title: bool = False, keep_rate: bool = False) -> None:
        """Use ``video`` (any content) from now on; reads its hash and, unless kept, title and frame rate."""
        from expotion_engine.media.probe import probe_video

        info = probe_video(video)
        self.video = Path(video).resolve()
        self.video_hash = content_hash(self.video)
        if not keep_title:
            self.title = self.video.stem
        if not keep_rate:
            self.frame_rate = editing_rate(info.fps, info.stream_fps)

    def use_video_timecode(self) -> str:
        """Start at the timecode the video file carries (a new session's default; a loaded one keeps its own).

        No tag, or one that cannot be read at the delivery's rate: 00:00:00:00. Returns a sentence saying
        which start it is and why, for the user.
        """
        if self.video is None:
            raise SessionError("The session has no video; open one first.")
        rate = self.timecode().rate
        try:
            own = file_timecode(self.video, rate)
        except TimecodeError as exc:
            self.timecode_start = 0.0
            return f"Starts at timecode {format_timecode(0.0, rate)}: {str(exc).rstrip('.')}."
        self.timecode_start = own.seconds if own is not None else 0.0
        label = format_timecode(self.timecode_start, rate)
        return (f"Starts at timecode {label}, the video's own." if own is not None
                else f"Starts at timecode {label}: the video carries no timecode.")

    @property
    def video_found(self) -> bool:
        """Whether the video file is where the session points."""
        return self.video is not None and self.video.is_file()

    def relink(self, new_path: str | os.PathLike[str]) -> None:
        """Point the session at its video's new place; refuses a file with other content."""
        new_path = Path(new_path)
        if not new_path.is_file():
            raise SessionError(f"{new_path}: file not found; cannot relink the session's video to it.")
        found = content_hash(new_path)
        if self.video_hash and not self._matches(new_path, found):
            raise SessionError(
                f"{new_path} is not this session's video (its content hash {found} differs from "
                f"{self.video_hash}); pick the original file, or use it as a new video."
            )
        self.video = new_path.resolve()
        self.video_hash = found

    def _matches(self, path: Path, found: str) -> bool:
        """Whether ``found`` is the stored hash; a hash stored by the old sampled scheme is checked and upgraded."""
        if found == self.video_hash:
            return True
        if legacy_sampled_hash(path) == self.video_hash:
            log.warning("%s: matched the session's older sampled content hash; it now records the whole-file hash",
                        path)
            self.video_hash = found
            return True
        return False

    def check_video(self) -> Path:
        """The video's path, or a SessionError saying it is missing or has changed."""
        if self.video is None:
            raise SessionError("The session has no video; open one first.")
        if not self.video.is_file():
            raise SessionError(f"{self.video}: the session's video is not there any more; relink it.")
        if self.video_hash and not self._matches(self.video, content_hash(self.video)):
            raise SessionError(
                f"{self.video}: this is not the video the session was made for (its content changed); "
                "relink the original file."
            )
        return self.video

    def timecode(self) -> RateChoice:
        """The timecode rate deliveries count at: the declared ``timecode_rate``, else one chosen for the video."""
        return choose_rate(self.frame_rate, self.timecode_rate)

    def analysis_settings(self) -> AnalysisSettings:
        """The analysis settings with the session's in/out range."""
        return replace(self.analysis, start=self.video_in or None, end=self.video_out)

    # ----------------------------------------------------------------- settings by name

    def setting(self, name: str) -> Any:
        """The value of one named setting (see :data:`SETTINGS`, or ``analysis.<field>``)."""
        if name.startswith("analysis."):
            return getattr(self.analysis, self._analysis_field(name))
        if name not in SETTINGS:
            raise SessionError(f"Unknown session setting {name!r}; known: {', '.join(SETTINGS)}, analysis.<field>.")
        return getattr(self, name)

    def set_setting(self, name: str, value: Any) -> None:
        """Change one named setting; an invalid value raises and leaves the session as it was."""
        if name.startswith("analysis."):
            try:
                self.analysis = replace(self.analysis, **{self._analysis_field(name): value})
            except (ControlError, TypeError, ValueError) as exc:
                raise SessionError(f"Analysis setting {name[9:]!r} = {value!r} is not valid ({exc}).") from None
            return
        before = self.setting(name)
        setattr(self, name, value)
        try:
            self.validate()
        except SessionError:
            setattr(self, name, before)
            raise

    def _analysis_field(self, name: str) -> str:
        key = name.split(".", 1)[1]
        if key not in {f.name for f in fields(AnalysisSettings)} - {"start", "end"}:
            raise SessionError(f"Unknown analysis setting {key!r}.")
        return key

    # ----------------------------------------------------------------- markers

    @property
    def user_markers(self) -> tuple[Marker, ...]:
        """The user's markers and cues, in the order they were added (indices refer to it)."""
        return tuple(self.markers)

    def set_user_markers(self, markers: Sequence[Marker]) -> None:
        """Replace every user marker (the desktop app's undo/redo uses this)."""
        for marker in markers:
            _check_marker(marker)
        self.markers = list(markers)

    def add_marker(self, time: float, name: str = "", kind: str = "user", color: str | None = None) -> int:
        """Add a marker at music time ``time``; returns its index."""
        marker = Marker(float(time), name or f"Marker {len(self.markers) + 1}", kind, color)
        _check_marker(marker)
        self.markers.append(marker)
        return len(self.markers) - 1

    def move_marker(self, index: int, time: float) -> None:
        """Move marker ``index`` to music time ``time``."""
        marker = replace(self._marker(index), time=float(time))
        _check_marker(marker)
        self.markers[index] = marker

    def rename_marker(self, index: int, name: str) -> None:
        self.markers[index] = replace(self._marker(index), name=str(name))

    def remove_marker(self, index: int) -> Marker:
        self._marker(index)
        return self.markers.pop(index)

    def _marker(self, index: int) -> Marker:
        if not 0 <= index < len(self.markers):
            raise SessionError(f"There is no marker {index}; the session has {len(self.markers)}.")
        return self.markers[index]

    def cues(self, duration: float | None = None) -> tuple[Marker, ...]:
        """User markers in time order, only those inside ``0..duration`` when given."""
        inside = [m for m in self.markers if duration is None or 0.0 <= m.time <= duration]
        return tuple(sorted(inside, key=lambda m: m.time))

    # ----------------------------------------------------------------- takes

    @property
    def takes_dir(self) -> Path:
        """Where new takes go: ``<session name>_takes/`` beside the session file."""
        if self.path is None:
            raise SessionError("The session has not been saved yet, so it has no takes folder; save it first.")
        return self.path.parent / f"{self.path.name.removesuffix(SESSION_SUFFIX)}_takes"

    def next_take_id(self) -> str:
        """A take id (``take-001``, ``take-002``, …) used neither by a take nor by a folder in the takes folder."""
        used = {t.id for t in self.takes}
        folder = self.takes_dir if self.path is not None else None
        n = len(self.takes) + 1
        while f"take-{n:03d}" in used or (folder is not None and (folder / f"take-{n:03d}").exists()):
            n += 1
        return f"take-{n:03d}"

    def take(self, take_id: str) -> TakeRecord:
        for record in self.takes:
            if record.id == take_id:
                return record
        known = ", ".join(t.id for t in self.takes) or "none"
        raise SessionError(f"The session has no take {take_id!r}; it has: {known}.")

    def add_take(self, record: TakeRecord, *, choose: bool = True) -> None:
        """Add a take (and make it the chosen one unless ``choose`` is False)."""
        if any(t.id == record.id for t in self.takes):
            raise SessionError(f"The session already has a take {record.id!r}.")
        self.takes.append(record)
        if choose or self.chosen_take is None:
            self.chosen_take = record.id

    def choose_take(self, take_id: str | None) -> None:
        """Make ``take_id`` the chosen take (None: no choice)."""
        if take_id is not None:
            self.take(take_id)
        self.chosen_take = take_id

    def rename_take(self, take_id: str, label: str) -> None:
        record = self.take(take_id)
        self.takes[self.takes.index(record)] = replace(record, label=str(label))

    def remove_take(self, take_id: str, *, delete_files: bool = False) -> TakeRecord:
        """Drop a take from the session (its files too when ``delete_files``; only inside the takes folder)."""
        record = self.take(take_id)
        self.takes.remove(record)
        if self.chosen_take == take_id:
            self.chosen_take = self.takes[-1].id if self.takes else None
        if delete_files and self.path is not None and self.takes_dir in record.folder.parents:
            shutil.rmtree(record.folder, ignore_errors=True)
        return record

    def chosen(self) -> TakeRecord | None:
        """The chosen take's record, or None."""
        return None if self.chosen_take is None else self.take(self.chosen_take)

    def chosen_take_folder(self) -> Path | None:
        """Absolute folder of the chosen take (``mix.wav``, ``stems/``, ``take.json``), or None."""
        record = self.chosen()
        return None if record is None else record.folder

    # ----------------------------------------------------------------- validation

    def validate(self) -> None:
        """Raise SessionError (one sentence) for the first value that is not valid."""
        if not (isinstance(self.video_in, int | float) and self.video_in >= 0):
            raise SessionError(f"The in point {self.video_in!r} must be a number of seconds >= 0.")
        if self.video_out is not None and not self.video_out > self.video_in:
            raise SessionError(f"The out point ({self.video_out!r} s) must be after the in point ({self.video_in} s).")
        if not (isinstance(self.frame_rate, int | float) and 0 < self.frame_rate <= 240):
            raise SessionError(f"Frame rate {self.frame_rate!r} must be within 0..240 frames/s.")
        if not (isinstance(self.timecode_start, int | float) and self.timecode_start >= 0):
            raise SessionError(f"Start timecode {self.timecode_start!r} must be >= 0 s.")
        if self.timecode_rate is not None:
            try:
                check_delivery_rate(parse_rate(self.timecode_rate))
            except ExpotionError as exc:
                raise SessionError(str(exc)) from None
        if self.engine not in ENGINES:
            raise SessionError(f"Unknown engine {self.engine!r}; available: {', '.join(sorted(ENGINES))}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise SessionError(f"Seed {self.seed!r} must be a whole number within 0..{2**32 - 1}.")
        low, high = BPM_RANGE
        if self.bpm is not None and not (isinstance(self.bpm, int | float) and low <= self.bpm <= high):
            raise SessionError(f"Tempo {self.bpm!r} BPM is outside {low:g}..{high:g}.")
        for marker in self.markers:
            _check_marker(marker)
        if self.timeline is not None:
            self.timeline.validate()
        ids = [t.id for t in self.takes]
        if len(set(ids)) != len(ids):
            raise SessionError(f"Take ids must be unique, got {ids}.")
        if self.chosen_take is not None and self.chosen_take not in ids:
            raise SessionError(f"The chosen take {self.chosen_take!r} is not one of the session's takes.")

    # ----------------------------------------------------------------- files

    def to_dict(self, base: Path | None = None) -> dict[str, Any]:
        """The file's content; paths relative to folder ``base`` when given, else absolute."""
        video = None
        if self.video is not None:
            video = {"path": _store_path(self.video, base), "absolute": self.video.as_posix(), "hash": self.video_hash}
        analysis = {k: v for k, v in self.analysis.to_dict().items() if k not in ("start", "end")}
        return {
            "format": SESSION_FORMAT,
            "version": SESSION_VERSION,
            "title": self.title,
            "video": video,
            "range": {"in": self.video_in, "out": self.video_out},
            "timecode": {"start": self.timecode_start, "frame_rate": self.frame_rate, "rate": self.timecode_rate},
            "preset": self.preset,
            "prompt": self.prompt,
            "engine": {"name": self.engine, "options": dict(self.engine_options)},
            "seed": self.seed,
            "bpm": self.bpm,
            "analysis": analysis,
            "markers": [m.to_dict() for m in self.markers],
            "takes": [t.to_dict(base) for t in self.takes],
            "chosen_take": self.chosen_take,
            "export": self.export.to_dict(),
            "timeline": None if self.timeline is None else self.timeline.to_dict(base),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | os.PathLike[str]) -> Session:
        """Validate and read a session file's content; ``source`` is the file (for paths and errors)."""
        return _parse(dict(data), Path(source))

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the session atomically (to ``path``, or where it was loaded from); removes the autosave."""
        if path is None and self.path is None:
            raise SessionError("The session has no file yet; give a path to save it to.")
        target = Path(path if path is not None else self.path).resolve()  # type: ignore[arg-type]
        self.validate()
        atomic_write_json(target, self.to_dict(target.parent))
        stale = {autosave_path(target)} | ({autosave_path(self.path)} if self.path is not None else set())
        for autosave in stale:
            autosave.unlink(missing_ok=True)
        self.path = target
        return target

    def autosave(self) -> Path:
        """Write ``<session file>.autosave`` (the file itself is untouched) and return its path."""
        if self.path is None:
            raise SessionError("The session has no file yet; save it once before it can be autosaved.")
        target = autosave_path(self.path)
        atomic_write_json(target, self.to_dict(self.path.parent))
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Session:
        """Read and validate a session file (SessionError naming the file and field when it is bad)."""
        path = Path(path).resolve()
        session = _parse(_read(path), path)
        session.path = path
        return session

    @classmethod
    def recover(cls, path: str | os.PathLike[str]) -> Session:
        """The session as its autosave left it, to be saved back to ``path`` (the ``.expotion`` file)."""
        path = Path(path).resolve()
        autosave = autosave_path(path)
        session = _parse(_read(autosave), autosave)
        session.path = path
        return session


def editing_rate(fps: float, stream_fps: float | None) -> float:
    """The frame rate editors take a video at: its stream's stated SMPTE rate where dropped frames bring the
    average ``fps`` below it (a phone's variable frame rate: 28.47 on average, 29.97 stated; a delivery at the
    average was counted at 30 non-drop), else the average (a stated rate of twice it is a field rate)."""
    stated = smpte_rate(stream_fps) if stream_fps else None
    if stated is not None and stream_fps is not None and 1.01 < stream_fps / fps < 1.5:
        return float(stated.rate)
    return float(fps)


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string (a take's ``created``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def autosave_path(path: str | os.PathLike[str]) -> Path:
    """Where the autosave of session file ``path`` goes."""
    path = Path(path)
    return path.with_name(path.name + AUTOSAVE_SUFFIX)


def find_autosave(path: str | os.PathLike[str]) -> Path | None:
    """The autosave of ``path`` when it holds newer work than the file (after a crash), else None."""
    autosave = autosave_path(path)
    if not autosave.is_file():
        return None
    session_file = Path(path)
    if session_file.is_file() and session_file.stat().st_mtime_ns > autosave.stat().st_mtime_ns:
        return None
    return autosave


# --------------------------------------------------------------------------- helpers


def _check_marker(marker: Marker) -> None:
    if marker.kind not in SESSION_MARKER_KINDS:
        raise SessionError(f"Session markers are {' or '.join(SESSION_MARKER_KINDS)}, not {marker.kind!r}.")
    if marker.time < 0:
        raise SessionError(f"Marker {marker.name!r} is at {marker.time:g} s, before the in point.")


def _store_path(path: Path, base: Path | None) -> str:
    """``path`` relative to ``base`` when there is a relative form (same drive), else absolute."""
    if base is None:
        return path.as_posix()
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return path.as_posix()


def _resolve_path(stored: str, base: Path, fallback: str | None = None) -> Path:
    """A stored path made absolute against ``base``; ``fallback`` is used when only it exists."""
    found = (base / stored).resolve()
    if not found.exists() and fallback and Path(fallback).exists():
        return Path(fallback)
    return found


def _read(path: Path) -> dict[str, Any]:
    text = read_regular_text(path, SessionError, "session file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionError(
            f"{path}: the session file is corrupted (not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); it was left as it is."
        ) from None
    except RecursionError:
        raise SessionError(f"{path}: the session file nests JSON too deeply to be a session; it was left as it is.") \
            from None
    if not isinstance(data, dict):
        raise SessionError(f"{path}: not an Expotion session file (expected a JSON object).")
    return data


_MISSING = object()
_NUMBER = (int, float)
_NAMES = {str: "a string", int: "a whole number", float: "a number", dict: "an object", list: "a list",
          bool: "true or false", type(None): "null"}


class _Fields:
    """Typed access to one JSON object of the file, naming ``file`` and the dotted field on errors."""

    def __init__(self, file: Path, obj: Any, where: str = "") -> None:
        self.file, self.where = file, where
        if not isinstance(obj, dict):
            raise SessionError(f"{file}: field '{where}' must be an object, got {_show(obj)}.")
        self.obj = obj

    def name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kinds: tuple[type, ...], default: Any = _MISSING) -> Any:
        if key not in self.obj:
            if default is _MISSING:
                raise SessionError(f"{self.file}: field '{self.name(key)}' is missing.")
            return default
        value = self.obj[key]
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            wanted = " or ".join(dict.fromkeys(_NAMES[k] for k in kinds))
            raise SessionError(f"{self.file}: field '{self.name(key)}' must be {wanted}, got {_show(value)}.")
        return value

    def number(self, key: str, default: Any = _MISSING, optional: bool = False) -> float | None:
        value = self.get(key, (*_NUMBER, type(None)) if optional else _NUMBER, default)
        return None if value is None else float(value)

    def sub(self, key: str) -> _Fields:
        return _Fields(self.file, self.get(key, (dict,)), self.name(key))

    def items(self, key: str) -> list[_Fields]:
        return [_Fields(self.file, item, f"{self.name(key)}[{i}]") for i, item in enumerate(self.get(key, (list,)))]


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _parse(data: dict[str, Any], file: Path) -> Session:
    top = _Fields(file, data)
    if data.get("format") != SESSION_FORMAT:
        raise SessionError(f"{file}: not an Expotion session file (its 'format' is {_show(data.get('format'))}).")
    version = top.get("version", (int,))
    if version > SESSION_VERSION:
        raise SessionError(
            f"{file}: written by a newer Expotion (session version {version}; this one reads up to "
            f"{SESSION_VERSION}); update Expotion to open it."
        )
    if version < 1:
        raise SessionError(f"{file}: field 'version' must be 1 or more, got {version}.")
    if version < SESSION_VERSION:
        log.info("%s: upgrading session version %d to %d", file, version, SESSION_VERSION)
        top = _Fields(file, upgrade(data, version))
    base = file.parent

    video_path, video_hash = None, ""
    if top.get("video", (dict, type(None))) is not None:
        video = top.sub("video")
        video_path = _resolve_path(video.get("path", (str,)), base, video.get("absolute", (str, type(None)), None))
        video_hash = video.get("hash", (str,))
    span, timecode, engine, export = top.sub("range"), top.sub("timecode"), top.sub("engine"), top.sub("export")

    try:
        analysis = AnalysisSettings.from_dict(top.get("analysis", (dict,)))
    except (ControlError, TypeError, ValueError) as exc:
        raise SessionError(f"{file}: field 'analysis' is not valid ({exc}).") from None

    markers = []
    for item in top.items("markers"):
        try:
            marker = Marker(
                time=item.number("time"), name=item.get("name", (str,)), kind=item.get("kind", (str,)),  # type: ignore[arg-type]
                color=item.get("color", (str, type(None)), None), strength=item.number("strength", 1.0),  # type: ignore[arg-type]
                comment=item.get("comment", (str,), ""),  # type: ignore[arg-type]
            )
            _check_marker(marker)
        except (ValueError, SessionError) as exc:
            raise SessionError(f"{file}: field '{item.where}' is not a valid marker ({exc})") from None
        markers.append(marker)

    takes = [
        TakeRecord(
            id=item.get("id", (str,)),
            folder=_resolve_path(item.get("folder", (str,)), base),
            engine=item.get("engine", (str,)),
            seed=item.get("seed", (int,)),
            prompt=item.get("prompt", (str,), ""),
            preset=item.get("preset", (str, type(None)), None),
            params=item.get("params", (dict,), {}),
            created=item.get("created", (str,), ""),
            label=item.get("label", (str,), ""),
        )
        for item in top.items("takes")
    ]
    formats = export.get("formats", (list,), [])
    if not all(isinstance(f, str) for f in formats):
        raise SessionError(f"{file}: field 'export.formats' must be a list of format names, got {_show(formats)}.")
    try:
        prefs = DeliveryPrefs(export.get("sample_rate", (int,)), export.get("bit_depth", (int,)), tuple(formats))
    except ExpotionError as exc:
        raise SessionError(f"{file}: field 'export' is not valid ({exc})") from None

    timeline = None
    if top.get("timeline", (dict, type(None)), None) is not None:
        sequence = top.sub("timeline")
        timeline = TimelineSource(
            path=_resolve_path(sequence.get("path", (str,)), base, sequence.get("absolute", (str, type(None)), None)),
            adapter=sequence.get("adapter", (str,)),
            rate=sequence.get("rate", (str,)),
            start_frame=sequence.get("start_frame", (int,)),
            in_frame=sequence.get("in_frame", (int,), 0),
            out_frame=sequence.get("out_frame", (int, type(None)), None),
        )

    session = Session(
        video=video_path,
        video_hash=video_hash,
        title=top.get("title", (str,)),
        video_in=span.number("in"),  # type: ignore[arg-type]
        video_out=span.number("out", optional=True),
        timecode_start=timecode.number("start"),  # type: ignore[arg-type]
        frame_rate=timecode.number("frame_rate"),  # type: ignore[arg-type]
        timecode_rate=timecode.get("rate", (str, type(None)), None),
        preset=top.get("preset", (str, type(None))),
        prompt=top.get("prompt", (str,)),
        engine=engine.get("name", (str,)),
        engine_options=engine.get("options", (dict,), {}),
        seed=top.get("seed", (int,)),
        bpm=top.number("bpm", optional=True),
        analysis=analysis,
        markers=markers,
        takes=takes,
        chosen_take=top.get("chosen_take", (str, type(None))),
        export=prefs,
        timeline=timeline,
    )
    try:
        session.validate()
    except SessionError as exc:
        raise SessionError(f"{file}: {exc}") from None
    return session


__all__ = [
    "AUTOSAVE_SUFFIX",
    "DEFAULT_PRESET",
    "SESSION_FORMAT",
    "SESSION_SUFFIX",
    "SESSION_VERSION",
    "DeliveryPrefs",
    "Session",
    "TakeRecord",
    "TimelineSource",
    "autosave_path",
    "find_autosave",
    "utc_now",
]
