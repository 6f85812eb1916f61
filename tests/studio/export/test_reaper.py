"""The REAPER project read back with the ``rpp`` package: tracks, item positions, tempo points, markers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import rpp

from expotion_engine.types import Marker, MeterChange, TempoChange, TempoMap
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.reaper import native_color, quote, write_reaper


def _load(path: Path) -> rpp.Element:
    project = rpp.loads(path.read_text(encoding="utf-8"))
    assert project.tag == "REAPER_PROJECT"
    return project


def _tracks(project: rpp.Element) -> dict[str, rpp.Element]:
    return {track.find("NAME")[1]: track for track in project.findall("TRACK")}


def test_tracks_hold_the_video_every_stem_and_the_muted_mix(job: ExportJob, tmp_path: Path) -> None:
    (path,) = write_reaper(job, DeliveryFolder(tmp_path))
    assert path.name == "My_Clip.rpp"
    tracks = _tracks(_load(path))
    assert list(tracks) == ["Video"] + [s.name for s in job.take.stems] + ["Mix"]

    video = tracks["Video"].find("ITEM")
    assert video.find("SOURCE").attrib == ["VIDEO"]
    assert Path(video.find("SOURCE/FILE")[1]) == Path(job.video).resolve()
    assert float(video.find("SOFFS")[1]) == pytest.approx(job.video_in)

    for stem in job.take.stems:
        item = tracks[stem.name].find("ITEM")
        assert item.find("SOURCE").attrib == ["WAVE"]
        assert item.find("SOURCE/FILE")[1] == job.stem_file(stem.name)
    assert tracks["Mix"].find("ITEM/SOURCE/FILE")[1] == job.mix_file
    for name, track in tracks.items():
        item = track.find("ITEM")
        assert float(item.find("POSITION")[1]) == 0.0  # music time 0 is project time 0
        assert float(item.find("LENGTH")[1]) == pytest.approx(job.take.duration)
        assert track.find("MUTESOLO")[1] == ("1" if name == "Mix" else "0")


def test_project_time_offset_is_the_timecode_of_music_start(job: ExportJob, tmp_path: Path) -> None:
    project = _load(write_reaper(job, DeliveryFolder(tmp_path))[0])
    assert float(project.find("PROJOFFS")[1]) == pytest.approx(3602.0)
    assert project.find("SAMPLERATE")[1] == "48000"
    assert project.find("TEMPO")[1:] == ["120", "4", "4"]


def test_tempo_envelope_has_a_point_at_each_change_with_time_signatures(job: ExportJob, tmp_path: Path) -> None:
    project = _load(write_reaper(job, DeliveryFolder(tmp_path))[0])
    points = project.find("TEMPOENVEX").findall("PT")
    tempo_map = job.take.tempo_map
    expected_times = sorted({c.time for c in tempo_map.tempos} | {m.time for m in tempo_map.meters})
    assert [float(p[1]) for p in points] == pytest.approx(expected_times, abs=1e-9)
    for point in points:
        t, bpm, shape = float(point[1]), float(point[2]), point[3]
        assert bpm == pytest.approx(tempo_map.bpm_at(t))
        assert shape == "1"  # square: the tempo jumps, as in the TempoMap
    signatures = [(round(float(p[1]), 6), int(p[4]) % 65536, int(p[4]) // 65536) for p in points if len(p) > 4]
    assert signatures == [(0.0, 4, 4), (round(1.0 + 2 * 60 / 90, 6), 3, 4)]
    assert [float(p[2]) for p in points] == [120.0, 90.0, 90.0]


def test_sections_are_regions_and_other_markers_are_markers(job: ExportJob, tmp_path: Path) -> None:
    project = _load(write_reaper(job, DeliveryFolder(tmp_path))[0])
    lines = project.findall("MARKER")
    starts = [line for line in lines if line[3] != "" or line[4] == "0"]
    regions = [line for line in starts if line[4] == "1"]
    points = [line for line in starts if line[4] == "0"]
    sections = sorted((m for m in job.markers if m.kind == "section"), key=lambda m: m.time)
    others = sorted((m for m in job.markers if m.kind != "section"), key=lambda m: m.time)
    assert [r[3] for r in regions] == [m.name for m in sections]
    assert [float(r[2]) for r in regions] == pytest.approx([m.time for m in sections], abs=1e-9)
    ends = [line for line in lines if line[3] == "" and line[4] == "1"]
    assert [float(e[2]) for e in ends] == pytest.approx([sections[1].time, job.take.duration], abs=1e-9)
    assert [p[3] for p in points] == [m.name for m in others]
    assert [float(p[2]) for p in points] == pytest.approx([m.time for m in others], abs=1e-9)
    client = next(p for p in points if p[3] == "client note")
    assert int(client[5]) == native_color((0x00, 0xCC, 0x66))


def test_names_with_quotes_and_blanks_survive(job: ExportJob, tmp_path: Path) -> None:
    names = ['say "hi"', "it's", "`both' \"kinds\"", ""]
    odd = replace(job, markers=tuple(Marker(0.5 + i * 0.1, n, "cue") for i, n in enumerate(names)))
    project = _load(write_reaper(odd, DeliveryFolder(tmp_path))[0])
    assert [line[3] for line in project.findall("MARKER")] == ['say "hi"', "it's", "'both' \"kinds\"", "cue"]
    assert quote("plain") == "plain" and quote("two words") == '"two words"'


def test_without_video_and_with_a_constant_tempo(job: ExportJob, tmp_path: Path) -> None:
    plain = replace(job, video=None, take=replace(job.take, tempo_map=TempoMap.constant(100.0, 6, 8)))
    project = _load(write_reaper(plain, DeliveryFolder(tmp_path))[0])
    assert "Video" not in _tracks(project)
    assert project.find("TEMPOENVEX").findall("PT") == [["PT", "0", "100", "1", str(65536 * 8 + 6)]]
    ramp = TempoMap((TempoChange(0.0, 60.0), TempoChange(0.5, 70.0)), (MeterChange(0.0, 4, 4), MeterChange(1.0, 5, 4)))
    project = _load(write_reaper(replace(job, take=replace(job.take, tempo_map=ramp)),
                                 DeliveryFolder(tmp_path, force=True))[0])
    assert [p[1:3] for p in project.find("TEMPOENVEX").findall("PT")] == [["0", "60"], ["0.5", "70"], ["1", "70"]]
