"""The .dawproject unzipped, validated against the format's own XML schemas, and parsed back."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from studio.export.dawproject import write_dawproject
from studio.export.job import DeliveryFolder, ExportJob

SCHEMAS = Path(__file__).resolve().parents[4] / "shared" / "reference" / "dawproject"


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    if not (SCHEMAS / "Project.xsd").exists():
        pytest.skip(f"the DAWproject schemas are not at {SCHEMAS}")
    return {name: etree.XMLSchema(etree.parse(str(SCHEMAS / f"{name}.xsd"))) for name in ("Project", "MetaData")}


def _open(path: Path) -> tuple[etree._Element, etree._Element]:
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"project.xml", "metadata.xml"}
        return etree.fromstring(archive.read("project.xml")), etree.fromstring(archive.read("metadata.xml"))


def test_project_and_metadata_validate_against_the_schemas(job: ExportJob, tmp_path: Path, schemas) -> None:
    (path,) = write_dawproject(job, DeliveryFolder(tmp_path))
    assert path.name == "My_Clip.dawproject"
    project, metadata = _open(path)
    schemas["Project"].assertValid(project)
    schemas["MetaData"].assertValid(metadata)
    assert metadata.findtext("Title") == "My Clip"
    assert "01:00:02:00" in metadata.findtext("Comment")


def test_tracks_and_clips_reference_the_delivered_audio(job: ExportJob, tmp_path: Path) -> None:
    project, _ = _open(write_dawproject(job, DeliveryFolder(tmp_path))[0])
    tracks = project.findall("Structure/Track")
    names = [t.get("name") for t in tracks]
    assert names == [s.name for s in job.take.stems] + ["Mix", "Master"]
    master = tracks[-1].find("Channel")
    assert master.get("role") == "master"
    by_id = {t.get("id"): t for t in tracks}
    expected = {s.name: job.stem_file(s.name) for s in job.take.stems} | {"Mix": job.mix_file}
    lanes = project.findall("Arrangement/Lanes/Lanes")
    assert len(lanes) == len(expected)
    assert project.find("Arrangement/Lanes").get("timeUnit") == "seconds"
    for lane in lanes:
        track = by_id[lane.get("track")]
        channel = track.find("Channel")
        assert channel.get("destination") == master.get("id")
        assert channel.find("Mute").get("value") == ("true" if track.get("name") == "Mix" else "false")
        (clip,) = lane.findall("Clips/Clip")
        assert float(clip.get("time")) == 0.0
        assert float(clip.get("duration")) == pytest.approx(job.take.duration)
        audio = clip.find("Audio")
        assert int(audio.get("sampleRate")) == job.settings.sample_rate
        assert int(audio.get("channels")) == job.take.mix.shape[0]
        file = audio.find("File")
        assert file.get("external") == "true"
        assert file.get("path") == expected[track.get("name")]
        assert not Path(file.get("path")).is_absolute() and ".." not in Path(file.get("path")).parts


def test_tempo_and_time_signature_automation_follow_the_tempo_map(job: ExportJob, tmp_path: Path) -> None:
    project, _ = _open(write_dawproject(job, DeliveryFolder(tmp_path))[0])
    tempo_map = job.take.tempo_map
    tempo = project.find("Arrangement/TempoAutomation")
    assert tempo.find("Target").get("parameter") == project.find("Transport/Tempo").get("id")
    points = [(float(p.get("time")), float(p.get("value"))) for p in tempo.findall("RealPoint")]
    assert points == [(c.time, c.bpm) for c in tempo_map.tempos] == [(0.0, 120.0), (1.0, 90.0)]
    assert {p.get("interpolation") for p in tempo.findall("RealPoint")} == {"hold"}
    signature = project.find("Arrangement/TimeSignatureAutomation")
    assert signature.find("Target").get("parameter") == project.find("Transport/TimeSignature").get("id")
    meters = [(float(p.get("time")), int(p.get("numerator")), int(p.get("denominator")))
              for p in signature.findall("TimeSignaturePoint")]
    assert meters == [(0.0, 4, 4), (pytest.approx(1.0 + 2 * 60 / 90), 3, 4)]
    assert float(project.find("Transport/Tempo").get("value")) == 120.0


def test_markers_keep_names_times_colours_and_kinds(job: ExportJob, tmp_path: Path) -> None:
    project, _ = _open(write_dawproject(job, DeliveryFolder(tmp_path))[0])
    markers = project.findall("Arrangement/Markers/Marker")
    expected = sorted(job.markers, key=lambda m: m.time)
    assert [m.get("name") for m in markers] == [m.name for m in expected]
    assert [float(m.get("time")) for m in markers] == pytest.approx([m.time for m in expected], abs=1e-9)
    assert [m.get("comment") for m in markers] == [m.kind for m in expected]
    colours = {m.get("name"): m.get("color") for m in markers}
    assert colours["Intro"] == "#3366ff" and colours["client note"] == "#00cc66"


def test_without_markers_it_still_validates(job: ExportJob, tmp_path: Path, schemas) -> None:
    (path,) = write_dawproject(replace(job, markers=()), DeliveryFolder(tmp_path))
    project, _ = _open(path)
    schemas["Project"].assertValid(project)
    assert project.find("Arrangement/Markers") is None
