"""Read an editor's timeline (.otio, FCP 7 XML, FCPXML, CMX3600 EDL) through OpenTimelineIO into a Timeline.

The picture is the enabled video tracks flattened (the topmost shot wins), cut into
clips and gaps at whole frames of the sequence rate; an FCPXML's lanes below the
primary storyline (where connected music and sound go) are not picture. Markers come
from the sequence, its video tracks and its clips (clip markers are moved from source to
record time). What an adapter does not carry is read from the file where the format has
it: the start timecode of an EDL (its first record timecode) and of an FCPXML
(``tcStart``), and drop frame from the EDL's ``;`` labels, FCP 7's ``displayformat``,
FCPXML's ``tcFormat`` and an ``.otio`` sequence's ``metadata["expotion"]["timecode_rate"]``.
An EDL names no rate: the declared one is used, else the frame rate of the first media file its
``FROM CLIP``/``FROM FILE``/``FROM CLIP NAME`` comments name (drop frame where its timecodes are labelled with ``;``).
Source frames count from the media file's first frame: an EDL's source timecodes are the media's
own, so the start timecode the file carries is taken off; an FCPXML clip's ``start`` is in its
asset's time, so the asset's ``start`` is (the file's timecode where the asset names none); an
``.otio`` or FCP 7 XML clip's source range is taken off its media's available range.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from expotion_engine.errors import ExpotionError
from expotion_engine.media.probe import probe_video
from studio.export.marker_colors import MARKER_COLORS
from studio.export.source_timecode import label_frames
from studio.timecode import TimecodeError, TimecodeRate, format_frames, parse_frames, parse_rate, smpte_rate
from studio.timeline.fcpx import sequence_start_and_rate, spine_clips, spine_origin
from studio.timeline.model import Timeline, TimelineClip, TimelineError, TimelineMarker
from studio.timeline.relink import relink

log = logging.getLogger(__name__)

#: file suffix -> OpenTimelineIO adapter
ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml", ".edl": "cmx_3600"}

#: an EDL's comments naming an event's media (OpenTimelineIO's reader links media and names clips from them)
EDL_MEDIA = re.compile(r"^\*\s*(?:FROM CLIP NAME|FROM CLIP|FROM FILE):\s*(\S.*?)\s*$", re.MULTILINE | re.IGNORECASE)


def is_timeline(path: str | Path) -> bool:
    """Whether ``path`` is a timeline file by its suffix."""
    return Path(path).suffix.lower() in ADAPTERS


def _drop_frame_hint(path: Path, adapter: str) -> bool:
    """Whether the file declares drop-frame timecode (EDL ``;``/FCM, FCP 7 displayformat, FCPXML tcFormat)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if adapter == "cmx_3600":
        return bool(re.search(r"FCM:\s*DROP FRAME", text, re.I) or re.search(r"\d\d;\d\d\b", text))
    if adapter == "fcp_xml":
        return bool(re.search(r"<displayformat>\s*DF\s*</displayformat>", text))
    if adapter == "fcpx_xml":
        return bool(re.search(r'tcFormat="DF"', text))
    return False


def _recorded_drop_frame(timeline: otio.schema.Timeline) -> bool:
    """Whether the sequence's metadata records drop-frame timecode (Expotion's round trip of a drop-frame EDL
    keeps it there, as OpenTimelineIO's model has no drop-frame flag)."""
    recorded = timeline.metadata.get("expotion")
    rate = recorded.get("timecode_rate") if hasattr(recorded, "get") else None
    try:
        return isinstance(rate, str) and parse_rate(rate).drop_frame
    except TimecodeError:
        return False


def _edl_text(path: Path, fps: float) -> str:
    """The EDL's text with drop-frame locator labels (``LOC: 00:00:00;25``, which the adapter skips)
    rewritten as the non-drop labels of the same frames."""
    text = path.read_text(encoding="utf-8", errors="replace")
    rate = smpte_rate(fps)
    if rate is None or not rate.drop_frame:
        return text
    plain = TimecodeRate(rate.nominal, ntsc=True)

    def same_frame(match: re.Match[str]) -> str:
        return match.group(1) + format_frames(parse_frames(match.group(2), rate), plain)

    return re.sub(r"(LOC:\s*)(\d\d:\d\d:\d\d;\d\d)", same_frame, text)


