"""The score back into the editor's sequence: one file of the input timeline with the music as new audio tracks.

The sequence is written in its own format (an EDL, which holds one track, as ``.otio``,
its drop-frame timecode kept in ``metadata["expotion"]["timecode_rate"]``) with every
original track, clip and marker as the file had them, plus one audio track per score
file: the mix enabled, the stems beneath it disabled (so the music plays once and the
stems are there to switch on), each clip starting at the scored range's in point on the
sequence's own record time and lasting the scored range.

``.otio`` is edited in OpenTimelineIO's model. FCP 7 XML and FCPXML are edited in the file
itself, so whatever the adapters do not model (effects, audio levels, roles, ids) stays as
the editor wrote it. In every format a media URL relative to the timeline's folder is made
relative to the delivery folder (the same file; absolute ones stay as written). FCP 7 XML
gets ``<track>`` elements under the sequence's ``<media><audio>``, each clipitem with its
own ``<file>`` (``file://localhost`` URL, timecode, sample rate, depth and channels; a
stereo file's track is marked stereo for Premiere). FCPXML gets an ``asset`` per file
(``media-rep`` from version 1.9, ``src`` before) and a connected ``asset-clip`` (role
``music``) below the primary storyline (lanes -1, -2, ..., under any lane already
connected there), anchored to the spine
element under the in point and placed before its markers as the DTD orders them, every
time on a frame of the sequence's ``frameDuration``. Audio URLs are absolute, as editors
write them. Ids are new (``expotion1``, ``expotion-clipitem-1``, ...; a round trip of a
round trip takes the next free ones and switches the earlier score's tracks off, so the new
music plays once).
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote, urlparse

import opentimelineio as otio
import soundfile as sf

from expotion_engine.types import Take
from studio.export.added import add_to_delivery
from studio.export.job import DeliveryFolder, safe_name
from studio.export.text import clean_line
from studio.pipeline import export_job
from studio.session import Session
from studio.timecode import TimecodeRate, format_frames
from studio.timeline.fcpx import fcpx_time, sequence_start_and_rate
from studio.timeline.model import Timeline, TimelineError
from studio.timeline.read import load_sequence, read_timeline
from studio.timeline.relink import url_path

log = logging.getLogger(__name__)

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: the input's adapter -> (adapter the round trip is written with, file suffix)
ROUNDTRIP = {
    "otio_json": ("otio_json", ".otio"),
    "cmx_3600": ("otio_json", ".otio"),
    "fcp_xml": ("fcp_xml", ".xml"),
    "fcpx_xml": ("fcpx_xml", ".fcpxml"),
}
#: the round-trip file's name in the delivery's manifest (a re-delivery without it removes it)
SEQUENCE = "sequence"
#: the round-trip file's line in the delivery's guide
SEQUENCE_NOTE = "the editor's sequence with the mix and stems (off) as new audio tracks (import it there)"
#: metadata key (``.otio``) and id/name prefix (XML) that mark what Expotion added
TAG = "expotion"
#: WAV sample format -> bits per sample (FCP 7 XML's ``depth``)
_BITS = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}
#: FCPXML children that must come after a clip's connected clips (the DTD's order)
_AFTER_ANCHORS = {"marker", "chapter-marker", "rating", "keyword", "analysis-marker", "audio-channel-source",
                  "audio-role-source", "filter-video", "filter-video-mask", "filter-audio", "metadata", "sync-source",
                  "mc-source", "reserved"}
#: FCPXML spine elements a connected clip can hang from (the DTD's elements with anchored items; not an audition)
_ANCHORS = {"clip", "asset-clip", "ref-clip", "sync-clip", "mc-clip", "gap", "video", "audio", "title"}


@dataclass(frozen=True)
class ScoreTrack:
    """One score file to lay into the sequence: its track name, the audio file and whether it plays."""

    name: str
    path: Path
    enabled: bool = True


@dataclass(frozen=True)
class _Audio:
    """A score file as the formats describe it."""

    track: ScoreTrack
    sample_rate: int
    channels: int
    bit_depth: int

    @property
    def url(self) -> str:
        return self.track.path.resolve().as_uri()


def roundtrip_file(title: str, timeline: Timeline) -> str:
    """The round-trip file's name in the delivery folder: ``<title>_sequence<suffix of its format>``."""
    return f"{safe_name(title)}_sequence{ROUNDTRIP[timeline.adapter][1]}"


