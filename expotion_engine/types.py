"""Value types that cross stage borders: ControlTrack, TempoMap, Marker, Note, Stem, Take,
GenerationRequest.

Conventions: times are seconds (float) measured from the start of the scored range (the
video's in point is music time 0); audio arrays are float32 shaped ``(channels, samples)``
as in pedalboard, librosa and demucs. Files are written atomically and never pickled.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from expotion_engine.audio_io import ON_DISK_ABOVE_S, WavAudio, is_lazy, place_file, write_wav_blocks
from expotion_engine.errors import ControlError, ExpotionError

MARKER_KINDS = ("hit", "section", "cue", "user")
CONTROL_FORMAT = "expotion.controltrack"
CONTROL_VERSION = 1
TAKE_FORMAT = "expotion.take"
TAKE_VERSION = 1


# --------------------------------------------------------------------------- atomic I/O

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def read_regular_text(path: str | os.PathLike[str], error: type[ExpotionError], what: str = "file") -> str:
    """The UTF-8 text of ``path``, refusing anything but a regular file (a FIFO or device would hang or never end)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found.") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc}).") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # before fdopen, which refuses a folder naming only the fd
        os.close(fd)
        raise error(f"{path}: not a regular file (a pipe, device or folder), so it cannot be read as a {what}.")
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read().decode("utf-8")
        except OSError as exc:
            raise error(f"{path}: cannot read the {what} ({exc.strerror or exc}).") from None
        except UnicodeDecodeError as exc:
            raise error(f"{path}: the {what} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


def parse_json(text: str, path: str | os.PathLike[str], error: type[ExpotionError], what: str = "file") -> Any:
    """``json.loads`` whose failures (bad syntax, absurd nesting) are one ``error`` naming ``path``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: the {what} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                    f"column {exc.colno}).") from None
    except RecursionError:
        raise error(f"{path}: the {what} nests JSON too deeply to be one Expotion wrote.") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).rstrip(".")
    return f"{type(exc).__name__}: {text}" if isinstance(exc, KeyError) or not text else text


def _version(meta: Mapping[str, Any], path: Path, error: type[ExpotionError]) -> int:
    try:
        return int(meta.get("version", 0))
    except (TypeError, ValueError):
        raise error(f"{path}: its 'version' field is not a whole number ({meta.get('version')!r}).") from None


def _read_json(path: Path, error: type[ExpotionError]) -> dict[str, Any]:
    data = parse_json(read_regular_text(path, error), path, error)
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object at the top level.")
    return data


# --------------------------------------------------------------------------- markers


@dataclass(frozen=True)
class Marker:
    """A point on the timeline: a hit point, a section start, a cue or a user marker.

    A hit's ``time`` is the visual event (the first frame where the change shows),
    ``strength`` is 0..1 on one scale for every cause, ``cause`` says what the video did
    (``cut``, ``motion`` or ``expression``; None for other markers and older files).
    """

    time: float
    name: str
    kind: str = "user"
    color: str | None = None
    strength: float = 1.0
    cause: str | None = None
    comment: str = ""  # the user's note on a marker; exported where a format has comments

    def __post_init__(self) -> None:
        if self.kind not in MARKER_KINDS:
            raise ValueError(f"Marker kind {self.kind!r} is not one of {', '.join(MARKER_KINDS)}.")
        if not math.isfinite(self.time):
            raise ValueError(f"Marker time must be finite, got {self.time!r}.")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.comment:  # files without comments stay as they were
            del data["comment"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Marker:
        return cls(
            time=float(data["time"]),
            name=str(data.get("name", "")),
            kind=str(data.get("kind", "user")),
            color=data.get("color"),
            strength=float(data.get("strength", 1.0)),
            cause=None if data.get("cause") is None else str(data["cause"]),
            comment=str(data.get("comment") or ""),
        )


# --------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class VideoSource:
    """Identity of the analysed video and the range that was analysed.

    ``start``/``end``/``duration`` are seconds from the first presented video frame (time
    zero everywhere); ``video_start`` is where that frame sits in the container's own
    time, so container time = ``video_start`` + these (0.0 for files saved before it was
    recorded).
    """

    path: str
    content_hash: str
    fps: float
    width: int
    height: int
    duration: float
    start: float
    end: float
    rotation: int = 0
    video_start: float = 0.0

    @property
    def range_duration(self) -> float:
        return self.end - self.start

    @property
    def container_start(self) -> float:
        """The in point in the container's time (what FFmpeg seeks to)."""
        return self.video_start + self.start

    @property
    def container_end(self) -> float:
        """The out point in the container's time."""
        return self.video_start + self.end

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoSource:
        return cls(
            path=str(data["path"]),
            content_hash=str(data["content_hash"]),
            fps=float(data["fps"]),
            width=int(data["width"]),
            height=int(data["height"]),
            duration=float(data["duration"]),
            start=float(data["start"]),
            end=float(data["end"]),
            rotation=int(data.get("rotation", 0)),
            video_start=float(data.get("video_start", 0.0)),
        )


@dataclass(frozen=True, eq=False)
class ControlTrack:
    """Time-aligned musical controls from a video, uniform at ``rate`` Hz.

    ``values[k, c]`` describes music time ``k / rate`` (seconds from the in point) for
    channel ``channels[c]``; ``mask[k, c]`` is True where that value was observed (or
    filled across a short gap) and False where it is unknown (no face, no body): masked
    values hold the nearest valid value so arithmetic stays finite, but must not be
    trusted. ``markers`` are the detected hit points.
    """

    rate: float
    channels: tuple[str, ...]
    values: np.ndarray
    mask: np.ndarray
    source: VideoSource
    markers: tuple[Marker, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float32)
        mask = np.asarray(self.mask, dtype=bool)
        if values.ndim != 2 or values.shape[1] != len(self.channels):
            raise ControlError(
                f"ControlTrack values have shape {values.shape}, expected (frames, {len(self.channels)})."
            )
        if mask.shape != values.shape:
            raise ControlError(f"ControlTrack mask shape {mask.shape} != values shape {values.shape}.")
        if len(set(self.channels)) != len(self.channels):
            raise ControlError("ControlTrack channel names must be unique.")
        if not self.rate > 0:
            raise ControlError(f"ControlTrack rate must be positive, got {self.rate}.")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "markers", tuple(sorted(self.markers, key=lambda m: m.time)))

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration(self) -> float:
        """Length of the scored range in seconds."""
        return self.source.range_duration

    @property
    def times(self) -> np.ndarray:
        """Music time of each control frame in seconds (``k / rate``)."""
        return np.arange(self.n_frames, dtype=np.float64) / self.rate

    def index(self, name: str) -> int:
        try:
            return self.channels.index(name)
        except ValueError:
            raise ControlError(
                f"ControlTrack has no channel {name!r}; it has: {', '.join(self.channels)}."
            ) from None

    def channel(self, name: str) -> np.ndarray:
        """Values of one channel, shape ``(frames,)``."""
        return self.values[:, self.index(name)]

    def valid(self, name: str) -> np.ndarray:
        """Mask of one channel, shape ``(frames,)``."""
        return self.mask[:, self.index(name)]

    def has(self, name: str) -> bool:
        return name in self.channels

    def select(self, names: Sequence[str]) -> ControlTrack:
        """A track with only ``names``, in that order."""
        idx = [self.index(n) for n in names]
        return replace(self, channels=tuple(names), values=self.values[:, idx], mask=self.mask[:, idx])

    def with_markers(self, markers: Iterable[Marker]) -> ControlTrack:
        return replace(self, markers=tuple(markers))

    def metadata(self) -> dict[str, Any]:
        """Everything but the arrays, as JSON-ready data (the sidecar's content)."""
        return {
            "format": CONTROL_FORMAT,
            "version": CONTROL_VERSION,
            "rate": self.rate,
            "channels": list(self.channels),
            "n_frames": self.n_frames,
            "source": self.source.to_dict(),
            "markers": [m.to_dict() for m in self.markers],
            "settings": dict(self.settings),
            "versions": dict(self.versions),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``<name>.npz`` (values, mask) and ``<name>.json`` (everything else).

        Returns the path of the ``.npz``; the sidecar sits beside it.
        """
        npz = Path(path).with_suffix(".npz")
        import io

        buffer = io.BytesIO()
        np.savez_compressed(buffer, values=self.values, mask=self.mask)
        atomic_write_bytes(npz, buffer.getvalue())
        atomic_write_json(npz.with_suffix(".json"), self.metadata())
        return npz

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ControlTrack:
        """Read a track written by :meth:`save`, checking format, version and shapes."""
        npz = Path(path).with_suffix(".npz")
        meta = _read_json(npz.with_suffix(".json"), ControlError)
        if meta.get("format") != CONTROL_FORMAT:
            raise ControlError(f"{npz.with_suffix('.json')}: not an Expotion ControlTrack sidecar.")
        version = _version(meta, npz.with_suffix(".json"), ControlError)
        if version > CONTROL_VERSION:
            raise ControlError(
                f"{npz}: written by a newer Expotion (ControlTrack version {version}, "
                f"this one reads up to {CONTROL_VERSION})."
            )
        try:
            with np.load(npz, allow_pickle=False) as arrays:
                values, mask = arrays["values"], arrays["mask"]
        except FileNotFoundError:
            raise ControlError(f"{npz}: file not found.") from None
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise ControlError(f"{npz}: not a readable ControlTrack archive ({_one_line(exc)}).") from None
        try:
            return cls(
                rate=float(meta["rate"]),
                channels=tuple(meta["channels"]),
                values=values,
                mask=mask,
                source=VideoSource.from_dict(meta["source"]),
                markers=tuple(Marker.from_dict(m) for m in meta.get("markers", [])),
                settings=meta.get("settings", {}),
                versions=meta.get("versions", {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ControlError(f"{npz}: sidecar is missing or has a bad field ({_one_line(exc)}).") from None


# --------------------------------------------------------------------------- tempo


@dataclass(frozen=True)
class TempoChange:
    """From ``time`` (seconds) on, the tempo is ``bpm`` quarter notes per minute."""

    time: float
    bpm: float


@dataclass(frozen=True)
class MeterChange:
    """From ``time`` (seconds, on a beat) on, bars are ``numerator/denominator``."""

    time: float
    numerator: int = 4
    denominator: int = 4


@dataclass(frozen=True)
class TempoMap:
    """Piecewise-constant tempo, meter changes and the first downbeat.

    Beat 0 is music time 0; beats are quarter notes (MIDI convention), so tick ``n`` at
    ``ppq`` is beat ``n / ppq``. ``anchor`` is the time of the first downbeat (bar 1);
    bars count from there in the meter that holds at each point. One implementation of
    seconds ⇄ beats ⇄ ticks for every exporter and the MIDI clock.
    """

    tempos: tuple[TempoChange, ...]
    meters: tuple[MeterChange, ...] = (MeterChange(0.0, 4, 4),)
    anchor: float = 0.0

    def __post_init__(self) -> None:
        tempos = tuple(sorted(self.tempos, key=lambda c: c.time))
        if not tempos:
            raise ValueError("A TempoMap needs at least one tempo.")
        for change in tempos:
            if not (math.isfinite(change.bpm) and 1.0 <= change.bpm <= 1000.0):
                raise ValueError(f"Tempo {change.bpm!r} BPM is outside 1..1000.")
            if not (math.isfinite(change.time) and change.time >= 0.0):
                raise ValueError(f"Tempo change time {change.time!r} must be >= 0 s.")
        if tempos[0].time > 0:
            tempos = (TempoChange(0.0, tempos[0].bpm), *tempos)
        meters = tuple(sorted(self.meters, key=lambda m: m.time)) or (MeterChange(0.0),)
        for meter in meters:
            if meter.numerator < 1 or meter.denominator not in (1, 2, 4, 8, 16, 32):
                raise ValueError(f"Time signature {meter.numerator}/{meter.denominator} is not valid.")
        object.__setattr__(self, "tempos", tempos)
        object.__setattr__(self, "meters", meters)
        starts = [0.0]
        for prev, nxt in zip(tempos, tempos[1:], strict=False):
            starts.append(starts[-1] + (nxt.time - prev.time) * prev.bpm / 60.0)
        object.__setattr__(self, "_beat_starts", tuple(starts))

    @classmethod
    def constant(cls, bpm: float, numerator: int = 4, denominator: int = 4, anchor: float = 0.0) -> TempoMap:
        return cls((TempoChange(0.0, bpm),), (MeterChange(0.0, numerator, denominator),), anchor)

    def bpm_at(self, time: float) -> float:
        i = max(bisect.bisect_right([c.time for c in self.tempos], time) - 1, 0)
        return self.tempos[i].bpm

    def held_bpm(self, end: float) -> float:
        """The tempo most beats up to ``end`` seconds are played at: the take's tempo as a person names it (not a
        lead-in's, a beat or two, nor a final held chord's, long in seconds but few beats)."""
        ends = [c.time for c in self.tempos[1:]] + [max(end, self.tempos[-1].time)]
        return max(zip(self.tempos, ends, strict=True), key=lambda held: (held[1] - held[0].time) * held[0].bpm)[0].bpm

    def beat_at(self, time: float) -> float:
        """Quarter-note position of ``time`` (seconds); negative before music time 0."""
        i = max(bisect.bisect_right([c.time for c in self.tempos], time) - 1, 0)
        return self._beat_starts[i] + (time - self.tempos[i].time) * self.tempos[i].bpm / 60.0

    def time_at(self, beat: float) -> float:
        """Seconds at quarter-note position ``beat`` (inverse of :meth:`beat_at`)."""
        i = max(bisect.bisect_right(self._beat_starts, beat) - 1, 0)
        return self.tempos[i].time + (beat - self._beat_starts[i]) * 60.0 / self.tempos[i].bpm

    def seconds_to_ticks(self, time: float, ppq: int = 480) -> int:
        return int(round(self.beat_at(time) * ppq))

    def ticks_to_seconds(self, ticks: int, ppq: int = 480) -> float:
        return self.time_at(ticks / ppq)

    def meter_at(self, time: float) -> MeterChange:
        i = max(bisect.bisect_right([m.time for m in self.meters], time) - 1, 0)
        return self.meters[i]

    def beat_times(self, end: float) -> np.ndarray:
        """Times of every quarter-note beat from 0 up to ``end`` seconds."""
        n = int(math.floor(self.beat_at(end) + 1e-9))
        return np.array([self.time_at(b) for b in range(0, n + 1)])

    def downbeat_times(self, end: float) -> np.ndarray:
        """Times of bar starts from the anchor up to ``end``, following meter changes."""
        out: list[float] = []
        beat = self.beat_at(self.anchor)
        time = self.anchor
        while time <= end + 1e-9:
            out.append(time)
            meter = self.meter_at(time)
            beat += meter.numerator * 4.0 / meter.denominator
            time = self.time_at(beat)
        return np.array(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tempos": [asdict(c) for c in self.tempos],
            "meters": [asdict(m) for m in self.meters],
            "anchor": self.anchor,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TempoMap:
        return cls(
            tempos=tuple(TempoChange(float(c["time"]), float(c["bpm"])) for c in data["tempos"]),
            meters=tuple(
                MeterChange(float(m["time"]), int(m["numerator"]), int(m["denominator"]))
                for m in data.get("meters", [{"time": 0.0, "numerator": 4, "denominator": 4}])
            ),
            anchor=float(data.get("anchor", 0.0)),
        )


# --------------------------------------------------------------------------- audio


@dataclass(frozen=True)
class Note:
    """One note of a part; times in seconds from music time 0."""

    pitch: int
    start: float
    end: float
    velocity: int
    channel: int = 0
    program: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127 or not 1 <= self.velocity <= 127:
            raise ValueError(f"Note pitch {self.pitch} / velocity {self.velocity} out of MIDI range.")
        if self.end <= self.start:
            raise ValueError(f"Note ends ({self.end}) before it starts ({self.start}).")


@dataclass(frozen=True, eq=False)
class Stem:
    """One part of a Take: its audio and, where the engine knows them, its notes.

    ``origin`` says how the stem was made: ``rendered`` (exact, from the engine's own
    parts), ``separated`` (a source-separation model) or ``dsp`` (the filter fallback).
    ``audio`` is an array, or for a long take a :class:`~expotion_engine.audio_io.WavAudio` on
    disk (array-like: ``shape``, slicing reads only those frames, ``np.asarray`` loads it whole).
    """

    name: str
    audio: np.ndarray | WavAudio
    notes: tuple[Note, ...] = ()
    origin: str = "rendered"
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if is_lazy(self.audio):  # a long stem stays on disk; walk it with iter_blocks
            return
        audio = np.asarray(self.audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[None, :]
        if audio.ndim != 2:
            raise ValueError(f"Stem {self.name!r} audio must be (channels, samples), got {audio.shape}.")
        object.__setattr__(self, "audio", audio)


@dataclass(frozen=True, eq=False)
class GenerationRequest:
    """Everything an engine needs to score one range: controls, words, preset and seed.

    ``preset`` is the validated preset table (plain data); ``cues`` are user markers the
    engine should respect; ``options`` are engine-specific settings.
    """

    controls: ControlTrack
    prompt: str = ""
    preset: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    sample_rate: int = 48000
    bpm: float | None = None
    cues: tuple[Marker, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.controls.duration

    @property
    def n_samples(self) -> int:
        """Output length: the video range to the sample."""
        return int(round(self.duration * self.sample_rate))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description; the controls are identified, not copied."""
        return {
            "prompt": self.prompt,
            "preset": dict(self.preset),
            "seed": self.seed,
            "sample_rate": self.sample_rate,
            "bpm": self.bpm,
            "cues": [m.to_dict() for m in self.cues],
            "options": dict(self.options),
            "controls": {
                "source": self.controls.source.to_dict(),
                "rate": self.controls.rate,
                "channels": list(self.controls.channels),
                "settings": dict(self.controls.settings),
            },
        }


