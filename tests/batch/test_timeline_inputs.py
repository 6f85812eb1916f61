"""A batch's jobs from one sequence written as .otio, FCP 7 XML, FCPXML and EDL at 23.976, 25, 29.97 DF and
59.94 DF: every format gives the same shots at the same exact source frames, each starting at the timecode its
video file carries."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import opentimelineio as otio
import pytest

from expotion_engine.media.probe import probe_video
from studio.batch.inputs import read_jobs
from studio.batch.jobs import session_for
from studio.timecode import TimecodeRate, format_frames, parse_frames, parse_rate, to_frame
from tests.timeline.build import SHOTS, SUFFIXES, make_shots

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
RATES = ("23.976", "25", "29.97", "59.94")  # 29.97 and 59.94 count drop frame
#: the hour each shot's file is tagged at (None: no tag, so its media starts at 00:00:00:00)
TAG_HOURS = (1, 10, None)
#: how FCP 7 XML and FCPXML declare a drop-frame sequence (the EDL's ';' labels and the .otio metadata do too)
DROP_FRAME = {"fcp_xml": ("<displayformat>NDF</displayformat>", "<displayformat>DF</displayformat>"),
              "fcpx_xml": ('tcFormat="NDF"', 'tcFormat="DF"')}


def _tag(hour: int | None, rate: TimecodeRate) -> str | None:
    return None if hour is None else format_frames(parse_frames(f"{hour:02d}:00:00:00", rate), rate)


@pytest.fixture(scope="module", params=RATES)
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[TimecodeRate,
                                                                                              list[Path]]:
    """Three 2 s generated shots at the rate, the first two tagged with camera timecode (copied, not re-encoded)."""
    rate = parse_rate(request.param)
    folder = tmp_path_factory.mktemp(f"shots_{request.param}")
    tagged = []
    for plain, hour in zip(make_shots(folder / "plain", rate.fps), TAG_HOURS, strict=True):
        path = folder / plain.name
        tag = _tag(hour, rate)
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(plain), "-c", "copy",
                        *(["-timecode", tag] if tag else []), str(path)], check=True, timeout=60)
        tagged.append(path)
    return rate, tagged


def _sequence(shots: list[Path], rate: TimecodeRate) -> otio.schema.Timeline:
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


def _written(shots: list[Path], rate: TimecodeRate, adapter: str) -> Path:
    """The sequence written through OpenTimelineIO's ``adapter`` beside the shots as an editor writes that format.

    The EDL writer takes the record start from the track's offset; the FCPXML writer leaves out the frame
    duration and ``tcStart`` and counts the spine from 0 where Final Cut counts it from ``tcStart``.
    """
    timeline = _sequence(shots, rate)
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


@pytest.mark.parametrize("adapter", list(SUFFIXES))
def test_every_edit_format_gives_the_same_exact_frames_and_timecodes(
        shots: tuple[TimecodeRate, list[Path]], adapter: str) -> None:
    rate, media = shots
    jobs = read_jobs(_written(media, rate, adapter))

    zero = format_frames(0, rate)
    expected = [(f"{n:03d}_{path.stem}", path.resolve(), source_in, source_in + duration, _tag(hour, rate) or zero)
                for n, (path, hour, (source_in, duration)) in enumerate(zip(media, TAG_HOURS, SHOTS, strict=True), 1)]
    assert [(job.name, job.video, to_frame(job.start, rate), to_frame(job.end, rate),
             format_frames(to_frame(float(job.timecode_start), rate), rate)) for job in jobs] == expected
    for job, (*_, start, end, tag) in zip(jobs, expected, strict=True):
        session = session_for(job)  # what the batch's stages score: this range, delivered from this start
        assert session.timecode().rate == rate
        assert (to_frame(session.video_in, rate), to_frame(session.video_out, rate)) == (start, end)
        assert format_frames(to_frame(session.timecode_start, rate), rate) == tag
