"""Camera media carry a start timecode: every edit format reads a shot's source frames counted from the media's
first frame (an EDL's source timecodes and an FCPXML's asset time less the media's start), and an EDL at any rate
reads without a given rate."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import imageio_ffmpeg
import pytest

from expotion_engine.media.probe import probe_video
from studio.timecode import TimecodeRate, parse_rate
from studio.timeline import read_timeline
from studio.timeline.render import render_picture
from tests.timeline.build import SHOTS, SUFFIXES, build_timeline
from tests.timeline.tagged import tagged_shots, write_tagged

#: 29.97 and 59.94 count drop frame; 25 is the whole rate beside the three fractional ones
RATES = ("23.976", "25", "29.97", "59.94")


@pytest.fixture(scope="module", params=RATES)
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[TimecodeRate,
                                                                                              list[Path]]:
    """Three 2 s shots at the rate, the first tagged 01:00:00:00, the second 10:00:00:00, the third not."""
    rate = parse_rate(request.param)
    return rate, tagged_shots(tmp_path_factory.mktemp(f"tagged_{request.param}"), rate)


def _sources(path: Path) -> list[tuple[str, int, int]]:
    return [(c.media.name, c.source_in, c.duration) for c in read_timeline(path).clips if not c.is_gap]


@pytest.mark.parametrize("adapter", list(SUFFIXES))
def test_source_frames_count_from_the_media_first_frame_in_every_format(
        shots: tuple[TimecodeRate, list[Path]], adapter: str) -> None:
    rate, media = shots
    path = write_tagged(media, rate, adapter)

    timeline = read_timeline(path)  # no rate given: an EDL is counted at its media's, drop frame as labelled

    assert (timeline.rate, timeline.start_timecode) == (rate, f"01:00:00{rate.separator}00")
    expected = [(m.name, source_in, duration) for m, (source_in, duration) in zip(media, SHOTS, strict=True)]
    assert _sources(path) == expected
    for clip in timeline.clips:  # the range the score renders and analyses lies inside the media
        assert 0 <= clip.source_in and clip.source_out <= probe_video(clip.media).frame_count


def _frames(video: Path) -> list[str]:
    """A digest of every decoded frame of ``video``."""
    reader = imageio_ffmpeg.read_frames(str(video))
    next(reader)  # the stream's description
    return [hashlib.sha1(frame).hexdigest() for frame in reader]


def test_the_score_renders_the_same_picture_from_an_edl_and_an_fcpxml_as_from_otio(tmp_path: Path) -> None:
    rate = parse_rate("29.97")  # drop frame: the shots are tagged 01:00:00;00 and 10:00:00;00
    media = tagged_shots(tmp_path / "shots", rate)
    pictures = {adapter: _frames(render_picture(read_timeline(write_tagged(media, rate, adapter)),
                                                tmp_path / f"{adapter}.mp4"))
                for adapter in ("otio_json", "cmx_3600", "fcpx_xml")}
    assert len(pictures["otio_json"]) == sum(duration for _, duration in SHOTS)
    assert pictures["cmx_3600"] == pictures["otio_json"]
    assert pictures["fcpx_xml"] == pictures["otio_json"]


def test_an_fcpxml_asset_without_a_start_counts_from_the_file_timecode(shots: tuple[TimecodeRate,
                                                                                    list[Path]]) -> None:
    rate, media = shots
    path = write_tagged(media, rate, "fcpx_xml")
    path.write_text(re.sub(r'(<asset [^>]*?) start="[^"]*"', r"\1", path.read_text()))
    assert "<asset " in path.read_text() and not re.search(r'<asset [^>]*start=', path.read_text())

    assert _sources(path) == [(m.name, s, d) for m, (s, d) in zip(media, SHOTS, strict=True)]


def test_an_edl_counting_a_tagged_file_from_zero_is_read_from_its_first_frame(
        shots: tuple[TimecodeRate, list[Path]], caplog: pytest.LogCaptureFixture) -> None:
    rate, media = shots
    path = write_tagged(media, rate, "cmx_3600", build_timeline(media, rate.fps))  # media ranges from 0
    with caplog.at_level(logging.WARNING, logger="studio.timeline.read"):
        assert _sources(path) == [(m.name, s, d) for m, (s, d) in zip(media, SHOTS, strict=True)]
    assert sum("before" in r.getMessage() for r in caplog.records) == 2  # the two tagged shots
