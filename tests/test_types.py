"""Value types: TempoMap arithmetic, ControlTrack and Take files round-trip exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from expotion_engine.errors import ControlError
from expotion_engine.types import ControlTrack, Marker, MeterChange, Note, Stem, Take, TempoChange, TempoMap
from tests.factories import make_control_track


def test_tempo_map_integrates_piecewise_tempo() -> None:
    tempo = TempoMap((TempoChange(0.0, 120.0), TempoChange(4.0, 60.0)))
    assert tempo.beat_at(4.0) == pytest.approx(8.0)
    assert tempo.beat_at(6.0) == pytest.approx(10.0)
    assert tempo.time_at(9.0) == pytest.approx(5.0)
    assert tempo.seconds_to_ticks(5.0, ppq=480) == 9 * 480
    for t in np.linspace(0.0, 12.0, 37):
        assert tempo.time_at(tempo.beat_at(t)) == pytest.approx(t)


def test_tempo_map_downbeats_follow_meter_changes() -> None:
    tempo = TempoMap((TempoChange(0.0, 120.0),), (MeterChange(0.0, 4, 4), MeterChange(4.0, 3, 4)), anchor=0.0)
    np.testing.assert_allclose(tempo.downbeat_times(7.0), [0.0, 2.0, 4.0, 5.5, 7.0])


def test_tempo_map_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="BPM"):
        TempoMap((TempoChange(0.0, 0.0),))
    with pytest.raises(ValueError, match="Time signature"):
        TempoMap.constant(120, 4, 5)


def test_control_track_round_trips(tmp_path) -> None:
    track = make_control_track(4.0, energy=lambda t: t / 4.0, hits=[1.0, 2.5])
    path = track.save(tmp_path / "controls.npz")
    loaded = ControlTrack.load(path)
    np.testing.assert_array_equal(loaded.values, track.values)
    np.testing.assert_array_equal(loaded.mask, track.mask)
    assert loaded.channels == track.channels
    assert loaded.markers == track.markers
    assert loaded.source == track.source
    assert json.loads(path.with_suffix(".json").read_text())["format"] == "expotion.controltrack"


def test_control_track_load_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(ControlError, match="not found"):
        ControlTrack.load(tmp_path / "missing.npz")
    track = make_control_track(1.0)
    path = track.save(tmp_path / "c.npz")
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["version"] = 99
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ControlError, match="newer"):
        ControlTrack.load(path)
    path.write_bytes(b"garbage")
    meta["version"] = 1
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ControlError, match="c.npz"):
        ControlTrack.load(path)


def test_take_round_trips(tmp_path) -> None:
    sr, n = 48000, 48000
    rng = np.random.default_rng(0)
    stems = (
        Stem("bass", rng.standard_normal((2, n)).astype(np.float32) * 0.1, (Note(36, 0.0, 0.5, 100),)),
        Stem("drums", rng.standard_normal((2, n)).astype(np.float32) * 0.1),
    )
    take = Take(
        engine="test", sample_rate=sr, mix=stems[0].audio + stems[1].audio, stems=stems,
        tempo_map=TempoMap.constant(100.0), markers=(Marker(0.5, "hit 1", "hit"),),
        request={"prompt": "x"}, seed=3, timings={"render": 0.1},
    )
    loaded = Take.load(take.save(tmp_path / "take"))
    np.testing.assert_array_equal(loaded.mix, take.mix)
    np.testing.assert_array_equal(loaded.stem("bass").audio, stems[0].audio)
    assert loaded.stem("bass").notes == stems[0].notes
    assert loaded.tempo_map == take.tempo_map
    assert loaded.markers == take.markers
    assert not list((tmp_path / "take").glob("*.part"))