def _audio(tracks: Sequence[ScoreTrack]) -> list[_Audio]:
    found = []
    for track in tracks:
        try:
            info = sf.info(str(track.path))
        except (OSError, RuntimeError) as exc:
            raise TimelineError(f"{track.path}: cannot read the score's audio to lay it into the sequence ({exc}).") \
                from None
        found.append(_Audio(track, int(info.samplerate), int(info.channels), _BITS.get(info.subtype, 32)))
    return found


# --------------------------------------------------------------------------- .otio (and EDL)


def _is_relative(url: str) -> bool:
    """Whether media ``url`` names a file relative to its timeline's folder (no scheme, not absolute)."""
    return bool(url) and not urlparse(url).scheme and not url_path(url).is_absolute()


def _moved(url: str, old: Path, new: Path) -> str:
    """Relative media ``url`` of a timeline in folder ``old``, as a path relative to folder ``new``."""
    return Path(os.path.relpath(old / url_path(url), new)).as_posix()


def _rebase(source: otio.schema.Timeline, old: Path, new: Path) -> None:
    """Relative media URLs of ``source`` (relative to folder ``old``) made relative to folder ``new`` instead."""
    for clip in source.find_clips():
        reference = clip.media_reference
        url = getattr(reference, "target_url", "") or ""
        if _is_relative(url):
            reference.target_url = _moved(url, old, new)


def _rebase_xml(elements: Iterable[ET.Element], attribute: str | None, old: Path, new: Path) -> None:
    """Relative media URLs in ``elements`` (their ``attribute``, else their text) made relative to folder ``new``
    instead of ``old``, so the round trip written there finds the editor's media (absolute ones stay as written)."""
    for element in elements:
        url = (element.get(attribute) if attribute else element.text) or ""
        if not _is_relative(url.strip()):
            continue
        moved = quote(_moved(url.strip(), old, new))
        if attribute:
            element.set(attribute, moved)
        else:
            element.text = moved


def _otio_text(timeline: Timeline, audio: list[_Audio], folder: Path) -> str:
    """The sequence in OpenTimelineIO's model (as read) with one audio track per score file."""
    fps = timeline.rate.fps
    source = load_sequence(timeline.path, timeline.adapter, fps if timeline.adapter == "cmx_3600" else None)
    _rebase(source, timeline.path.parent, folder)
    if timeline.adapter == "cmx_3600":
        # the EDL reader keeps the first record timecode as a negative track offset; OTIO's own place is the start
        source.global_start_time = RT(timeline.start_frame, fps)
        for track in source.tracks:
            if track.source_range is not None and track.source_range.start_time.value < 0:
                track.source_range = None
        source.metadata[TAG] = {"timecode_rate": timeline.rate.spec, "edl": timeline.path.name}
    for track in source.tracks:  # an earlier score's tracks (a round trip of a round trip) are switched off
        if "score" in (track.metadata.get(TAG) or {}):  # (OpenTimelineIO's metadata dicts are no ``dict``)
            track.enabled = False
            for clip in track.find_clips():
                clip.enabled = False
    length = RT(timeline.range_out - timeline.in_frame, fps)
    music = RT(timeline.start_frame + timeline.in_frame, fps)
    for item in audio:
        reference = otio.schema.ExternalReference(target_url=item.url, available_range=TR(music, length))
        reference.name = item.track.path.name
        clip = otio.schema.Clip(name=clean_line(item.track.name), media_reference=reference,
                                source_range=TR(music, length))
        clip.enabled = item.track.enabled
        track = otio.schema.Track(name=f"Expotion {clean_line(item.track.name)}", kind=otio.schema.TrackKind.Audio)
        track.enabled = item.track.enabled
        track.metadata[TAG] = {"score": item.track.name, "sample_rate": item.sample_rate, "channels": item.channels}
        if timeline.in_frame:
            track.append(otio.schema.Gap(source_range=TR(RT(0, fps), RT(timeline.in_frame, fps))))
        track.append(clip)
        source.tracks.append(track)
    return otio.adapters.write_to_string(source, adapter_name="otio_json")


