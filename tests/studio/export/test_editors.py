"""Editor interchange files read back with OpenTimelineIO and its adapters (an independent reader)."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from studio.export.cues import KIND_COLOR_NAME
from studio.export.editors import write_edl, write_fcp7, write_fcpxml, write_otio
from studio.export.job import DeliveryFolder, ExportJob

FRAME = 1 / 25

#: the editor colour nearest to each fixture marker's own colour (#3366ff, #ff9900, #00cc66); the rest have their kind's
OWN_COLOUR = {"Intro": "BLUE", "Verse": "ORANGE", "client note": "GREEN"}


def _read(path: Path, **kw) -> otio.schema.Timeline:
    result = otio.adapters.read_from_file(str(path), **kw)
    assert isinstance(result, otio.schema.Timeline)
    return result


def _seconds(time: otio.opentime.RationalTime) -> float:
    return time.to_seconds()


def _assert_markers(job: ExportJob, markers, offset: float, *, case_sensitive: bool = True) -> None:
    """Marker names and times (within a frame) match the job's markers, in order."""
    expected = sorted(job.markers, key=lambda m: m.time)
    assert len(markers) == len(expected)
    for marker, want in zip(sorted(markers, key=lambda m: m.marked_range.start_time), expected, strict=True):
        name = marker.name if case_sensitive else marker.name.lower()
        assert name == (want.name if case_sensitive else want.name.lower())
        assert abs(_seconds(marker.marked_range.start_time) - offset - want.time) <= FRAME / 2 + 1e-9


def _video_clip(timeline: otio.schema.Timeline) -> otio.schema.Clip:
    (track,) = timeline.video_tracks()
    (clip,) = track.find_clips()
    return clip


def _assert_video(job: ExportJob, clip: otio.schema.Clip, origin: float = 0.0) -> None:
    """The video clip starts at the top of the record (``origin`` s into the track) and plays the scored range at
    its source timecode; the source video lies outside the delivery folder, so its URL stays absolute."""
    assert clip.media_reference.target_url == Path(job.video).resolve().as_uri()
    assert abs(_seconds(clip.range_in_parent().start_time) - origin) <= 1e-9
    assert abs(_seconds(clip.source_range.start_time) - job.start_seconds) <= FRAME / 2
    assert abs(_seconds(clip.source_range.duration) - job.take.duration) <= FRAME / 2


def _assert_audio(job: ExportJob, timeline: otio.schema.Timeline, origin: float = 0.0) -> None:
    """The mix, then one track per stem, each a full-length clip of the delivered BWF (relative path) at the start."""
    expected = [job.mix_file] + [job.stem_file(s.name) for s in job.take.stems]
    clips = [track.find_clips()[0] for track in timeline.audio_tracks()]
    assert [c.media_reference.target_url for c in clips] == expected
    for clip in clips:
        assert abs(_seconds(clip.range_in_parent().start_time) - origin) <= 1e-9
        assert abs(_seconds(clip.source_range.start_time) - job.start_seconds) <= FRAME / 2
        assert abs(_seconds(clip.duration()) - job.take.duration) <= FRAME / 2


def test_edl_has_the_video_event_and_a_locator_per_marker(job: ExportJob, tmp_path: Path) -> None:
    path, audio = write_edl(job, DeliveryFolder(tmp_path))
    assert (path.name, audio.name) == ("My_Clip.edl", "My_Clip_audio.edl")
    timeline = _read(path, rate=job.fps)
    assert len(timeline.tracks) == 1
    assert -timeline.tracks[0].source_range.start_time.to_seconds() == pytest.approx(job.start_seconds)
    clip = _video_clip(timeline)
    _assert_video(job, clip)
    # source and record in/out: music time 0 at 01:00:02:00 on both sides
    assert "01:00:02:00 01:00:05:00 01:00:02:00 01:00:05:00" in path.read_text()
    assert path.read_text().splitlines()[1] == "FCM: NON-DROP FRAME"
    _assert_markers(job, clip.markers, job.start_seconds, case_sensitive=False)
    by_name = {m.name.lower(): m for m in clip.markers}
    for want in job.markers:
        assert by_name[want.name.lower()].color == OWN_COLOUR.get(want.name, KIND_COLOR_NAME[want.kind])
    # the audio EDL: the mix on both channels (AA) at the same record timecode, nothing else
    sound = _read(audio, rate=job.fps)
    assert [t.name for t in sound.tracks] == ["A1", "A2"]
    for track in sound.tracks:
        (mix,) = track.find_clips()
        assert mix.media_reference.target_url == job.mix_file
        assert -track.source_range.start_time.to_seconds() == pytest.approx(job.start_seconds)
    assert " AA    C        01:00:02:00 01:00:05:00 01:00:02:00 01:00:05:00" in audio.read_text()


