"""Any frame rate exports every format: 10 and 12.5 fps count at a declared SMPTE rate, 25 and 29.97 at their own.

Each clip is generated here at its rate; the whole delivery is written through the
registry and read back with independent readers (OpenTimelineIO adapters, mido, wavinfo,
rpp, zipfile, PyAV), and one marker lands on the same timecode frame in every format.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import mido
import numpy as np
import opentimelineio as otio
import pytest
import rpp
from wavinfo import WavInfoReader

from expotion_engine.types import Marker
from studio.demo.writer import write_mp4
from studio.export import FORMATS, export_delivery
from studio.export.check import check_delivery
from studio.timecode import format_timecode, parse_frames, to_frame

CASES = {  # video fps -> (timecode rate label, MIDI SMPTE offset code)
    10.0: ("30", 30), 12.5: ("25", 25), 25.0: ("25", 25), 30000 / 1001: ("29.97 DF", 29.97),
}
PROBE = Marker(1.5 + 0.5 / 30, "probe", "user")  # between frames at every rate


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[float, Path]:
    folder = tmp_path_factory.mktemp("rates")
    out = {}
    for fps in CASES:
        count = int(np.ceil(3.2 * fps))
        frames = (np.full((48, 64, 3), 20 + (i * 7) % 200, np.uint8) for i in range(count))
        out[fps] = write_mp4(folder / f"clip_{fps:g}.mp4", frames, fps=fps)
    return out


def _midi_offset(path: Path) -> mido.MetaMessage:
    (offset,) = [m for m in mido.MidiFile(path).tracks[0] if m.type == "smpte_offset"]
    return offset


@pytest.mark.parametrize("fps", list(CASES), ids=[f"{f:g}fps" for f in CASES])
def test_every_format_exports_with_a_valid_timecode_rate(job, videos, tmp_path, fps):
    label, midi_code = CASES[fps]
    rated = replace(job, video=videos[fps], video_in=0.0, fps=fps, markers=(*job.markers, PROBE))
    assert rated.tc.label == label
    out = tmp_path / "delivery"
    written = export_delivery(rated, out)
    assert {p.suffix for p in written} >= {".wav", ".mid", ".csv", ".edl", ".xml", ".fcpxml", ".otio", ".rpp",
                                           ".dawproject", ".mp4"}
    assert len(written) == len({p for name in FORMATS for p in written if p.exists()})
    tc, rate = rated.tc, rated.tc.fps
    start = to_frame(rated.start_seconds, tc)
    probe = to_frame(rated.start_seconds + PROBE.time, tc)
    slug = rated.slug

    # editor timelines: sequence start at the timecode, at the declared rate, the probe marker on its frame
    for name in (f"{slug}.otio", f"{slug}_fcp7.xml", f"{slug}.fcpxml"):
        timeline = otio.adapters.read_from_file(str(out / name))
        # sequence markers count from the sequence start, clip markers in source (record) timecode
        frames = [round(m.marked_range.start_time.rescaled_to(rate).value) + start for m in timeline.tracks.markers]
        frames += [round(m.marked_range.start_time.rescaled_to(rate).value)
                   for clip in timeline.find_clips() for m in clip.markers]
        assert probe in frames, name
        if name.endswith(".fcpxml"):
            continue  # the FCPXML reader rounds rates to its frame-duration table
        assert timeline.global_start_time.rate == pytest.approx(rate)
        assert round(timeline.global_start_time.value) == start
    edl = (out / f"{slug}.edl").read_text()
    assert ("FCM: DROP FRAME" in edl) == tc.drop_frame
    assert f"* LOC: {format_timecode(rated.start_seconds + PROBE.time, tc)}" in edl
    edl_timeline = otio.adapters.read_from_file(str(out / f"{slug}.edl"), rate=rate)
    (clip,) = edl_timeline.video_tracks()[0].find_clips()
    assert round(clip.source_range.start_time.rescaled_to(rate).value) == start

    # marker list, MIDI, BWF, REAPER, DAWproject
    rows = list(csv.DictReader((out / f"{slug}_markers.csv").open()))
    (row,) = [r for r in rows if r["Marker Name"] == "probe"]
    assert parse_frames(row["In"], tc) == probe
    offset = _midi_offset(out / f"{slug}.mid")
    assert offset.frame_rate == midi_code and (offset.hours, offset.minutes) == (1, 0)
    mix = out / f"{slug}_mix.wav"
    root = ET.fromstring(WavInfoReader(str(mix)).ixml.xml_str())
    assert Fraction(root.findtext("SPEED/TIMECODE_RATE")) == tc.rate
    assert root.findtext("SPEED/TIMECODE_FLAG") == ("DF" if tc.drop_frame else "NDF")
    assert WavInfoReader(str(mix)).bext.time_reference == round(rated.start_seconds * 48000)
    project = rpp.loads((out / f"{slug}.rpp").read_text())
    assert float(project.find("PROJOFFS")[1]) == pytest.approx(rated.start_seconds)
    with zipfile.ZipFile(out / f"{slug}.dawproject") as archive:
        comment = ET.fromstring(archive.read("metadata.xml")).findtext("Comment")
    assert format_timecode(rated.start_seconds, tc) in comment
    assert ("counted as" in comment) == (fps in (10.0, 12.5))

    # the re-muxed video: exactly the range's frames at the video's own rate
    with av.open(str(out / f"{slug}_scored.mp4")) as container:
        times = [frame.time for frame in container.decode(video=0)]
    assert len(times) == round(job.take.duration * fps) and times[0] == pytest.approx(0.0, abs=1e-6)

    # and the whole folder passes a dub stage's QC at this rate (drop-frame EDL locators and all)
    failed = [(r.name, r.detail) for r in check_delivery(out) if not r.passed]
    assert not failed


def test_a_declared_rate_is_used_everywhere(job, videos, tmp_path):
    declared = replace(job, video=videos[10.0], fps=10.0, timecode_rate="24")
    out = tmp_path / "delivery"
    export_delivery(declared, out, ["midi", "otio", "markers"])
    assert _midi_offset(out / "My_Clip.mid").frame_rate == 24
    timeline = otio.adapters.read_from_file(str(out / "My_Clip.otio"))
    assert timeline.global_start_time.rate == 24
    assert "as declared" in timeline.metadata["expotion"]["timecode_note"]