# --------------------------------------------------------------------------- FCP 7 XML


def _sub(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _fcp7_rate(parent: ET.Element, rate: TimecodeRate) -> None:
    element = _sub(parent, "rate")
    _sub(element, "timebase", rate.nominal)
    _sub(element, "ntsc", "TRUE" if rate.ntsc else "FALSE")


def _fcp7_track(timeline: Timeline, item: _Audio, index: str) -> ET.Element:
    """A ``<track>`` holding one clipitem of the score file from the in point for the scored range."""
    rate, length = timeline.rate, timeline.range_out - timeline.in_frame
    enabled = "TRUE" if item.track.enabled else "FALSE"
    track = ET.Element("track", {"premiereTrackType": "Stereo"} if item.channels == 2 else {})
    clip = _sub(track, "clipitem")
    clip.set("id", f"{TAG}-clipitem-{index}")
    _sub(clip, "name", clean_line(item.track.name))
    _sub(clip, "enabled", enabled)
    _sub(clip, "duration", length)
    _fcp7_rate(clip, rate)
    _sub(clip, "start", timeline.in_frame)
    _sub(clip, "end", timeline.range_out)
    _sub(clip, "in", 0)
    _sub(clip, "out", length)
    file = _sub(clip, "file")
    file.set("id", f"{TAG}-file-{index}")
    _sub(file, "name", item.track.path.name)
    _sub(file, "pathurl", "file://localhost" + quote(item.track.path.resolve().as_posix()))
    _fcp7_rate(file, rate)
    _sub(file, "duration", length)
    timecode = _sub(file, "timecode")
    _fcp7_rate(timecode, rate)
    music = timeline.start_frame + timeline.in_frame
    _sub(timecode, "string", format_frames(music, rate))
    _sub(timecode, "frame", music)
    _sub(timecode, "displayformat", "DF" if rate.drop_frame else "NDF")
    sound = _sub(_sub(file, "media"), "audio")
    characteristics = _sub(sound, "samplecharacteristics")
    _sub(characteristics, "depth", item.bit_depth)
    _sub(characteristics, "samplerate", item.sample_rate)
    _sub(sound, "channelcount", item.channels)
    source = _sub(clip, "sourcetrack")
    _sub(source, "mediatype", "audio")
    _sub(source, "trackindex", 1)
    _sub(track, "enabled", enabled)
    _sub(track, "locked", "FALSE")
    return track


def _depth(root: ET.Element, element: ET.Element) -> int:
    """How many levels below ``root`` ``element`` is."""
    parents = {child: parent for parent in root.iter() for child in parent}
    depth = 0
    while element in parents:
        element, depth = parents[element], depth + 1
    return depth


def _insert(root: ET.Element, parent: ET.Element, index: int, element: ET.Element) -> None:
    """Insert ``element`` as ``parent``'s child number ``index``, indented like the file's own elements."""
    level = _depth(root, parent) + 1
    ET.indent(element, space="    ", level=level)
    children = list(parent)
    inner = "\n" + "    " * level
    if not children:
        parent.text, element.tail = inner, "\n" + "    " * (level - 1)
    elif index >= len(children):
        element.tail, children[-1].tail = children[-1].tail, inner
    else:
        element.tail = inner
    parent.insert(index, element)


def _free(taken: set[str | None], names: Callable[[int], set[str]]) -> str:
    """The first number whose ``names`` are all unused in the file (a round trip of a round trip adds more);
    they are marked used."""
    number = next(n for n in range(1, len(taken) + 2) if not names(n) & taken)
    taken |= names(number)
    return str(number)


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))).getroot()
    except (ET.ParseError, OSError) as exc:
        raise TimelineError(f"{path}: cannot read the sequence to lay the score into it ({exc}).") from None


def _xml_text(root: ET.Element, doctype: str) -> str:
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {doctype}>\n{body}\n'


