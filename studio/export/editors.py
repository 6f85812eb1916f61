"""Editor interchange files, all from one OpenTimelineIO timeline, all through OTIO adapters:
CMX3600 EDLs with locators (``otio-cmx3600-adapter``), FCP 7 XML (``otio-fcp-adapter``),
FCPXML (``otio-fcpx-xml-adapter``) and native ``.otio``.

Audio: the mix on its own enabled track and the stems on disabled tracks (or what
``ExportSettings.timeline_audio`` asks for), so an editor plays the music once. The adapters
do not all write a disabled track, so each format gets its own flag: ``.otio`` the track's
``enabled``; FCP 7 XML ``<enabled>FALSE</enabled>`` on the track and its clip; FCPXML
``enabled="0"`` on the connected clip. Media paths are relative to the delivery folder in
every format (``pathurl``, ``src``, ``target_url``, ``* FROM CLIP:``), so the folder relinks
wherever it is moved. The sequence starts at the music's timecode everywhere: FCP 7 XML and
``.otio`` through the timeline's global start, FCPXML through the sequence's ``tcStart``, the
EDLs on their record side (the adapter counts records from 0; they are moved to the timecode
here). The video EDL carries the picture with every marker as a ``* LOC:`` line in record time;
each enabled audio track goes into its own audio EDL (``_audio.edl`` for the mix, ``AA``: both
channels), as CMX3600 holds one track per list. EDL, FCP 7 XML and FCPXML are built around the
picture, so an export without a video skips them with a warning.
"""

from __future__ import annotations

import copy
import logging
import re
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree as ET

import opentimelineio as otio

from expotion_engine.media.probe import probe_video
from studio.export.job import DeliveryFolder, ExportJob, safe_name
from studio.export.timeline import build_timeline, reel_name, timeline_audio, timeline_rate
from studio.timecode import format_frames, parse_frames, to_frame

log = logging.getLogger(__name__)

_EVENT = re.compile(
    r"^(?P<head>\d{3,}\s+\S+\s+)(?P<kind>\S+)(?P<pad>\s+)(?P<mid>C\s+\S+ \S+ )(?P<rec_in>\S+) (?P<rec_out>\S+)$"
)


def _relative(relative: str) -> str:
    """Media URL of a delivery file: its path relative to the delivery folder, as it is."""
    return relative


def _write(folder: DeliveryFolder, relative: str, timeline: otio.schema.Timeline, adapter: str, **kw: object) -> Path:
    text = otio.adapters.write_to_string(timeline, adapter_name=adapter, **kw)
    return folder.write_text(relative, text)


def _fcpx_rate(job: ExportJob) -> float:
    """The rate as the FCPXML adapter's frame-duration table spells it (23.98, 29.97, 59.94 or whole)."""
    rate = timeline_rate(job)
    return round(rate, 2) if rate != round(rate) else rate


def _needs_video(job: ExportJob, what: str) -> bool:
    if job.video is None:
        log.warning("%s skipped: it needs the source video, and this export has none.", what)
        return False
    return True


def audio_edl_files(job: ExportJob) -> list[str]:
    """Relative paths of the audio EDLs: one per enabled timeline audio track (``_audio.edl`` for the mix)."""
    return [job.file("_audio.edl") if name == "Mix" and relative == job.mix_file
            else job.file(f"_audio_{safe_name(name)}.edl")
            for name, relative, enabled in timeline_audio(job) if enabled]


def edl_files(job: ExportJob) -> list[str]:
    """Relative paths :func:`write_edl` writes (none without a video)."""
    return [job.file(".edl"), *audio_edl_files(job)] if job.video is not None else []


