"""The round-trip sequence in a delivery folder is recorded like the formats' files: the delivery's manifest names
it and its guide lists it, so a re-delivery of another take that writes no sequence removes it (and never a
user's own file), and the same take delivered again with its sequence lists it once."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.types import Stem, Take, TempoChange, TempoMap
from studio.export import ExportJob, ExportSettings, export_delivery
from studio.export.check import check_delivery
from studio.export.manifest import read_manifest
from studio.export.readme import listed_files
from studio.timeline import Timeline, read_timeline
from studio.timeline.deliver import SEQUENCE, ScoreTrack, deliver_roundtrip
from tests.timeline.build import build_timeline, write_timeline

RATE = 48000
FORCE = ExportSettings(force=True)


def _take(seed: int, hz: float) -> Take:
    """A two-second take: a tone at ``hz`` as its one stem and its mix."""
    tone = (0.2 * np.sin(2 * np.pi * hz * np.arange(2 * RATE) / RATE)).astype(np.float32)
    audio = np.stack([tone, tone])
    return Take(engine="procedural", sample_rate=RATE, mix=audio, stems=(Stem("pad", audio),),
                tempo_map=TempoMap(tempos=(TempoChange(0.0, 120.0),)), markers=(), request={}, seed=seed)


@pytest.fixture
def timeline(tmp_path: Path, shots_25: list[Path]) -> Timeline:
    """The three-shot sequence (OpenTimelineIO) beside copies of its shots in ``tmp_path``."""
    for shot in shots_25:
        shutil.copy(shot, tmp_path / shot.name)
    built = write_timeline(build_timeline([tmp_path / s.name for s in shots_25], 25.0), tmp_path, "otio_json", 25.0)
    return read_timeline(built.path)


def _deliver_with_sequence(job: ExportJob, timeline: Timeline, out: Path) -> Path:
    """The delivery as ``expotion score`` of a timeline writes it: the formats, then the sequence."""
    export_delivery(job, out, ["audio"])
    return deliver_roundtrip(timeline, [ScoreTrack("Mix", out / job.mix_file)], out, job.title,
                             force=job.settings.force)


def test_a_re_delivery_without_the_sequence_removes_it_and_keeps_the_users_file(timeline: Timeline,
                                                                                 tmp_path: Path) -> None:
    out = tmp_path / "delivery"
    job = ExportJob(take=_take(1, 220.0), title="scene")
    sequence = _deliver_with_sequence(job, timeline, out)
    assert sequence == out / "scene_sequence.otio"
    manifest = read_manifest(out)
    assert manifest is not None and manifest.files[SEQUENCE] == (sequence.name,)
    assert sequence.name in listed_files(out / "scene_README.txt")
    paths = next(r for r in check_delivery(out) if r.name == "paths")
    assert paths.passed, paths.detail
    (out / "notes.txt").write_text("call the client")

    export_delivery(replace(job, take=_take(2, 330.0), settings=FORCE), out, ["audio"])
    assert not sequence.exists()
    assert (out / "notes.txt").read_text() == "call the client"
    manifest = read_manifest(out)
    assert manifest is not None and sequence.name not in manifest.paths()
    assert sequence.name not in listed_files(out / "scene_README.txt")


def test_the_same_take_delivered_again_with_its_sequence_lists_it_once(timeline: Timeline, tmp_path: Path) -> None:
    out = tmp_path / "delivery"
    job = ExportJob(take=_take(1, 220.0), title="scene")
    sequence = _deliver_with_sequence(job, timeline, out)
    first = (out / "scene_README.txt").read_text()
    assert _deliver_with_sequence(replace(job, settings=FORCE), timeline, out) == sequence
    assert (out / "scene_README.txt").read_text() == first
    assert listed_files(out / "scene_README.txt").count(sequence.name) == 1
    manifest = read_manifest(out)
    assert manifest is not None and manifest.files[SEQUENCE] == (sequence.name,)
    paths = next(r for r in check_delivery(out) if r.name == "paths")
    assert paths.passed, paths.detail
