"""Read a delivery folder back the way the programs that receive it do, for ``expotion check``.

The EDLs, FCP 7 XML and ``.otio`` are read with OpenTimelineIO's adapters, plus what the
adapters leave out (FCP 7 ``<enabled>`` kept as metadata, EDL locators); FCPXML is read from
its XML (the adapter's reader ignores ``tcStart`` and ``enabled`` and counts 29.97 as 29);
REAPER and DAWproject files are parsed as text and XML; the MIDI
file with mido; the BWF files with soundfile, block by block, and their ``bext`` chunk. Each becomes a
:class:`Placement`: where its sequence starts (a frame of timecode), the audio it plays (each
clip with its enabled flag and its place in seconds from the sequence start), every file it
refers to, and its markers as timecode frames. Nothing here knows how the files were written,
so a file edited or moved by hand reads back as it now is.
"""

from __future__ import annotations

import csv
import logging
import re
import struct
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree as ET

import mido
import numpy as np
import opentimelineio as otio
import soundfile as sf

from expotion_engine.errors import ExportError
from studio.timecode import TimecodeError, TimecodeRate, frame_seconds, parse_frames, parse_rate, to_frame

log = logging.getLogger(__name__)
Track = otio.schema.Track
Clip = otio.schema.Clip


@dataclass(frozen=True)
class AudioClip:
    """One audio clip of a timeline: its media, whether it plays, and where.

    ``position`` is seconds from the sequence start; ``source`` the seconds into the media's own
    timecode where it starts (None: from the media's first sample); ``channel`` the one channel
    it plays (an EDL's ``A1``/``A2``), None for all.
    """

    url: str
    path: Path | None
    enabled: bool
    position: float
    duration: float
    source: float | None = None
    channel: int | None = None


@dataclass
class Placement:
    """What one delivery file says: its sequence start frame, audio clips, referenced files, markers."""

    format: str
    file: Path
    start_frame: int | None = None
    audio: list[AudioClip] = field(default_factory=list)
    references: list[tuple[str, Path | None]] = field(default_factory=list)
    markers: list[tuple[str, int]] = field(default_factory=list)


#: frames read at a time when a BWF is walked in blocks (about 1.4 s at 48 kHz: a few MB for a mix and its stems)
BLOCK = 1 << 16


@dataclass(frozen=True)
class Bwf:
    """A delivered Broadcast WAV, its samples left on disk: ``(channels, frames)``, rate, ``bext``
    TimeReference, and the step of its sample format (one LSB of 16/24-bit PCM; 0 for float).

    The samples are read as float64 a span (:meth:`read`) or a block (:meth:`blocks`) at a time, so
    a 90-minute delivery is checked without holding any file whole.
    """

    path: Path
    shape: tuple[int, int]
    sample_rate: int
    time_reference: int | None
    lsb: float = 0.0

    @property
    def start_seconds(self) -> float | None:
        return None if self.time_reference is None else self.time_reference / self.sample_rate

    @property
    def frames(self) -> int:
        return self.shape[1]

    def open(self) -> sf.SoundFile:
        """The file opened for reading, to pass to :meth:`read` for many spans."""
        return sf.SoundFile(str(self.path))

    def read(self, start: int, stop: int, handle: sf.SoundFile | None = None) -> np.ndarray:
        """Frames ``start`` .. ``stop`` as a float64 ``(channels, n)`` array (through ``handle`` when given)."""
        stop = max(start, min(stop, self.frames))
        if handle is None:
            with self.open() as own:
                return self.read(start, stop, own)
        handle.seek(start)
        return handle.read(stop - start, dtype="float64", always_2d=True).T

    def blocks(self, size: int = BLOCK) -> Iterator[np.ndarray]:
        """The whole file as float64 ``(channels, n)`` blocks of ``size`` frames, in order, one open file for all."""
        with self.open() as handle:
            for start in range(0, self.frames, size):
                yield handle.read(min(size, self.frames - start), dtype="float64", always_2d=True).T


def _chunks(path: Path) -> dict[bytes, bytes]:
    """The RIFF chunks of a WAV file (the ``data`` chunk's body left out)."""
    out: dict[bytes, bytes] = {}
    with open(path, "rb") as handle:
        head = handle.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return out
        while True:
            header = handle.read(8)
            if len(header) < 8:
                break
            tag, size = header[:4], struct.unpack("<I", header[4:])[0]
            if tag == b"data":
                handle.seek(size + (size % 2), 1)
                continue
            out[tag] = handle.read(size)
            if size % 2:
                handle.read(1)
    return out