def _edl_text(job: ExportJob, timeline: otio.schema.Timeline, channels: int) -> str:
    """The adapter's CMX3600 list with the ``FCM:`` line, records at the music's timecode, ``AA`` for stereo audio,
    every reel named by :func:`reel_name` (one rule for picture and sound)."""
    for clip in timeline.find_clips():
        media = clip.media_reference
        name = media.name or Path(getattr(media, "target_url", "") or clip.name).name
        clip.metadata.setdefault("cmx_3600", {})["reel"] = reel_name(name)
    text = otio.adapters.write_to_string(timeline, adapter_name="cmx_3600", rate=timeline_rate(job))
    start = to_frame(job.start_seconds, job.tc)
    lines = []
    for line in text.splitlines():
        match = _EVENT.match(line)
        if match is not None:
            kind = match["kind"]
            if kind == "A" and channels == 2:
                kind = "AA"
            rec_in, rec_out = (format_frames(parse_frames(match[k], job.tc) + start, job.tc)
                               for k in ("rec_in", "rec_out"))
            pad = " " * max(1, len(match["kind"]) + len(match["pad"]) - len(kind))
            line = f"{match['head']}{kind}{pad}{match['mid']}{rec_in} {rec_out}"
        lines.append(line)
    title, _, events = "\n".join(lines).partition("\n\n")
    # the adapter leaves out the frame-code-mode line (its TODO); editors need it for 29.97/59.94
    fcm = "FCM: DROP FRAME" if job.tc.drop_frame else "FCM: NON-DROP FRAME"
    return f"{title}\n{fcm}\n\n{events}\n"