def load_sequence(path: Path, adapter: str, fps: float | None) -> otio.schema.Timeline:
    """OpenTimelineIO's reading of ``path``; any adapter failure becomes one TimelineError sentence."""
    try:
        if adapter == "cmx_3600":
            result = otio.adapters.read_from_string(_edl_text(path, fps or 24.0), adapter_name=adapter, rate=fps)
        else:
            result = otio.adapters.read_from_file(str(path), adapter_name=adapter)
    except Exception as exc:  # noqa: BLE001 - adapters raise anything; the user needs one sentence
        raise TimelineError(f"{path}: OpenTimelineIO's {adapter} adapter cannot read it ({exc}).") from None
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline)) or [
            c for c in result if isinstance(c, otio.schema.Timeline)]
        if not timelines:
            raise TimelineError(f"{path} holds no sequence.")
        if len(timelines) > 1:
            log.warning("%s holds %d sequences; using the first, %r", path, len(timelines), timelines[0].name)
        result = timelines[0]
    if not isinstance(result, otio.schema.Timeline):
        raise TimelineError(f"{path} holds no sequence.")
    return result


def below_storyline(track: otio.schema.Track) -> bool:
    """Whether an FCPXML lane read as a video track lies below the primary storyline (OpenTimelineIO's reader
    names each lane by its number and calls every lane video; the music and sound connected there are not
    the picture)."""
    return track.name.lstrip("-").isdigit() and int(track.name) < 0


def _video_tracks(timeline: otio.schema.Timeline, adapter: str) -> list[otio.schema.Track]:
    tracks = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video and t.enabled
              and not (adapter == "fcpx_xml" and below_storyline(t))]
    if not any(t.find_clips() for t in tracks):
        raise TimelineError(f"The sequence {timeline.name!r} has no video clips.")
    return tracks


def _sequence_rate(timeline: otio.schema.Timeline, tracks: list[otio.schema.Track]) -> float:
    """The frame rate the sequence's record times are counted at."""
    for track in tracks:
        for clip in track.find_clips():
            return float(clip.range_in_parent().duration.rate)
    raise TimelineError(f"The sequence {timeline.name!r} has no video clips.")


def _frames(time: otio.opentime.RationalTime, fps: float) -> int:
    return round(time.value_rescaled_to(fps))


def _media(clip: otio.schema.Clip, base: Path) -> tuple[str, str, str | None]:
    """A clip's media URL, name and expected content hash (when the reference carries one)."""
    ref = clip.media_reference
    url = getattr(ref, "target_url", "") or ""
    meta = ref.metadata.get("expotion", {}) if ref is not None else {}
    expected = meta.get("content_hash") if hasattr(meta, "get") else None
    return url, ref.name or clip.name if ref is not None else clip.name, expected


def _source_start(clip: otio.schema.Clip, fps: float) -> int:
    """The clip's first source frame counted from the media file's first frame."""
    start = _frames(clip.source_range.start_time, fps) if clip.source_range else 0
    available = clip.media_reference.available_range if clip.media_reference is not None else None
    if available is not None:
        start -= _frames(available.start_time, fps)
    return start


def _picture(timeline: otio.schema.Timeline, tracks: list[otio.schema.Track]) -> otio.schema.Track:
    """The one track the audience sees: the video track, or the video tracks flattened (topmost wins)."""
    if len(tracks) == 1:
        return tracks[0]
    return otio.algorithms.flatten_stack(tracks)


def _marker(marker: otio.schema.Marker, frame: int) -> TimelineMarker:
    color = str(marker.color).upper() if marker.color else None
    return TimelineMarker(frame=frame, name=marker.name, color=MARKER_COLORS.get(color or ""), color_name=color)


def _markers(timeline: otio.schema.Timeline, tracks: list[otio.schema.Track], fps: float) -> list[TimelineMarker]:
    """The sequence's, tracks' and clips' markers at record frames (clip markers moved from source time)."""
    found = [_marker(m, _frames(m.marked_range.start_time, fps)) for m in timeline.tracks.markers]
    for track in tracks:
        found += [_marker(m, _frames(m.marked_range.start_time, fps)) for m in track.markers]
        for index, item in enumerate(track):
            if not isinstance(item, otio.schema.Clip) or not item.markers:
                continue
            record = _frames(track.range_of_child_at_index(index).start_time, fps)
            source = _frames(item.trimmed_range().start_time, fps)
            length = _frames(item.trimmed_range().duration, fps)
            for m in item.markers:
                at = _frames(m.marked_range.start_time, fps) - source
                if 0 <= at < length:
                    found.append(_marker(m, record + at))
    return sorted(found, key=lambda m: (m.frame, m.name))


def _clips(picture: otio.schema.Track, fps: float, base: Path) -> tuple[list[TimelineClip], list[str]]:
    """The picture's clips and gaps in record order, and the names of media that could not be found."""
    clips: list[TimelineClip] = []
    missing: list[str] = []
    for index, item in enumerate(picture):
        if isinstance(item, otio.schema.Transition):
            continue
        span = picture.range_of_child_at_index(index)
        record_in, duration = _frames(span.start_time, fps), _frames(span.duration, fps)
        if duration <= 0:
            continue
        if isinstance(item, otio.schema.Clip):
            url, name, expected = _media(item, base)
            media = relink(url, name, base, expected)
            if media is None:
                missing.append(Path(url).name if url else name)
            clips.append(TimelineClip(item.name or name, media, _source_start(item, fps), record_in, duration))
        else:
            clips.append(TimelineClip(item.name or "gap", None, 0, record_in, duration))
    return clips, list(dict.fromkeys(missing))