def read_bwf(path: Path) -> Bwf:
    """A BWF file's shape, rate and ``bext`` TimeReference (None without a ``bext`` chunk); no samples are read."""
    info = sf.info(str(path))
    bext = _chunks(path).get(b"bext")
    reference = None
    if bext is not None and len(bext) >= 346:
        low, high = struct.unpack("<II", bext[338:346])
        reference = (high << 32) | low
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "PCM_U8": 8}.get(info.subtype)
    return Bwf(path, (int(info.channels), int(info.frames)), int(info.samplerate), reference,
               2.0 ** (1 - bits) if bits else 0.0)


def bwf_rate(path: Path) -> TimecodeRate | None:
    """The timecode rate a BWF's iXML names (``TIMECODE_RATE`` and ``TIMECODE_FLAG``), or None."""
    body = _chunks(path).get(b"iXML")
    if body is None:
        return None
    try:
        speed = ET.fromstring(body.rstrip(b"\0")).find("SPEED")
        text, flag = speed.findtext("TIMECODE_RATE"), speed.findtext("TIMECODE_FLAG", "NDF")
        rate = parse_rate(text)
    except (ET.ParseError, AttributeError, TimecodeError):
        return None
    if rate.ntsc and rate.nominal in (30, 60):
        rate = TimecodeRate(rate.nominal, ntsc=True, drop_frame=flag.strip().upper() == "DF")
    return rate


def resolve(url: str, base: Path) -> Path | None:
    """The file a media URL names: ``file://`` URLs as they are, anything else relative to ``base``."""
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.parse.unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        return None
    path = Path(urllib.parse.unquote(url))
    return path if path.is_absolute() else base / path


# --------------------------------------------------------------------------- OpenTimelineIO formats


def _frames(time: otio.opentime.RationalTime, rate: TimecodeRate) -> int:
    return to_frame(time.to_seconds(), rate)


def _otio_read(path: Path, **kw: object) -> otio.schema.Timeline:
    try:
        return otio.adapters.read_from_file(str(path), **kw)
    except Exception as exc:  # the adapters raise anything from ValueError to their own errors
        raise ExportError(f"{path.name} cannot be read by OpenTimelineIO ({type(exc).__name__}: {exc}).") from None


def _audio_clips(timeline: otio.schema.Timeline, base: Path, *, enabled_of: Callable[[Track, Clip], bool],
                 origin: float = 0.0, channel_of: Callable[[Track], int | None] = lambda track: None,
                 ) -> list[AudioClip]:
    """Every clip of the audio tracks, its position counted from ``origin`` seconds of record time."""
    clips = []
    for track in timeline.audio_tracks():
        # a track trimmed to start at -T (the EDL reader's way of saying "records begin at T") starts at T
        offset = -track.source_range.start_time.to_seconds() if track.source_range is not None else 0.0
        for clip in track.find_clips():
            url = getattr(clip.media_reference, "target_url", "") or ""
            clips.append(AudioClip(
                url=url, path=resolve(url, base), enabled=enabled_of(track, clip),
                position=clip.range_in_parent().start_time.to_seconds() + offset - origin,
                duration=clip.source_range.duration.to_seconds(),
                source=clip.source_range.start_time.to_seconds(), channel=channel_of(track),
            ))
    return clips


def _references(timeline: otio.schema.Timeline, base: Path) -> list[tuple[str, Path | None]]:
    out = []
    for clip in timeline.find_clips():
        url = getattr(clip.media_reference, "target_url", None)
        if url:
            out.append((url, resolve(url, base)))
    return out


def read_otio_json(path: Path, rate: TimecodeRate) -> Placement:
    """A native ``.otio`` timeline: global start, enabled tracks and clips, sequence markers."""
    timeline = _otio_read(path)
    start = _frames(timeline.global_start_time, rate) if timeline.global_start_time is not None else 0
    placement = Placement("otio", path, start, references=_references(timeline, path.parent))
    placement.audio = _audio_clips(timeline, path.parent, enabled_of=lambda t, c: t.enabled and c.enabled)
    placement.markers = [(m.name, start + _frames(m.marked_range.start_time, rate)) for m in timeline.tracks.markers]
    return placement