def test_fcp7_xml_has_video_mix_disabled_stems_and_sequence_markers(job: ExportJob, tmp_path: Path) -> None:
    folder = DeliveryFolder(tmp_path)
    (path,) = write_fcp7(job, folder)
    timeline = _read(path)
    assert abs(_seconds(timeline.global_start_time) - job.start_seconds) <= FRAME / 2
    assert len(timeline.video_tracks()) == 1
    assert len(timeline.audio_tracks()) == len(job.take.stems) + 1
    _assert_video(job, _video_clip(timeline))
    _assert_audio(job, timeline)
    enabled = [t.metadata.get("fcp_xml", {}).get("enabled", "TRUE") for t in timeline.audio_tracks()]
    assert enabled == ["TRUE"] + ["FALSE"] * len(job.take.stems)
    _assert_markers(job, list(timeline.tracks.markers), 0.0)
    verse = next(m for m in timeline.tracks.markers if m.name == "Verse")
    assert abs(_seconds(verse.marked_range.duration) - (job.take.duration - 1.0 - 2 * 60 / 90)) <= FRAME


def test_fcpxml_has_connected_audio_and_clip_markers(job: ExportJob, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    folder = DeliveryFolder(tmp_path)
    (path,) = write_fcpxml(job, folder)
    assert path.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>')
    sequence = ET.parse(path).getroot().find("./project/sequence")
    assert (sequence.get("tcStart"), sequence.get("tcFormat")) == ("3602s", "NDF")  # 01:00:02:00
    lanes = {clip.get("name"): clip.get("enabled", "1") for clip in sequence.iter("clip") if clip.get("lane")}
    assert lanes == {"Mix": "1", **{s.name: "0" for s in job.take.stems}}
    timeline = _read(path)  # the adapter ignores tcStart: spine offsets count from it, so clips sit at 3602 s
    assert len(timeline.video_tracks()) == 1
    assert len(timeline.audio_tracks()) == len(job.take.stems) + 1
    clip = _video_clip(timeline)
    _assert_video(job, clip, origin=job.start_seconds)
    _assert_audio(job, timeline, origin=job.start_seconds)
    _assert_markers(job, list(clip.markers), job.start_seconds)


def test_otio_round_trips_with_relative_media_and_coloured_markers(job: ExportJob, tmp_path: Path) -> None:
    (path,) = write_otio(job, DeliveryFolder(tmp_path))
    timeline = _read(path)
    assert timeline.name == "My Clip"
    assert timeline.global_start_time == otio.opentime.RationalTime(90050, 25)
    _assert_video(job, _video_clip(timeline))
    _assert_audio(job, timeline)
    assert [t.enabled for t in timeline.audio_tracks()] == [True] + [False] * len(job.take.stems)
    markers = list(timeline.tracks.markers)
    _assert_markers(job, markers, 0.0)
    for marker in markers:
        kind = marker.metadata["expotion"]["kind"]
        assert marker.color == OWN_COLOUR.get(marker.name, KIND_COLOR_NAME[kind])
        assert (marker.marked_range.duration.value > 0) == (kind == "section")


def test_editor_formats_need_a_video_but_otio_does_not(job: ExportJob, tmp_path: Path) -> None:
    from dataclasses import replace

    audio_only = replace(job, video=None)
    folder = DeliveryFolder(tmp_path)
    assert write_edl(audio_only, folder) == write_fcp7(audio_only, folder) == write_fcpxml(audio_only, folder) == []
    (path,) = write_otio(audio_only, folder)
    timeline = _read(path)
    assert not timeline.video_tracks() and len(timeline.audio_tracks()) == len(job.take.stems) + 1


@pytest.mark.parametrize("writer", [write_edl, write_fcp7, write_fcpxml, write_otio])
def test_existing_files_are_not_overwritten_without_force(job: ExportJob, tmp_path: Path, writer) -> None:
    from expotion_engine.errors import ExportError

    path, *_ = writer(job, DeliveryFolder(tmp_path))
    before = path.read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        writer(job, DeliveryFolder(tmp_path))
    assert path.read_bytes() == before
    assert writer(job, DeliveryFolder(tmp_path, force=True))[0] == path


@pytest.mark.parametrize("name", ["markers", "edl", "fcp7", "fcpxml", "otio", "reaper", "dawproject"])
def test_written_files_are_the_ones_the_registry_plans(job: ExportJob, tmp_path: Path, name: str) -> None:
    from studio.export.registry import exporter, planned_files

    written = exporter(name)(job, DeliveryFolder(tmp_path))
    assert sorted(p.relative_to(tmp_path.resolve()).as_posix() for p in written) == sorted(planned_files(job, name))


@pytest.mark.parametrize("fps", [29.97, 23.976, 59.94])
def test_ntsc_rates_use_exact_timecode_rates(job: ExportJob, tmp_path: Path, fps: float) -> None:
    from dataclasses import replace

    ntsc = replace(job, fps=fps)
    rate = ntsc.tc.fps
    assert rate == pytest.approx(fps * 1.001 * 1000 / 1001, rel=1e-3) and rate != fps
    folder = DeliveryFolder(tmp_path)
    edl, _ = write_edl(ntsc, folder)
    text = edl.read_text()
    assert "FCM: DROP FRAME" in text if fps != 23.976 else "FCM: NON-DROP FRAME" in text
    timeline = _read(edl, rate=rate)
    _assert_video(ntsc, _video_clip(timeline))
    # the adapter's reader skips drop-frame locators (it only matches "hh:mm:ss:ff"), so read them here
    locators = [line.split()[2] for line in text.splitlines() if line.startswith("* LOC:")]
    expected = sorted(job.markers, key=lambda m: m.time)
    assert len(locators) == len(expected)
    for tc, want in zip(locators, expected, strict=True):
        seconds = otio.opentime.from_timecode(tc, rate).to_seconds()
        assert abs(seconds - job.start_seconds - want.time) <= 1 / rate
    (fcpxml,) = write_fcpxml(ntsc, folder)
    assert len(_read(fcpxml).audio_tracks()) == len(job.take.stems) + 1
    # Final Cut wants every time on an edit frame: a whole number of the format's frameDuration
    import xml.etree.ElementTree as ET
    from fractions import Fraction

    root = ET.parse(fcpxml).getroot()
    (frame,) = {Fraction(f.get("frameDuration")[:-1]) for f in root.iter("format")}
    assert frame == 1 / ntsc.tc.rate
    times = [Fraction(e.get(a)[:-1]) for e in root.iter() for a in ("offset", "start", "duration", "tcStart")
             if e.get(a)]
    assert len(times) > 40 and all((t / frame).denominator == 1 for t in times)
    tc_start = Fraction(root.find("./project/sequence").get("tcStart")[:-1])
    assert otio.opentime.to_timecode(otio.opentime.RationalTime(tc_start / frame, rate), rate) == \
        otio.opentime.to_timecode(otio.opentime.RationalTime(round(ntsc.start_seconds * rate), rate), rate)


def test_a_rate_without_timecode_is_counted_at_a_declared_smpte_rate(job: ExportJob, tmp_path: Path) -> None:
    from dataclasses import replace

    fifteen = replace(job, fps=15.0)
    assert fifteen.tc.label == "30" and fifteen.timecode.mapped
    (path,) = write_otio(fifteen, DeliveryFolder(tmp_path))
    timeline = otio.adapters.read_from_file(str(path))
    assert timeline.global_start_time == otio.opentime.RationalTime(job.start_seconds * 30, 30)
    assert timeline.metadata["expotion"]["timecode_rate"] == "30"
    assert "15 frames/s is counted as 30" in timeline.metadata["expotion"]["timecode_note"]
    declared = replace(job, fps=15.0, timecode_rate="25")
    (path,) = write_otio(declared, DeliveryFolder(tmp_path / "declared"))
    assert otio.adapters.read_from_file(str(path)).global_start_time.rate == 25


def test_fcpxml_format_is_the_picture_as_displayed(job: ExportJob, tmp_path: Path) -> None:
    """A phone's portrait video is stored landscape with a display matrix: the project it makes is portrait."""
    import xml.etree.ElementTree as ET
    from dataclasses import replace

    from studio.demo.writer import set_display_rotation

    stored = ET.parse(write_fcpxml(job, DeliveryFolder(tmp_path / "stored"))[0]).getroot().find("./resources/format")
    width, height = int(stored.get("width")), int(stored.get("height"))
    assert width > height and stored.get("name", "").startswith("FFVideoFormat")
    phone = replace(job, video=set_display_rotation(job.video, tmp_path / "phone.mp4", 90))
    (path,) = write_fcpxml(phone, DeliveryFolder(tmp_path / "phone"))
    form = ET.parse(path).getroot().find("./resources/format")
    assert (int(form.get("width")), int(form.get("height"))) == (height, width)
    assert form.get("name") is None  # the adapter's name says landscape
    timeline = _read(path)
    _assert_video(phone, _video_clip(timeline), origin=job.start_seconds)


def test_fcpxml_of_a_title_with_an_apostrophe_and_quotes(job: ExportJob, tmp_path: Path) -> None:
    """The adapter looks clips up by name in an XPath quoted with apostrophes: "it's" failed the whole delivery."""
    import shutil
    from dataclasses import replace

    video = tmp_path / 'it\'s a "clip" #1.mp4'
    shutil.copy(job.video, video)
    titled = replace(job, title=video.stem, video=video)
    (path,) = write_fcpxml(titled, DeliveryFolder(tmp_path / "delivery"))
    timeline = _read(path)
    clip = _video_clip(timeline)
    assert clip.name == 'it\'s a "clip" #1'
    _assert_video(titled, clip, origin=job.start_seconds)
    _assert_audio(titled, timeline, origin=job.start_seconds)
