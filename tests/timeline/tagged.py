"""Camera media for the tests: the three generated shots re-tagged with start timecodes, cut into one sequence.

Two shots carry camera timecode (01:00:00:00 and 10:00:00:00 at their rate, stream-copied, not
re-encoded), the third none. :func:`write_tagged` writes the sequence through one of
OpenTimelineIO's four writers as an editor writes that format, every source range in the media's
own timecode (the media's available range starts at the tag), so each format must read back the
same source frames counted from the media's first frame: ``SHOTS``.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import opentimelineio as otio

from expotion_engine.media.probe import probe_video
from studio.timecode import TimecodeRate, format_frames, parse_frames
from tests.timeline.build import RT, SHOTS, SUFFIXES, TR, make_shots

#: the hour each shot's file is tagged at (None: no tag, so its media starts at 00:00:00:00)
TAG_HOURS = (1, 10, None)
#: the names of the shots, in record order
NAMES = ("shot_a.mp4", "shot_b.mp4", "shot_c.mp4")


def tag(hour: int | None, rate: TimecodeRate) -> str | None:
    """The label of ``hour`` o'clock at ``rate`` (``;`` in drop frame), or None for no tag."""
    return None if hour is None else format_frames(parse_frames(f"{hour:02d}:00:00:00", rate), rate)


def tagged_shots(folder: Path, rate: TimecodeRate) -> list[Path]:
    """The three 2 s shots at ``rate`` in ``folder``, the first two tagged (made once per folder)."""
    shots = [folder / name for name in NAMES]
    if all(path.is_file() for path in shots):
        return shots
    for plain, path, hour in zip(make_shots(folder / "plain", rate.fps), shots, TAG_HOURS, strict=True):
        label = tag(hour, rate)
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(plain), "-c", "copy",
                        *(["-timecode", label] if label else []), str(path)], check=True, timeout=60)
    return shots


def tagged_sequence(shots: list[Path], rate: TimecodeRate) -> otio.schema.Timeline:
    """The shots cut at SHOTS' source frames from 01:00:00:00, each media counted from the timecode it carries."""
    fps = rate.fps
    timeline = otio.schema.Timeline(name="Scene 12")
    timeline.global_start_time = RT(parse_frames(f"01:00:00{rate.separator}00", rate), fps)
    timeline.metadata["expotion"] = {"timecode_rate": rate.spec}
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for path, hour, (source_in, duration) in zip(shots, TAG_HOURS, SHOTS, strict=True):
        first = parse_frames(f"{hour:02d}:00:00:00", rate) if hour else 0
        reference = otio.schema.ExternalReference(
            target_url=path.name, available_range=TR(RT(first, fps), RT(probe_video(path).frame_count, fps)))
        track.append(otio.schema.Clip(name=path.stem, media_reference=reference,
                                      source_range=TR(RT(first + source_in, fps), RT(duration, fps))))
    return timeline


def write_tagged(shots: list[Path], rate: TimecodeRate, adapter: str,
                 timeline: otio.schema.Timeline | None = None) -> Path:
    """The sequence (``timeline``, else :func:`tagged_sequence`) written through ``adapter`` beside the shots.

    The EDL writer takes the record start from the track's offset; the FCPXML writer leaves out the frame
    duration and ``tcStart`` and counts the spine from 0 where Final Cut counts it from ``tcStart``.
    """
    timeline = timeline or tagged_sequence(shots, rate)
    path = shots[0].parent / f"scene12{SUFFIXES[adapter]}"
    start = timeline.global_start_time
    if adapter == "cmx_3600":
        timeline.tracks[0].source_range = TR(RT(-start.value, rate.fps), timeline.tracks[0].duration())
    otio.adapters.write_to_file(timeline, str(path), adapter_name=adapter)
    text = path.read_text()
    if adapter == "fcpx_xml":
        frame, origin = 1 / rate.rate, Fraction(round(start.value)) / rate.rate
        text = text.replace('frameDuration=""', f'frameDuration="{frame.numerator}/{frame.denominator}s"')
        text = re.sub(r"<sequence ", f'<sequence tcStart="{origin.numerator}/{origin.denominator}s" '
                                     f'tcFormat="{"DF" if rate.drop_frame else "NDF"}" ', text, count=1)
        root = ET.fromstring(text)
        for item in root.iterfind("./project/sequence/spine/*"):
            offset = Fraction(item.get("offset", "0s")[:-1]) + origin
            item.set("offset", f"{offset.numerator}/{offset.denominator}s")
        text = f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{ET.tostring(root, "unicode")}\n'
    elif adapter == "fcp_xml" and rate.drop_frame:
        text = text.replace("<displayformat>NDF</displayformat>", "<displayformat>DF</displayformat>")
    path.write_text(text)
    return path


__all__ = ["NAMES", "TAG_HOURS", "tag", "tagged_sequence", "tagged_shots", "write_tagged"]