def read_fcp7(path: Path, rate: TimecodeRate) -> Placement:
    """FCP 7 XML: sequence timecode, tracks and clips with their ``<enabled>`` flags, sequence markers."""
    timeline = _otio_read(path)
    start = _frames(timeline.global_start_time, rate) if timeline.global_start_time is not None else 0

    def enabled(track: Track, clip: Clip) -> bool:
        return all(item.enabled and item.metadata.get("fcp_xml", {}).get("enabled", "TRUE") != "FALSE"
                   for item in (track, clip))

    placement = Placement("fcp7", path, start, references=_references(timeline, path.parent))
    placement.audio = _audio_clips(timeline, path.parent, enabled_of=enabled)
    placement.markers = [(m.name, start + _frames(m.marked_range.start_time, rate)) for m in timeline.tracks.markers]
    return placement


def _fcpx_seconds(text: str | None) -> float:
    return float(Fraction((text or "0s").rstrip("s") or "0"))


def read_fcpxml(path: Path, rate: TimecodeRate) -> Placement:
    """FCPXML, read from its XML in rational seconds: the sequence's ``tcStart``, the spine's clips with
    their connected audio (``enabled="0"`` off) and markers.

    Sequence time is timecode (spine offsets count from ``tcStart``); a clip's children count in
    the clip's own time from its ``start``. OpenTimelineIO's FCPXML reader is not used here: it
    ignores ``tcStart`` and ``enabled`` and reads 29.97 fps as 29.
    """
    root = ET.parse(path).getroot()
    assets = {a.get("id"): (a.get("src", ""), _fcpx_seconds(a.get("start"))) for a in root.iter("asset")}
    placement = Placement("fcpxml", path,
                          references=[(src, resolve(src, path.parent)) for src, _ in assets.values() if src])
    sequence = root.find(".//sequence")
    if sequence is None:
        return placement
    start = _fcpx_seconds(sequence.get("tcStart"))
    placement.start_frame = to_frame(start, rate)
    for item in sequence.findall("./spine/*"):
        offset, local = _fcpx_seconds(item.get("offset")), _fcpx_seconds(item.get("start"))
        for marker in item.findall("marker"):
            at = offset + _fcpx_seconds(marker.get("start")) - local
            placement.markers.append((marker.get("value", ""), to_frame(at, rate)))
        for child in item.findall("*[@lane]"):
            refs = [e.get("ref") for e in child.iter() if e.tag in ("audio", "asset-clip") and e.get("ref")]
            for ref in refs:
                src, media_start = assets.get(ref, ("", 0.0))
                placement.audio.append(AudioClip(
                    src, resolve(src, path.parent), child.get("enabled", "1") != "0",
                    offset + _fcpx_seconds(child.get("offset")) - local - start,
                    _fcpx_seconds(child.get("duration")),
                    source=frame_seconds(to_frame(media_start, rate), rate),  # the media's timecode, on its frame
                ))
    return placement


_LOC = re.compile(r"^\*\s*LOC:\s*(\S+)\s+\S+\s+(.*)$")


def read_edl(path: Path, rate: TimecodeRate) -> Placement:
    """A CMX3600 list: the first event's record in, its events (``A1``/``A2`` as channels), ``* LOC:`` lines."""
    timeline = _otio_read(path, rate=rate.fps, ignore_timecode_mismatch=True)
    starts = [-t.source_range.start_time.to_seconds() for t in timeline.tracks if t.source_range is not None]
    start = to_frame(min(starts), rate) if starts else None
    placement = Placement("edl", path, start, references=_references(timeline, path.parent))
    origin = frame_seconds(start, rate) if start is not None else 0.0
    channels = {"A1": 0, "A2": 1}
    placement.audio = _audio_clips(timeline, path.parent, origin=origin,
                                   enabled_of=lambda t, c: t.enabled and c.enabled,
                                   channel_of=lambda track: channels.get(track.name))
    for line in path.read_text(errors="replace").splitlines():
        match = _LOC.match(line.strip())
        if match is not None:
            try:
                placement.markers.append((match.group(2).strip(), parse_frames(match.group(1), rate)))
            except TimecodeError:
                log.warning("%s: locator %r is not a timecode", path.name, match.group(1))
    return placement


# --------------------------------------------------------------------------- DAW formats and lists


_RPP_TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|`[^`]*`|\S+')


def _rpp_tokens(line: str) -> list[str]:
    return [t[1:-1] if t[:1] in "\"'`" else t for t in _RPP_TOKEN.findall(line.strip())]


