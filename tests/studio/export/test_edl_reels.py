"""EDL reel names: one rule for picture and sound (ASCII letters and digits, at most 8, else ``AX``),
so a video whose file name has spaces still gives event lines an editor can split into fields."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace

import pytest

from studio.export.editors import write_edl
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.timeline import reel_name
from studio.timecode import format_timecode

EVENT = re.compile(r"^\d{3}\s")


@pytest.mark.parametrize(("name", "reel"), [
    ("my clip .mp4", "myclip"), ("my clip.mp4", "myclip"), ("My_Clip_mix.wav", "MyClipmi"), ("日本語.mov", "AX"),
    ("take 12 (final).mov", "take12fi"),
])
def test_reel_names(name, reel):
    assert reel_name(name) == reel


@pytest.mark.parametrize("video_name", ["my clip .mp4", "日本語 テイク.mp4"])
def test_every_event_line_has_a_valid_reel_and_its_record_timecode(job: ExportJob, tmp_path, video_name):
    video = tmp_path / video_name
    shutil.copy(job.video, video)
    spaced = replace(job, title="my clip ", video=video)
    folder = DeliveryFolder(tmp_path / "delivery")
    written = write_edl(spaced, folder)
    assert len(written) == 2  # the picture and the mix
    start = format_timecode(spaced.start_seconds, spaced.tc)
    for path in written:
        (line,) = [line for line in path.read_text().splitlines() if EVENT.match(line)]
        number, reel, kind, cut, *times = line.split()
        assert re.fullmatch(r"[A-Za-z0-9]{1,8}", reel) and kind in ("V", "AA") and cut == "C", line
        assert len(times) == 4 and times[2] == start, line
    picture = written[0].read_text()
    assert re.search(r"^001  (myclip|AX)\s+V ", picture, re.MULTILINE), picture
