"""Editor timelines for the tests: three generated shots cut into a sequence with OpenTimelineIO.

``build_timeline`` makes the sequence in OpenTimelineIO's own model (start timecode,
clip ranges, a sequence marker and a clip marker); ``write_timeline`` writes it through
one adapter the way an editing application would have written that format.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from studio.demo import scenarios

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: (source in, duration) in frames of each shot, in record order
SHOTS = ((5, 40), (10, 34), (0, 40))
#: record frames of the two edits
EDITS = (40, 74)
#: a sequence marker at record frame 10 and a marker on the third shot at its source frame 30 (record 104),
#: each more than a second from the edits so the music can mark both cues and an edit
SEQUENCE_MARKER = ("Door slams", 10, "GREEN")
CLIP_MARKER = ("Look up", 30, "BLUE")
CLIP_MARKER_SHOT = 2
CLIP_MARKER_RECORD = EDITS[1] + CLIP_MARKER[1] - SHOTS[2][0]
START = "01:00:00:00"
#: adapter -> file suffix
SUFFIXES = {"otio_json": ".otio", "fcp_xml": ".xml", "fcpx_xml": ".fcpxml", "cmx_3600": ".edl"}
#: what each format carries of the two markers (name, colour) beyond their frames
CARRIES = {
    # adapter: (sequence marker kept, colours kept)
    "otio_json": (True, True),
    "fcp_xml": (True, False),  # FCP 7 XML markers have no colour
    "fcpx_xml": (False, False),  # FCPXML markers live on clips; OpenTimelineIO's adapter drops colours
    "cmx_3600": (False, True),  # EDL LOC lines are per event and name a colour
}


@dataclass(frozen=True)
class Built:
    """A written timeline file and what it should read back as."""

    path: Path
    fps: float
    adapter: str


#: frame size of the generated shots
SIZE = (160, 120)


def make_shots(folder: Path, fps: float) -> list[Path]:
    """A face, a drifting disc and a shot with a hard cut at 1.0 s, 2 s each at ``fps``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        scenarios.face_clip(folder / "shot_a.mp4", size=SIZE, fps=fps, duration=2.0).path,
        scenarios.no_face_clip(folder / "shot_b.mp4", size=SIZE, fps=fps, duration=2.0).path,
        scenarios.cut_clip(folder / "shot_c.mp4", size=SIZE, fps=fps, duration=2.0, cut_time=1.0).path,
    ]


def build_timeline(media: list[Path], fps: float) -> otio.schema.Timeline:
    """Three shots of ``media`` (relative file names) at ``fps``, starting at 01:00:00:00, with two markers."""
    timeline = otio.schema.Timeline(name="Scene 12")
    timeline.global_start_time = otio.opentime.from_timecode(START, fps)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for path, (source_in, duration) in zip(media, SHOTS, strict=True):
        reference = otio.schema.ExternalReference(target_url=path.name,
                                                  available_range=TR(RT(0, fps), RT(50, fps)))
        track.append(otio.schema.Clip(name=path.name, media_reference=reference,
                                      source_range=TR(RT(source_in, fps), RT(duration, fps))))
    name, frame, color = SEQUENCE_MARKER
    timeline.tracks.markers.append(otio.schema.Marker(name=name, marked_range=TR(RT(frame, fps), RT(0, fps)),
                                                      color=color))
    name, frame, color = CLIP_MARKER
    marker = otio.schema.Marker(name=name, marked_range=TR(RT(frame, fps), RT(0, fps)), color=color)
    track[CLIP_MARKER_SHOT].markers.append(marker)
    return timeline


def write_timeline(timeline: otio.schema.Timeline, folder: Path, adapter: str, fps: float) -> Built:
    """Write ``timeline`` through ``adapter`` into ``folder`` as an editing application writes that format.

    OpenTimelineIO's EDL writer takes the record start from the track's offset (the model
    its reader builds), and its FCPXML writer leaves out the sequence's ``tcStart`` that
    Final Cut writes and counts the spine from 0 where Final Cut counts it from ``tcStart``;
    both are given here so the files carry 01:00:00:00 like real ones.
    """
    path = folder / f"scene12_{adapter}_{fps:.2f}{SUFFIXES[adapter]}"
    start = timeline.global_start_time
    if adapter == "cmx_3600":
        timeline = timeline.deepcopy()
        track = timeline.tracks[0]
        track.source_range = TR(RT(-start.value, fps), track.duration())
    otio.adapters.write_to_file(timeline, str(path), adapter_name=adapter)
    if adapter == "fcpx_xml":
        seconds = otio.opentime.to_seconds(start)
        text = path.read_text()
        frame = "1001/30000s" if abs(fps - 30000 / 1001) < 1e-6 else f"1/{round(fps)}s"
        text = text.replace('frameDuration=""', f'frameDuration="{frame}"')
        tc_start = f"{round(start.value) * 1001}/30000s" if frame.startswith("1001") else f"{seconds:g}s"
        root = ET.fromstring(re.sub(r"<sequence ", f'<sequence tcStart="{tc_start}" tcFormat="NDF" ', text, count=1))
        origin = Fraction(tc_start[:-1])
        for item in root.iterfind("./project/sequence/spine/*"):  # Final Cut counts the spine from tcStart
            offset = Fraction(item.get("offset", "0s")[:-1]) + origin
            item.set("offset", f"{offset.numerator}/{offset.denominator}s")
        path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{ET.tostring(root, "unicode")}\n')
    return Built(path, fps, adapter)