def read_reaper(path: Path, rate: TimecodeRate) -> Placement:
    """A REAPER project: ``PROJOFFS`` start, each track's item source and mute state, markers."""
    placement = Placement("reaper", path)
    offset = 0.0
    track: dict[str, object] | None = None
    tracks: list[dict[str, object]] = []
    for raw in path.read_text(errors="replace").splitlines():
        tokens = _rpp_tokens(raw)
        if not tokens:
            continue
        head = tokens[0]
        if head == "PROJOFFS":
            offset = float(tokens[1])
        elif head == "<TRACK":
            track = {"muted": False, "files": [], "position": 0.0, "length": 0.0, "soffs": 0.0}
            tracks.append(track)
        elif track is not None and head == "MUTESOLO":
            track["muted"] = tokens[1] != "0"
        elif track is not None and head in ("POSITION", "LENGTH", "SOFFS"):
            track[head.lower()] = float(tokens[1])
        elif track is not None and head == "FILE":
            track["files"].append(tokens[1])  # type: ignore[union-attr]
        elif head == "MARKER" and len(tokens) >= 4 and tokens[3] not in ("", '""'):
            placement.markers.append((tokens[3], to_frame(offset + float(tokens[2]), rate)))
    placement.start_frame = to_frame(offset, rate)
    for entry in tracks:
        for name in entry["files"]:  # type: ignore[union-attr]
            target = resolve(str(name), path.parent)
            placement.references.append((str(name), target))
            if Path(str(name)).suffix.lower() == ".wav":
                placement.audio.append(AudioClip(str(name), target, not entry["muted"], float(entry["position"]),
                                                 float(entry["length"]), channel=None))
    return placement


def read_dawproject(path: Path, rate: TimecodeRate, start_seconds: float, start_slack: float = 0.0) -> Placement:
    """A DAWproject: tracks' clips and external files with their channels' mute, markers in seconds.

    The format has no timecode; ``start_seconds`` (the BWF timestamp) places its time 0. That start is
    known to within ``start_slack`` (half a sample), so a marker whose frame depends on where in that
    span the start lies sits on a half frame, and takes the frame after it as halves do.
    """
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.xml"))
    muted = {}
    for track in root.iter("Track"):
        channel = track.find("Channel")
        mute = channel.find("Mute") if channel is not None else None
        muted[track.get("id")] = mute is not None and mute.get("value") == "true"
    placement = Placement("dawproject", path)
    for lanes in root.iter("Lanes"):
        track_id = lanes.get("track")
        if track_id is None:
            continue
        for clip in lanes.iter("Clip"):
            for file in clip.iter("File"):
                name = file.get("path", "")
                target = resolve(name, path.parent) if file.get("external") == "true" else path
                placement.references.append((name, target))
                placement.audio.append(AudioClip(name, target, not muted.get(track_id, False),
                                                 float(clip.get("time", "0")), float(clip.get("duration", "0"))))
    placement.markers = [(m.get("name", ""), to_frame(start_seconds + float(m.get("time", "0")) + start_slack, rate))
                         for m in root.iter("Marker")]
    return placement


def read_midi(path: Path, rate: TimecodeRate) -> Placement:
    """A Standard MIDI File: the SMPTE offset as the start, markers and cue points at their timecode frames."""
    midi = mido.MidiFile(str(path), charset="utf-8")
    offsets = [m for m in midi.tracks[0] if m.type == "smpte_offset"] if midi.tracks else []
    start = 0.0
    if offsets:
        o = offsets[0]
        label = f"{o.hours:02d}:{o.minutes:02d}:{o.seconds:02d}:{o.frames:02d}"
        counted = TimecodeRate(rate.nominal // 2 if rate.nominal > 30 else rate.nominal, ntsc=rate.ntsc,
                               drop_frame=rate.drop_frame)
        start = frame_seconds(parse_frames(label, counted), counted) + o.sub_frames / 100 / counted.fps
    # a file that starts at 00:00:00:00 (``--midi-start timecode``) names no music start: its markers place it
    placement = Placement("midi", path, to_frame(start, rate) if start > 0 else None)
    now = 0.0
    for message in midi:
        now += message.time
        if message.type in ("marker", "cue_marker"):
            placement.markers.append((message.text, to_frame(start + now, rate)))
    return placement


def read_marker_csv(path: Path, rate: TimecodeRate) -> Placement:
    """The marker list: each row's name at its In timecode."""
    placement = Placement("markers", path)
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            placement.markers.append((row["Marker Name"], parse_frames(row["In"], rate)))
    return placement