def write_edl(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.edl`` (the video event at its record timecode, a locator per marker) and the audio EDLs."""
    if not _needs_video(job, "CMX3600 EDL"):
        return []
    channels = int(job.take.mix.shape[0])
    picture = build_timeline(job, audio_url=None, markers_on="clip", root=folder.root)
    written = [folder.write_text(job.file(".edl"), _edl_text(job, picture, channels))]
    full = build_timeline(job, audio_url=_relative, markers_on="clip", root=folder.root)
    video = full.video_tracks()[0]
    for track, relative in zip((t for t in full.audio_tracks() if t.enabled), audio_edl_files(job), strict=True):
        single = otio.schema.Timeline(name=f"{job.title} {track.name}", global_start_time=full.global_start_time)
        single.tracks.append(copy.deepcopy(track))
        single.tracks.append(copy.deepcopy(video))  # the adapter wants one picture track; it writes track 0 only
        written.append(folder.write_text(relative, _edl_text(job, single, channels)))
    return written


def write_fcp7(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>_fcp7.xml`` (xmeml): video, the mix enabled and the stems disabled, sequence markers."""
    if not _needs_video(job, "FCP 7 XML"):
        return []
    timeline = build_timeline(job, audio_url=_relative, markers_on="timeline", root=folder.root)
    for track in timeline.audio_tracks():
        if not track.enabled:
            track.metadata["fcp_xml"] = {"enabled": "FALSE"}
            for clip in track.find_clips():
                clip.metadata["fcp_xml"] = {"enabled": "FALSE"}
    return [_write(folder, job.file("_fcp7.xml"), timeline, "fcp_xml")]


def _fcpxml_time(seconds: Fraction) -> str:
    return f"{seconds.numerator}/{seconds.denominator}s" if seconds.denominator != 1 else f"{seconds.numerator}s"


_FCPX_TIMES = ("offset", "start", "duration")


def _on_frames(root: ET.Element, job: ExportJob) -> None:
    """Every time of the adapter's FCPXML as a whole number of frames in exact seconds.

    The adapter writes ``frames / 29.97`` (its rounded rate) where FCPXML means ``frames * 1001/30000``;
    Final Cut wants every time on an edit-frame boundary, so each is counted back to its frame.
    """
    label = Fraction(str(_fcpx_rate(job)))
    for element in root.iter():
        for name in _FCPX_TIMES:
            value = element.get(name)
            if value is not None and value.endswith("s"):
                element.set(name, _fcpxml_time(Fraction(round(Fraction(value[:-1]) * label)) / job.tc.rate))


def _frame_count(value: str, rate: Fraction) -> int:
    """Frames in an FCPXML time (``"9009/2000s"``) that lies on a frame at ``rate``."""
    return round(Fraction(value.rstrip("s")) * rate)


def _connect_exactly(root: ET.Element, timeline: otio.schema.Timeline, job: ExportJob) -> None:
    """Each connected clip's ``offset`` (in its parent's time) from the timeline's own whole frames.

    The adapter works it out from its own rounded strings, truncating to whole frames of the
    integer rate, which put the music a frame before the picture at some in points at 29.97 fps;
    here it is the parent's ``start`` plus how far the clip lies from the parent on the record
    side, all in whole frames.
    """
    rate = job.tc.rate
    lanes = {f"-{lane}": iter([round(track.range_of_child(clip).start_time.value) for clip in track.find_clips()])
             for lane, track in enumerate(timeline.audio_tracks(), start=1)}
    for sequence in root.iter("sequence"):
        for parent in sequence.findall("./spine/*"):
            record = _frame_count(parent.get("offset", "0s"), rate)
            start = _frame_count(parent.get("start", "0s"), rate)
            for child in parent:
                lane = lanes.get(child.get("lane", ""))
                if lane is not None and child.tag in ("clip", "asset-clip", "ref-clip"):
                    child.set("offset", _fcpxml_time(Fraction(start + next(lane) - record) / rate))


def _picture_size(root: ET.Element, video: Path) -> None:
    """Give the formats the picture's size as displayed: the adapter names them from ffprobe's stored size alone
    (and any 1920 as 1080p), so a phone's portrait video, stored landscape with a rotation, got a landscape project."""
    info = probe_video(video)
    for form in root.iter("format"):
        form.set("width", str(info.width))
        form.set("height", str(info.height))
        if info.rotation % 180 or info.height > info.width:
            form.attrib.pop("name", None)


#: stands in for an apostrophe in clip names while the adapter writes: it looks clips up by name in XPath predicates
#: quoted with apostrophes, so a video titled "it's" failed the whole delivery ("invalid predicate")
_APOSTROPHE = "\ue000"


def _adapter_safe(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """A copy of ``timeline`` whose clip names hold no apostrophe (:data:`_APOSTROPHE` instead)."""
    safe = timeline.deepcopy()
    for clip in safe.find_clips():
        clip.name = clip.name.replace("'", _APOSTROPHE)
    return safe


def fcpxml_text(job: ExportJob, timeline: otio.schema.Timeline) -> str:
    """The adapter's FCPXML with every time on a frame in exact seconds, the sequence at the music's timecode
    (``tcStart``, ``tcFormat``, the spine's offsets counted from it, as Final Cut writes them) and
    ``enabled="0"`` on the disabled audio lanes."""
    text = otio.adapters.write_to_string(_adapter_safe(timeline), adapter_name="fcpx_xml")
    root = ET.fromstring(text.encode("utf-8"))
    for element in root.iter():
        for key, value in element.attrib.items():
            if _APOSTROPHE in value:
                element.set(key, value.replace(_APOSTROPHE, "'"))
    _on_frames(root, job)
    _connect_exactly(root, timeline, job)
    if job.video is not None:
        _picture_size(root, job.video)
    start = Fraction(to_frame(job.start_seconds, job.tc)) / job.tc.rate
    for sequence in root.iter("sequence"):
        sequence.set("tcStart", _fcpxml_time(start))
        sequence.set("tcFormat", "DF" if job.tc.drop_frame else "NDF")
        for item in sequence.findall("./spine/*"):
            item.set("offset", _fcpxml_time(Fraction(item.get("offset", "0s").rstrip("s")) + start))
    disabled = {f"-{lane}" for lane, track in enumerate(timeline.audio_tracks(), start=1) if not track.enabled}
    for clip in root.iter("clip"):
        if clip.get("lane") in disabled:
            clip.set("enabled", "0")
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n{body}\n'


def write_fcpxml(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.fcpxml``: the video in the primary storyline, mix and stems as connected audio, clip markers."""
    if not _needs_video(job, "FCPXML"):
        return []
    timeline = build_timeline(job, audio_url=_relative, markers_on="clip", rate=_fcpx_rate(job), root=folder.root)
    return [folder.write_text(job.file(".fcpxml"), fcpxml_text(job, timeline))]


def write_otio(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.otio``: the whole timeline, media relative to the delivery folder, timeline markers."""
    timeline = build_timeline(job, audio_url=_relative, markers_on="timeline", root=folder.root)
    return [_write(folder, job.file(".otio"), timeline, "otio_json")]