def _media_start(media: Path, rate: TimecodeRate) -> int:
    """Frame number of the start timecode ``media`` carries (0: none), its label read at ``rate`` as an edit's
    source timecodes are: the media's first frame where an edit counts source frames at the media's timecode."""
    try:
        label = probe_video(media).timecode
    except ExpotionError as exc:
        log.warning("%s; its source frames are counted from 00:00:00:00", exc)
        return 0
    if label is None:
        return 0
    try:
        return label_frames(label, rate)
    except TimecodeError as exc:
        raise TimelineError(f"{media.name} carries timecode {label}, which does not count at the sequence's "
                            f"{rate.label} frames/s ({exc})") from None


def _edl_sources(path: Path, clips: list[TimelineClip], rate: TimecodeRate) -> list[TimelineClip]:
    """An EDL's clips with source frames counted from their media's first frame: an EDL's source timecodes are the
    media's own, so the start timecode each file carries is taken off (an event before it is counted from 0)."""
    starts: dict[Path, int] = {}
    counted = []
    for clip in clips:
        if clip.media is not None and clip.media not in starts:
            starts[clip.media] = _media_start(clip.media, rate)
        start = starts[clip.media] if clip.media is not None else 0
        if clip.source_in < start:
            log.warning("%s: %s's source %s lies before %s, the timecode %s carries; counting it from the file's "
                        "first frame", path.name, clip.name, format_frames(clip.source_in, rate),
                        format_frames(start, rate), clip.media.name)
            start = 0
        counted.append(replace(clip, source_in=clip.source_in - start))
    return counted


def _storyline(path: Path, rate: Fraction, clips: list[TimelineClip], markers: list[TimelineMarker],
                 timecode_rate: TimecodeRate) -> tuple[list[TimelineClip], list[TimelineMarker]]:
    """An FCPXML's clips with source frames counted from their media's first frame (less their asset's ``start``,
    else the file's timecode) and, at a fractional rate, its clips and clip markers at the file's exact times
    (the adapter's are rounded there)."""
    shots = [c for c in clips if not c.is_gap]
    spine = spine_clips(path, rate)
    if len(spine) != len(shots):
        log.warning("%s: %d storyline clips in the file, %d read; keeping the adapter's times", path.name,
                    len(spine), len(shots))
        return clips, markers
    firsts = [timed.source_in - (_media_start(shot.media, timecode_rate) if timed.media_start is None
                                 else timed.media_start) for shot, timed in zip(shots, spine, strict=True)]
    if rate.denominator == 1:  # the adapter's record times and markers are exact at a whole rate
        counted = iter(firsts)
        return [clip if clip.is_gap else replace(clip, source_in=next(counted)) for clip in clips], markers
    exact: list[TimelineClip] = []
    for shot, timed, first in zip(shots, spine, firsts, strict=True):
        end = exact[-1].record_out if exact else 0
        if timed.record_in > end:
            exact.append(TimelineClip("gap", None, 0, end, timed.record_in - end))
        exact.append(TimelineClip(shot.name, shot.media, first, timed.record_in, timed.duration))
    colours = {m.name: m for m in markers}
    clip_markers = [
        TimelineMarker(timed.record_in + at - timed.source_in, name,
                       colours[name].color if name in colours else None,
                       colours[name].color_name if name in colours else None)
        for timed in spine for at, name in timed.markers if 0 <= at - timed.source_in < timed.duration
    ]
    return exact, sorted(clip_markers, key=lambda m: (m.frame, m.name))


def _from_origin(clips: list[TimelineClip], markers: list[TimelineMarker],
                 origin: int) -> tuple[list[TimelineClip], list[TimelineMarker]]:
    """Clips and markers counted from record frame ``origin`` (an FCPXML spine counted from its ``tcStart``)."""
    if origin <= 0:
        return clips, markers
    moved = []
    for clip in clips:
        start, end = clip.record_in - origin, clip.record_out - origin
        if end <= 0:
            continue  # the adapter's gap before the spine's first element
        if start < 0:
            clip = replace(clip, source_in=clip.source_in - start if not clip.is_gap else 0, duration=end)
        moved.append(replace(clip, record_in=max(start, 0)))
    return moved, [replace(m, frame=m.frame - origin) for m in markers if m.frame >= origin]