@dataclass(frozen=True, eq=False)
class Take:
    """One generation result: mix, stems, tempo map, markers and how it was made."""

    engine: str
    sample_rate: int
    mix: np.ndarray | WavAudio
    stems: tuple[Stem, ...]
    tempo_map: TempoMap
    markers: tuple[Marker, ...]
    request: Mapping[str, Any]
    seed: int
    timings: Mapping[str, float] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        mix = self.mix
        if not is_lazy(mix):
            mix = np.asarray(mix, dtype=np.float32)
            if mix.ndim == 1:
                mix = mix[None, :]
            object.__setattr__(self, "mix", mix)
        for stem in self.stems:
            if stem.audio.shape[1] != mix.shape[1]:
                raise ValueError(
                    f"Stem {stem.name!r} has {stem.audio.shape[1]} samples, the mix {mix.shape[1]}."
                )

    @property
    def n_samples(self) -> int:
        return int(self.mix.shape[1])

    @property
    def duration(self) -> float:
        return self.n_samples / self.sample_rate

    def stem(self, name: str) -> Stem:
        for stem in self.stems:
            if stem.name == name:
                return stem
        raise KeyError(f"Take has no stem {name!r}; it has: {', '.join(s.name for s in self.stems)}.")

    def metadata(self) -> dict[str, Any]:
        """``take.json``: everything but the audio, JSON-ready."""
        return {
            "format": TAKE_FORMAT,
            "version": TAKE_VERSION,
            "engine": self.engine,
            "sample_rate": self.sample_rate,
            "n_samples": self.n_samples,
            "seed": self.seed,
            "request": dict(self.request),
            "tempo_map": self.tempo_map.to_dict(),
            "markers": [m.to_dict() for m in self.markers],
            "stems": [
                {
                    "name": s.name,
                    "file": f"stems/{s.name}.wav",
                    "origin": s.origin,
                    "info": dict(s.info),
                    "notes": [asdict(n) for n in s.notes],
                }
                for s in self.stems
            ],
            "timings": dict(self.timings),
            "info": dict(self.info),
        }

    @property
    def on_disk(self) -> bool:
        """Whether the mix or a stem is a WAV file on disk rather than an array (a long take)."""
        return is_lazy(self.mix) or any(is_lazy(s.audio) for s in self.stems)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``mix.wav``, ``stems/<name>.wav`` (32-bit float) and ``take.json``.

        Audio is written block by block; audio already in a float WAV at this rate (a long take
        on disk) is hard-linked, or copied where the disk differs, never read whole.
        """
        folder = Path(folder)

        def put(audio: np.ndarray | WavAudio, target: Path) -> None:
            if is_lazy(audio) and audio.sample_rate == self.sample_rate and _is_float_wav(audio.path):
                if audio.path.resolve() != target.resolve():
                    place_file(audio.path, target)
            else:
                write_wav_blocks(target, audio, self.sample_rate)

        put(self.mix, folder / "mix.wav")
        for stem in self.stems:
            put(stem.audio, folder / "stems" / f"{stem.name}.wav")
        atomic_write_json(folder / "take.json", self.metadata())
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Take:
        """Read a Take written by :meth:`save`; any damage is one AudioError naming the file."""
        import soundfile as sf

        from expotion_engine.errors import AudioError

        folder = Path(folder)
        json_path = folder / "take.json"
        meta = _read_json(json_path, AudioError)
        if meta.get("format") != TAKE_FORMAT:
            raise AudioError(f"{json_path}: not an Expotion take.")
        if _version(meta, json_path, AudioError) > TAKE_VERSION:
            raise AudioError(f"{json_path}: written by a newer Expotion.")
        try:
            sample_rate = int(meta["sample_rate"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AudioError(f"{json_path}: the take has no valid sample rate ({_one_line(exc)}).") from None
        if not 1000 <= sample_rate <= 768_000:
            raise AudioError(f"{json_path}: sample rate {sample_rate} Hz is outside 1000..768000; the take is damaged.")

        def read(name: Any) -> np.ndarray | WavAudio:
            if not isinstance(name, str) or not name:
                raise AudioError(f"{json_path}: a stem's 'file' field is not a file name ({name!r}).")
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise AudioError(f"{json_path}: stem file {name!r} lies outside the take folder; refusing to read it.")
            path = folder / name
            if path.exists() and not path.is_file():
                raise AudioError(f"{path}: not a regular file, so it cannot be read as audio.")
            try:
                info = sf.info(str(path))
                if info.samplerate == sample_rate and info.frames > ON_DISK_ABOVE_S * sample_rate:
                    return WavAudio(path)  # a long take stays on disk
                audio, _ = sf.read(path, dtype="float32", always_2d=True)
            except (OSError, RuntimeError, ValueError, TypeError) as exc:
                raise AudioError(f"{path}: cannot read audio ({_one_line(exc)}).") from None
            if info.samplerate != sample_rate:
                raise AudioError(f"{path}: its sample rate is {info.samplerate} Hz, the take says {sample_rate} Hz.")
            return audio.T

        try:
            stems = tuple(
                Stem(
                    name=str(s["name"]),
                    audio=read(s["file"]),
                    notes=tuple(Note(**n) for n in s.get("notes", [])),
                    origin=str(s.get("origin", "rendered")),
                    info=dict(s.get("info", {})),
                )
                for s in meta.get("stems", [])
            )
            return cls(
                engine=str(meta["engine"]),
                sample_rate=sample_rate,
                mix=read("mix.wav"),
                stems=stems,
                tempo_map=TempoMap.from_dict(meta["tempo_map"]),
                markers=tuple(Marker.from_dict(m) for m in meta.get("markers", [])),
                request=dict(meta.get("request", {})),
                seed=int(meta.get("seed", 0)),
                timings=dict(meta.get("timings", {})),
                info=dict(meta.get("info", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise AudioError(f"{json_path}: the take is damaged ({_one_line(exc)}).") from None


def _is_float_wav(path: Path) -> bool:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (OSError, RuntimeError):
        return False
    return info.subtype == "FLOAT" and info.format in ("WAV", "RF64")
