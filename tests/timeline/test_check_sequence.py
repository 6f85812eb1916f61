"""``expotion check`` reads the editor's round-trip sequence (``<title>_sequence.*``) of a delivery: every file it
refers to exists (the editor's shots too, wherever the delivery folder is) and its score tracks play the mix once
at the music's timecode; its own start and markers stay the editor's."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.types import Stem, Take, TempoChange, TempoMap
from studio.export import ExportJob, export_delivery
from studio.export.check import check_delivery
from studio.timeline import read_timeline
from studio.timeline.deliver import ROUNDTRIP, ScoreTrack, deliver_roundtrip
from tests.timeline.build import build_timeline, write_timeline

RATE = 48000
FPS = 25.0
#: the scored range: the music starts 10 frames into the sequence (01:00:00:10)
IN, OUT = 10, 100


def _take() -> Take:
    """The scored range's take: two stems of noisy tones (no two frames alike) and their sum."""
    n = round((OUT - IN) / FPS * RATE)
    rng = np.random.default_rng(3)
    t = np.arange(n) / RATE
    stems = []
    for name, hz in (("pad", 220.0), ("bass", 55.0)):
        tone = (0.15 * np.sin(2 * np.pi * hz * t) + 0.02 * rng.standard_normal(n)).astype(np.float32)
        stems.append(Stem(name, np.stack([tone, tone])))
    return Take(engine="procedural", sample_rate=RATE, mix=stems[0].audio + stems[1].audio, stems=tuple(stems),
                tempo_map=TempoMap(tempos=(TempoChange(0.0, 120.0),)), markers=(), request={}, seed=1)


def _delivery(adapter: str, tmp_path: Path, shots: list[Path]) -> Path:
    """A delivery of the take at 01:00:00:10 and the sequence (in ``tmp_path/editor``, beside its shots, which it
    names by relative URLs) with the score laid in, as ``expotion score TIMELINE`` writes them."""
    editor = tmp_path / "editor"
    editor.mkdir()
    for shot in shots:
        shutil.copy(shot, editor / shot.name)
    built = write_timeline(build_timeline([editor / s.name for s in shots], FPS), editor, adapter, FPS)
    timeline = replace(read_timeline(built.path), in_frame=IN, out_frame=OUT)
    job = ExportJob(take=_take(), title="scene", timecode_start=3600.0 + IN / FPS, fps=FPS)
    out = tmp_path / "delivery"
    export_delivery(job, out, ["audio"])
    tracks = [ScoreTrack("Mix", out / job.mix_file)] + [
        ScoreTrack(s.name, out / job.stem_file(s.name), enabled=False) for s in job.take.stems]
    deliver_roundtrip(timeline, tracks, out, job.title)
    return out


def _results(folder: Path) -> dict[str, tuple[bool, str]]:
    return {r.name: (r.passed, r.detail) for r in check_delivery(folder)}


@pytest.mark.parametrize("adapter", ["otio_json", "fcp_xml", "fcpx_xml"])
def test_the_editors_sequence_is_checked_and_finds_its_shots_from_the_delivery_folder(
        adapter: str, tmp_path: Path, shots_25: list[Path]) -> None:
    out = _delivery(adapter, tmp_path, shots_25)
    name = f"scene_sequence{ROUNDTRIP[adapter][1]}"
    results = _results(out)
    assert all(passed for passed, _ in results.values()), results
    passed, detail = results["timeline audio"]
    assert re.search(rf"{re.escape(name)} (-inf|-\d{{3}}\.\d) dB", detail), detail  # the mix once, in place
    assert "refers to" not in results["paths"][1]  # its shots (by relative URLs) and the score (absolute) found
    again = read_timeline(out / name)
    assert [c.media for c in again.clips] == [(tmp_path / "editor" / s.name).resolve() for s in shots_25]


def test_a_sequence_whose_score_is_a_frame_late_or_plays_twice_fails(tmp_path: Path, shots_25: list[Path]) -> None:
    out = _delivery("fcp_xml", tmp_path, shots_25)
    sequence = out / "scene_sequence.xml"
    text = sequence.read_text()
    late = re.sub(r"(<clipitem id=\"expotion-clipitem-1\">.*?<start>)10(</start>)", r"\g<1>11\2", text, flags=re.S)
    assert late != text
    sequence.write_text(late)
    passed, detail = _results(out)["timeline audio"]
    assert not passed and "scene_sequence.xml plays scene_mix.wav: " in detail, detail
    assert "scene.otio" not in detail

    sequence.write_text(text.replace("<enabled>FALSE</enabled>", "<enabled>TRUE</enabled>"))  # the stems on
    results = _results(out)
    passed, detail = results["timeline audio"]
    assert not passed and "scene_sequence.xml plays scene_mix.wav, scene_pad.wav, scene_bass.wav" in detail, detail
    assert results["timecode"][0] and results["markers"][0]  # the sequence's start and markers are the editor's


@pytest.mark.parametrize("adapter", ["otio_json", "fcp_xml", "fcpx_xml"])
def test_a_round_trip_of_a_round_trip_plays_the_new_score_once(adapter: str, tmp_path: Path,
                                                                shots_25: list[Path]) -> None:
    out = _delivery(adapter, tmp_path, shots_25)
    first = out / f"scene_sequence{ROUNDTRIP[adapter][1]}"
    again = replace(read_timeline(first), in_frame=IN, out_frame=OUT)  # the editor asked for another score
    tracks = [ScoreTrack("Mix", out / "scene_mix.wav")] + [
        ScoreTrack(name, out / "scene_stems" / f"scene_{name}.wav", enabled=False) for name in ("pad", "bass")]
    deliver_roundtrip(again, tracks, out, "scene", force=True)
    passed, detail = _results(out)["timeline audio"]
    assert passed and re.search(rf"{re.escape(first.name)} (-inf|-\d{{3}}\.\d) dB", detail), detail