def _rate(fps: float, drop: bool, declared: str | None) -> TimecodeRate:
    try:
        if declared is not None:
            return parse_rate(declared)
        rate = smpte_rate(fps)
    except TimecodeError as exc:
        raise TimelineError(str(exc)) from None
    if rate is None:
        raise TimelineError(f"The sequence runs at {fps:g} frames/s, which is not an SMPTE rate; declare one.")
    if rate.ntsc and rate.nominal in (30, 60):
        rate = TimecodeRate(rate.nominal, ntsc=True, drop_frame=drop)
    return rate


def _edl_fps(path: Path, declared: str | None, drop: bool) -> float:
    """The rate to parse an EDL at: declared, else the first found media file's (EDLs name none)."""
    if declared is not None:
        return _rate(0.0, drop, declared).fps
    text = path.read_text(encoding="utf-8", errors="replace")
    for named in EDL_MEDIA.findall(text):  # read from the text: the adapter fails at a guessed rate
        media = relink(named, "", path.parent.resolve())
        if media is not None:
            rate = smpte_rate(probe_video(media).fps)
            if rate is not None:
                log.info("%s: no rate in an EDL; counting it at %s, the rate of %s", path.name, rate.label, media.name)
                return rate.fps
    raise TimelineError(f"{path}: an EDL names no frame rate and none of its media was found; "
                        "give its rate with --timecode-rate.")


def _start_frame(path: Path, adapter: str, timeline: otio.schema.Timeline, tracks: list[otio.schema.Track],
                 fps: float) -> int:
    """The frame number of the sequence's start timecode (0 when the file gives none)."""
    if timeline.global_start_time is not None:
        return _frames(timeline.global_start_time, fps)
    track_range = tracks[0].source_range
    if adapter == "cmx_3600" and track_range is not None and track_range.start_time.value < 0:
        # the EDL reader keeps the first record timecode as a negative track offset
        return -_frames(track_range.start_time, fps)
    if adapter == "fcpx_xml" and (seconds := sequence_start_and_rate(path)[0]) is not None:
        return round(seconds * Fraction(fps).limit_denominator(1001))
    return 0


def read_timeline(path: str | Path, *, rate: str | None = None) -> Timeline:
    """The timeline in ``path`` with its media relinked; a TimelineError lists every missing media file."""
    path = Path(path)
    adapter = ADAPTERS.get(path.suffix.lower())
    if adapter is None:
        raise TimelineError(f"{path}: not a timeline file; expected one of {', '.join(ADAPTERS)}.")
    if not path.is_file():
        raise TimelineError(f"{path}: timeline file not found.")
    drop = _drop_frame_hint(path, adapter)
    edl_fps = _edl_fps(path, rate, drop) if adapter == "cmx_3600" else None
    source = load_sequence(path, adapter, edl_fps)
    drop = drop or _recorded_drop_frame(source)
    tracks = _video_tracks(source, adapter)
    fcpx_rate = sequence_start_and_rate(path)[1] if adapter == "fcpx_xml" else None
    fps = edl_fps or (float(fcpx_rate) if fcpx_rate else _sequence_rate(source, tracks))
    timecode_rate = _rate(fps, drop, rate)
    fps = timecode_rate.fps if rate is not None else fps
    start = _start_frame(path, adapter, source, tracks, fps)
    clips, missing = _clips(_picture(source, tracks), fps, path.parent.resolve())
    markers = _markers(source, tracks, fps)
    if adapter == "cmx_3600":
        clips = _edl_sources(path, clips, timecode_rate)
    if fcpx_rate is not None:
        clips, markers = _storyline(path, fcpx_rate, clips, markers, timecode_rate)
    if adapter == "fcpx_xml":
        origin = round(spine_origin(path) * (fcpx_rate or Fraction(fps).limit_denominator(1001)))
        clips, markers = _from_origin(clips, markers, origin)
    if missing:
        raise TimelineError(
            f"{path.name}: {len(missing)} media file{'s' if len(missing) > 1 else ''} not found "
            f"({', '.join(missing)}); put {'them' if len(missing) > 1 else 'it'} next to the timeline or in a "
            "folder below it."
        )
    in_frame, out_frame = 0, None
    if source.tracks.source_range is not None and source.tracks.source_range.start_time.value >= 0:
        in_frame = _frames(source.tracks.source_range.start_time, fps)
        out_frame = in_frame + _frames(source.tracks.source_range.duration, fps)
    return Timeline(path=path.resolve(), name=source.name or path.stem, rate=timecode_rate, start_frame=start,
                    clips=tuple(clips), markers=tuple(markers), in_frame=in_frame, out_frame=out_frame,
                    adapter=adapter)


__all__ = ["ADAPTERS", "MARKER_COLORS", "below_storyline", "is_timeline", "load_sequence", "read_timeline"]