def _fcp7_text(timeline: Timeline, audio: list[_Audio], folder: Path) -> str:
    """The FCP 7 XML file, to be written into ``folder``, with the score's tracks appended to the sequence's audio."""
    root = _parse(timeline.path)
    _rebase_xml(root.iter("pathurl"), None, timeline.path.parent, folder)
    sequence = root.find(".//sequence")
    if sequence is None:
        raise TimelineError(f"{timeline.path}: no <sequence> to lay the score into.")
    media = sequence.find("media")
    if media is None:
        media = ET.Element("media")
        _insert(root, sequence, len(sequence), media)
    sound = media.find("audio")
    if sound is None:
        sound = ET.Element("audio")
        _insert(root, media, len(media), sound)
    tracks = sound.findall("track")
    for track in tracks:  # an earlier score's tracks (a round trip of a round trip) are switched off
        clips = list(track.iter("clipitem"))
        if any((c.get("id") or "").startswith(f"{TAG}-clipitem-") for c in clips):
            for enabled in [*track.findall("enabled"), *(e for c in clips for e in c.findall("enabled"))]:
                enabled.text = "FALSE"
    place = list(sound).index(tracks[-1]) + 1 if tracks else len(sound)
    taken = {element.get("id") for element in root.iter() if element.get("id")}
    for offset, item in enumerate(audio):
        index = _free(taken, lambda n: {f"{TAG}-clipitem-{n}", f"{TAG}-file-{n}"})
        _insert(root, sound, place + offset, _fcp7_track(timeline, item, index))
    return _xml_text(root, "xmeml")


# --------------------------------------------------------------------------- FCPXML


def _fcpx(seconds: Fraction) -> str:
    return f"{seconds.numerator}/{seconds.denominator}s" if seconds.denominator != 1 else f"{seconds.numerator}s"


def _version(root: ET.Element) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in root.get("version", "1.8").split("."))
    except ValueError:
        return (1, 8)


def _anchor(spine: ET.Element, at: Fraction) -> ET.Element:
    """The spine element showing record time ``at`` (the last one starting at or before it)."""
    found = None
    for element in spine:
        offset = fcpx_time(element.get("offset"))
        if element.tag in _ANCHORS and offset is not None and offset <= at:
            found = element
    if found is None:
        raise TimelineError("The FCPXML sequence's primary storyline has no clip to connect the score to.")
    return found


def _connect(root: ET.Element, parent: ET.Element, clip: ET.Element) -> None:
    """Insert ``clip`` among ``parent``'s connected clips, before its markers and filters (the DTD's order)."""
    children = list(parent)
    place = next((i for i, child in enumerate(children) if child.tag in _AFTER_ANCHORS), len(children))
    _insert(root, parent, place, clip)


def _fcpx_text(timeline: Timeline, audio: list[_Audio], folder: Path) -> str:
    """The FCPXML file, to be written into ``folder``, with an asset and a connected audio clip per score file
    below the primary storyline."""
    root = _parse(timeline.path)
    _rebase_xml([*root.iter("asset"), *root.iter("media-rep")], "src", timeline.path.parent, folder)
    sequence = root.find(".//project/sequence")
    spine = sequence.find("spine") if sequence is not None else None
    resources = root.find("resources")
    if sequence is None or spine is None or resources is None:
        raise TimelineError(f"{timeline.path}: no project sequence with a storyline to lay the score into.")
    rate = sequence_start_and_rate(timeline.path)[1] or timeline.rate.rate
    frame = 1 / Fraction(rate)
    first = next(iter(spine), None)
    origin = fcpx_time(first.get("offset")) if first is not None else None
    at = (origin or Fraction(0)) + timeline.in_frame * frame  # the in point on the spine's own clock
    length = (timeline.range_out - timeline.in_frame) * frame
    music = (timeline.start_frame + timeline.in_frame) * frame  # the files' timecode: the sequence's at the in point
    parent = _anchor(spine, at)
    local = (fcpx_time(parent.get("start")) or Fraction(0)) + at - (fcpx_time(parent.get("offset")) or Fraction(0))
    taken = {element.get("id") for element in root.iter() if element.get("id")}
    with_media_rep = _version(root) >= (1, 9)
    for earlier in root.iter("asset-clip"):  # an earlier score's clips (a round trip of a round trip) switched off
        if (earlier.get("ref") or "").startswith(TAG) and earlier.get("audioRole") == "music":
            earlier.set("enabled", "0")
    lanes = [int(c.get("lane", "0")) for c in parent if c.get("lane", "").lstrip("-").isdigit()]
    below = min([0, *lanes])  # under whatever is connected there already (an earlier score's round trip)
    for lane, item in enumerate(audio, start=1 - below):
        ident = f"{TAG}{_free(taken, lambda n: {f'{TAG}{n}'})}"
        asset = ET.Element("asset", {
            "id": ident, "name": clean_line(item.track.name), "start": _fcpx(music), "duration": _fcpx(length),
            "hasAudio": "1", "hasVideo": "0", "audioSources": "1", "audioChannels": str(item.channels),
            "audioRate": str(item.sample_rate)})
        if with_media_rep:
            ET.SubElement(asset, "media-rep", {"kind": "original-media", "src": item.url})
        else:
            asset.set("src", item.url)
        _insert(root, resources, len(resources), asset)
        clip = ET.Element("asset-clip", {
            "ref": ident, "lane": str(-lane), "offset": _fcpx(local), "name": clean_line(item.track.name),
            "start": _fcpx(music), "duration": _fcpx(length), "audioRole": "music"})
        if not item.track.enabled:
            clip.set("enabled", "0")
        _connect(root, parent, clip)
    return _xml_text(root, "fcpxml")


