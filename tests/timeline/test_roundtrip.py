"""The score back into the editor's sequence: every format's round-trip file reads back in OpenTimelineIO with
the original clips and markers unchanged (XML: the whole file unchanged but for what was added) and the mix
and stems as new audio tracks from the in point at the sequence's timecode; the session records the sequence."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from lxml import etree

from expotion_engine.errors import SessionError
from studio.session import Session, TimelineSource
from studio.timeline import Timeline, read_timeline
from studio.timeline.deliver import ROUNDTRIP, TAG, ScoreTrack, deliver_roundtrip
from studio.timeline.fcpx import fcpx_time
from studio.timeline.relink import url_path
from tests.timeline.build import SUFFIXES, build_timeline, write_timeline

RATE = 48000
#: the scored range (record frames from the sequence's first frame): the music starts 10 frames in
IN, OUT = 10, 100
#: score files: the mix plays, the stems are there to switch on
SCORE = (("Mix", True), ("drums", False), ("strings", False))


def _score(folder: Path, seconds: float) -> list[ScoreTrack]:
    folder.mkdir(parents=True, exist_ok=True)
    tracks = []
    for index, (name, enabled) in enumerate(SCORE):
        path = folder / f"scene_{name.lower()}.wav"
        tone = 0.1 * np.sin(2 * np.pi * 220 * (index + 1) * np.arange(round(seconds * RATE)) / RATE)
        sf.write(path, np.stack([tone, tone], axis=1).astype(np.float32), RATE, subtype="PCM_24")
        tracks.append(ScoreTrack(name, path, enabled))
    return tracks


def _sequence(path: Path, adapter: str) -> otio.schema.Timeline:
    kw = {"rate": 30000 / 1001 if "29.97" in path.name else 25.0} if adapter == "cmx_3600" else {}
    read = otio.adapters.read_from_file(str(path), adapter_name=adapter, **kw)
    if isinstance(read, otio.schema.SerializableCollection):
        read = next(read.find_children(descended_from_type=otio.schema.Timeline))
    return read


def _signature(clip: otio.schema.Clip, base: Path) -> tuple:
    """What an editor sees of a clip: name, source range, place in its track, media file (a relative URL is
    relative to the timeline file's folder)."""
    return (clip.name, clip.source_range, clip.range_in_parent(), (base / url_path(clip.media_reference.target_url))
            .resolve())


def _strip_added(root: ET.Element) -> ET.Element:
    """``root`` without the elements the round trip added (ids and refs that start with the tag)."""
    for parent in list(root.iter()):
        for child in list(parent):
            ours = (child.get("id") or child.get("ref") or "").startswith(TAG)
            if ours or child.tag == "track" and any((c.get("id") or "").startswith(TAG) for c in child):
                parent.remove(child)
    return root


def _canonical(root: ET.Element) -> str:
    for element in root.iter():
        element.text = element.text.strip() if element.text else None
        element.tail = None
    return ET.canonicalize(ET.tostring(root, encoding="unicode"))


@pytest.fixture
def sequence(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Timeline, list[ScoreTrack], str]:
    """The sequence written through ``adapter`` at ``fps`` beside copies of its shots, scored from frame 10 to 100."""
    adapter, fps_name = request.param
    fps = 25.0 if fps_name == "25" else 30000 / 1001
    shots = request.getfixturevalue("shots_25" if fps_name == "25" else "shots_2997")
    for shot in shots:
        shutil.copy(shot, tmp_path / shot.name)
    built = write_timeline(build_timeline([tmp_path / s.name for s in shots], fps), tmp_path, adapter, fps)
    timeline = replace(read_timeline(built.path), in_frame=IN, out_frame=OUT)
    return timeline, _score(tmp_path / "delivery" / "stems", timeline.seconds(OUT - IN)), adapter


CASES = [(adapter, fps) for fps in ("25", "29.97") for adapter in SUFFIXES]


@pytest.mark.parametrize("sequence", CASES, indirect=True, ids=[f"{a}-{f}" for a, f in CASES])
def test_the_round_trip_keeps_the_sequence_and_adds_the_score_at_its_timecode(
        sequence: tuple[Timeline, list[ScoreTrack], str], tmp_path: Path) -> None:
    timeline, tracks, adapter = sequence
    folder = tmp_path / "delivery" if ROUNDTRIP[adapter][0] == "otio_json" else tmp_path  # XML: URLs as they are
    written = deliver_roundtrip(timeline, tracks, folder, f"scene {adapter}")
    writer, suffix = ROUNDTRIP[adapter]
    assert written == folder / f"scene_{adapter}_sequence{suffix}"

    original, back = _sequence(timeline.path, adapter), _sequence(written, writer)
    # the original clips and markers, unchanged, in OpenTimelineIO
    before = sorted((_signature(c, timeline.path.parent) for c in original.find_clips()), key=repr)
    after = [c for c in back.find_clips() if url_path(c.media_reference.target_url) not in {t.path for t in tracks}]
    assert sorted((_signature(c, written.parent) for c in after), key=repr) == before
    assert [(m.name, m.marked_range) for m in back.tracks.markers] == [
        (m.name, m.marked_range) for m in original.tracks.markers]
    # the same sequence for Expotion: clips, edits, markers, rate and start timecode
    again = read_timeline(written)
    assert (again.clips, again.markers, again.rate, again.start_frame) == (
        timeline.clips, timeline.markers, timeline.rate, timeline.start_frame)

    # one new track per score file, from the in point for the scored range, on the sequence's own timecode
    added = {url_path(c.media_reference.target_url): c for c in back.find_clips()
             if url_path(c.media_reference.target_url) in {t.path for t in tracks}}
    assert set(added) == {t.path for t in tracks}
    for clip in added.values():
        place = clip.range_in_parent()
        frames = round(place.duration.value_rescaled_to(timeline.rate.fps))
        if writer == "fcpx_xml" and timeline.rate.ntsc:
            continue  # OpenTimelineIO's FCPXML reader counts 29.97 as 29 frames/s; the exact times are checked below
        assert round(place.start_time.value_rescaled_to(timeline.rate.fps)) - _first_frame(back, timeline) == IN
        assert frames == OUT - IN
        if writer != "fcpx_xml":  # the adapter drops FCPXML's tcStart (checked in the file below)
            at = back.global_start_time.value_rescaled_to(timeline.rate.fps) + place.start_time.value_rescaled_to(
                timeline.rate.fps)
            assert round(at) == timeline.start_frame + IN
    if writer == "otio_json":
        assert [t.enabled for t in back.audio_tracks()] == [enabled for _, enabled in SCORE]
    else:
        _check_xml(written, timeline, tracks, writer)


def _first_frame(back: otio.schema.Timeline, timeline: Timeline) -> int:
    """Where OpenTimelineIO puts the sequence's first frame (a reader may keep FCPXML's spine origin)."""
    picture = [c for c in back.find_clips() if c.name == timeline.clips[0].name]
    return round(picture[0].range_in_parent().start_time.value_rescaled_to(timeline.rate.fps))


def _check_xml(written: Path, timeline: Timeline, tracks: list[ScoreTrack], writer: str) -> None:
    """Well-formed; nothing but the additions changed; the additions at exact frames, the stems disabled."""
    etree.parse(str(written))  # raises on anything not well-formed, as xmllint --noout does
    assert written.read_text().splitlines()[1] == ("<!DOCTYPE xmeml>" if writer == "fcp_xml" else "<!DOCTYPE fcpxml>")
    source = timeline.path
    assert _canonical(_strip_added(ET.parse(written).getroot())) == _canonical(ET.parse(source).getroot())
    root = ET.parse(written).getroot()
    if writer == "fcp_xml":
        items = [c for c in root.iter("clipitem") if (c.get("id") or "").startswith(TAG)]
        assert [(c.findtext("start"), c.findtext("end"), c.findtext("enabled")) for c in items] == [
            (str(IN), str(OUT), "TRUE" if enabled else "FALSE") for _, enabled in SCORE]
        assert [c.findtext("file/timecode/frame") for c in items] == [str(timeline.start_frame + IN)] * len(SCORE)
        sound = [c.find("file/media/audio") for c in items]
        assert {(a.findtext("samplecharacteristics/depth"), a.findtext("channelcount")) for a in sound} == {("24", "2")}
        assert root.findall(".//sequence/media/audio/track")[-len(SCORE):] == [
            t for t in root.iter("track") if any((c.get("id") or "").startswith(TAG) for c in t)]
        return
    frame = fcpx_time(root.find("./resources/format").get("frameDuration"))
    sequence = root.find(".//project/sequence")
    spine = list(sequence.find("spine"))
    origin = fcpx_time(spine[0].get("offset"))
    assert fcpx_time(sequence.get("tcStart")) == timeline.start_frame * frame  # the sequence's own timecode
    for lane, (name, enabled) in enumerate(SCORE, start=1):
        parent = next(p for p in spine if any(c.get("lane") == str(-lane) for c in p))
        clip = next(c for c in parent if c.get("lane") == str(-lane))
        kids = [c.tag for c in parent]
        assert all(tag not in ("marker", "chapter-marker") for tag in kids[:kids.index("asset-clip")])
        record = fcpx_time(parent.get("offset")) + fcpx_time(clip.get("offset")) - (
            fcpx_time(parent.get("start")) or Fraction(0))
        assert record == origin + IN * frame
        assert fcpx_time(clip.get("duration")) == (OUT - IN) * frame
        asset = root.find(f"./resources/asset[@id='{clip.get('ref')}']")
        assert fcpx_time(asset.get("start")) == fcpx_time(clip.get("start")) == (timeline.start_frame + IN) * frame
        assert url_path(asset.get("src")) == tracks[lane - 1].path
        assert (clip.get("name"), clip.get("enabled", "1")) == (name, "1" if enabled else "0")
        for value in (clip.get("offset"), clip.get("duration"), asset.get("start")):
            assert (fcpx_time(value) / frame).denominator == 1  # every time on a frame


def test_fcpxml_music_starting_under_a_clip_with_a_marker_is_connected_before_it(
        tmp_path: Path, shots_25: list[Path]) -> None:
    for shot in shots_25:
        shutil.copy(shot, tmp_path / shot.name)
    built = write_timeline(build_timeline([tmp_path / s.name for s in shots_25], 25.0), tmp_path, "fcpx_xml", 25.0)
    timeline = replace(read_timeline(built.path), in_frame=80, out_frame=110)  # inside the third shot
    tracks = _score(tmp_path / "score", timeline.seconds(30))

    root = ET.parse(deliver_roundtrip(timeline, tracks, tmp_path, "late")).getroot()

    spine = list(root.find(".//project/sequence/spine"))
    third = spine[2]
    assert [c.tag for c in third] == ["video", "asset-clip", "asset-clip", "asset-clip", "marker"]
    clip = third.find("asset-clip")
    record = fcpx_time(third.get("offset")) + fcpx_time(clip.get("offset")) - (fcpx_time(third.get("start")) or 0)
    assert record == fcpx_time(spine[0].get("offset")) + Fraction(80, 25)
    assert read_timeline(tmp_path / "late_sequence.fcpxml").markers == timeline.markers


def test_a_newer_fcpxml_gets_media_reps(tmp_path: Path, shots_25: list[Path]) -> None:
    for shot in shots_25:
        shutil.copy(shot, tmp_path / shot.name)
    built = write_timeline(build_timeline([tmp_path / s.name for s in shots_25], 25.0), tmp_path, "fcpx_xml", 25.0)
    built.path.write_text(built.path.read_text().replace('<fcpxml version="1.8">', '<fcpxml version="1.10">'))
    timeline = read_timeline(built.path)
    tracks = _score(tmp_path / "score", timeline.seconds(timeline.duration))

    root = ET.parse(deliver_roundtrip(timeline, tracks, tmp_path, "newer")).getroot()

    assets = [a for a in root.iter("asset") if a.get("id", "").startswith(TAG)]
    assert [a.get("src") for a in assets] == [None] * len(SCORE)  # 1.9 on: the file is a media-rep
    assert [url_path(a.find("media-rep").get("src")) for a in assets] == [t.path for t in tracks]


def test_an_existing_round_trip_is_replaced_only_with_force(tmp_path: Path, shots_25: list[Path]) -> None:
    built = write_timeline(build_timeline(shots_25, 25.0), shots_25[0].parent, "otio_json", 25.0)
    timeline = read_timeline(built.path)
    tracks = _score(tmp_path / "score", timeline.seconds(timeline.duration))
    first = deliver_roundtrip(timeline, tracks, tmp_path, "scene")

    with pytest.raises(Exception, match="already exists; use --force"):
        deliver_roundtrip(timeline, tracks, tmp_path, "scene")
    assert deliver_roundtrip(timeline, tracks, tmp_path, "scene", force=True) == first


def test_the_session_records_the_sequence_and_older_sessions_load(tmp_path: Path, shots_25: list[Path]) -> None:
    built = write_timeline(build_timeline(shots_25, 25.0), shots_25[0].parent, "otio_json", 25.0)
    session = Session.for_video(shots_25[0], title="scene")
    session.timeline = TimelineSource(built.path.resolve(), "otio_json", "25", 90000, in_frame=10, out_frame=100)
    path = session.save(tmp_path / "scene.expotion")

    loaded = Session.load(path)
    assert loaded.timeline == session.timeline
    stored = json.loads(path.read_text())["timeline"]
    assert stored["absolute"] == built.path.resolve().as_posix() and not Path(stored["path"]).is_absolute()

    older = json.loads(path.read_text())
    del older["timeline"]
    older["version"] = 2
    (tmp_path / "older.expotion").write_text(json.dumps(older))
    assert Session.load(tmp_path / "older.expotion").timeline is None

    older["timeline"] = {**stored, "start_frame": -5}
    older["version"] = 3
    (tmp_path / "bad.expotion").write_text(json.dumps(older))
    with pytest.raises(SessionError, match="bad.expotion: The timeline's start, in and out frames"):
        Session.load(tmp_path / "bad.expotion")


def test_a_batch_over_a_round_trip_fcpxml_scores_the_shots_not_the_music(tmp_path: Path, shots_25: list[Path]) -> None:
    from studio.batch.inputs import JobDefaults, timeline_jobs

    for shot in shots_25:
        shutil.copy(shot, tmp_path / shot.name)
    built = write_timeline(build_timeline([tmp_path / s.name for s in shots_25], 25.0), tmp_path, "fcpx_xml", 25.0)
    timeline = read_timeline(built.path)
    written = deliver_roundtrip(timeline, _score(tmp_path / "score", timeline.seconds(timeline.duration)), tmp_path,
                                "batch")

    assert [job.video for job in timeline_jobs(written, JobDefaults())] == [(tmp_path / s.name).resolve()
                                                                            for s in shots_25]


@pytest.mark.parametrize("adapter", ["fcp_xml", "fcpx_xml", "otio_json"])
def test_a_round_trip_of_a_round_trip_adds_new_tracks_beside_the_old_score(adapter: str, tmp_path: Path,
                                                                           shots_25: list[Path]) -> None:
    for shot in shots_25:
        shutil.copy(shot, tmp_path / shot.name)
    built = write_timeline(build_timeline([tmp_path / s.name for s in shots_25], 25.0), tmp_path, adapter, 25.0)
    timeline = read_timeline(built.path)
    first = deliver_roundtrip(timeline, _score(tmp_path / "one", timeline.seconds(timeline.duration)), tmp_path,
                              "one")
    again = read_timeline(first)  # the editor recut nothing and asked for another score
    second = deliver_roundtrip(again, _score(tmp_path / "two", timeline.seconds(timeline.duration)), tmp_path, "two")

    assert (read_timeline(second).clips, read_timeline(second).markers) == (timeline.clips, timeline.markers)
    sequence = _sequence(second, ROUNDTRIP[adapter][0])
    media = sorted(url_path(c.media_reference.target_url).parent.name for c in sequence.find_clips()
                   if c.media_reference.target_url.endswith(".wav"))
    assert media == ["one"] * len(SCORE) + ["two"] * len(SCORE)
    if adapter != "otio_json":
        root = ET.parse(second).getroot()
        ids = [e.get("id") for e in root.iter() if e.get("id")]
        assert len(ids) == len(set(ids))
    if adapter == "fcpx_xml":
        lanes = [c.get("lane") for c in ET.parse(second).getroot().iter("asset-clip") if c.get("lane")]
        assert lanes == [str(-n) for n in range(1, 2 * len(SCORE) + 1)]