# --------------------------------------------------------------------------- the delivery


def score_tracks(session: Session, take: Take, take_folder: Path, delivery: Path) -> list[ScoreTrack]:
    """The mix (enabled) then every stem (disabled): the delivered BWFs where the delivery has them, else
    the take's own files."""
    job = export_job(session, take)
    named = [("Mix", job.mix_file, take_folder / "mix.wav", True)] + [
        (stem.name, job.stem_file(stem.name), take_folder / "stems" / f"{stem.name}.wav", False)
        for stem in take.stems]
    return [ScoreTrack(name, delivery / delivered if (delivery / delivered).is_file() else own, enabled)
            for name, delivered, own, enabled in named]


def roundtrip_text(timeline: Timeline, tracks: Sequence[ScoreTrack], folder: Path) -> str:
    """The text of the sequence's file, to be written into ``folder``, with the score files laid in as new
    audio tracks."""
    audio = _audio(tracks)
    adapter = ROUNDTRIP[timeline.adapter][0]
    if adapter == "otio_json":
        return _otio_text(timeline, audio, folder.resolve())
    if adapter == "fcp_xml":
        return _fcp7_text(timeline, audio, folder.resolve())
    return _fcpx_text(timeline, audio, folder.resolve())


def deliver_roundtrip(timeline: Timeline, tracks: Sequence[ScoreTrack], folder: str | Path, title: str, *,
                      force: bool = False) -> Path:
    """Write ``<title>_sequence.<ext>`` into the delivery ``folder``: the sequence plus the score's tracks,
    recorded in the delivery's manifest and guide (where ``folder`` holds a delivery) like its formats' files."""
    text = roundtrip_text(timeline, tracks, Path(folder))
    relative = roundtrip_file(title, timeline)
    written = DeliveryFolder(folder, force=force).write_text(relative, text)
    add_to_delivery(folder, SEQUENCE, {relative: SEQUENCE_NOTE})
    log.info("wrote %s: %s with %d score tracks from %s", written.name, timeline.name, len(tracks),
             timeline.start_timecode)
    return written


def deliver_session(session: Session, folder: str | Path, *, take_id: str | None = None,
                    force: bool = False) -> list[Path]:
    """The round-trip file of a session scored from a timeline (``expotion export``): the recorded sequence
    read again with the take's delivered audio laid in; nothing for a session from a video file, and a warning
    when the sequence file or its media can no longer be read."""
    source = session.timeline
    record = session.take(take_id) if take_id is not None else session.chosen()
    if source is None or record is None:
        return []
    try:
        timeline = replace(read_timeline(source.path, rate=source.rate), in_frame=source.in_frame,
                           out_frame=source.out_frame)
    except TimelineError as exc:
        log.warning("The sequence is not delivered with the score: %s", exc)
        return []
    take = Take.load(record.folder)
    tracks = score_tracks(session, take, record.folder, Path(folder))
    return [deliver_roundtrip(timeline, tracks, folder, session.title or timeline.name, force=force)]


__all__ = ["ROUNDTRIP", "ScoreTrack", "deliver_roundtrip", "deliver_session", "roundtrip_file", "roundtrip_text",
           "score_tracks"]
