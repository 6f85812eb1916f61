"""Every preset's tempo map stays in its advertised range (widened by its max_bend) up to its ritardando, and the
ritardando stays within the preset's setting: dance keeps one steady tempo to the end, cinematic still slows."""

from __future__ import annotations

import pytest

from expotion_engine.engines.procedural.compose import compose
from expotion_engine.engines.procedural.fit import lowest_ending, tempo_band
from expotion_engine.engines.procedural.settings import validate_preset
from expotion_engine.errors import PresetError
from expotion_engine.types import GenerationRequest, TempoMap
from studio.presets import list_presets
from tests.engines.procedural.hit_tracks import control_track, synth_preset

#: irregular hits, strong and weak, none on any one tempo's grid; a 6 s clip (the social-media case) and a 20 s one
CLIPS = {
    "6s": (6.0, [(1.31, 0.9, "cut"), (2.87, 0.5, "motion"), (4.43, 0.85, "cut")], 104.0),
    "20s": (20.0, [(1.43, 0.9, "cut"), (2.71, 0.55, "motion"), (3.98, 1.0, "cut"), (5.62, 0.8, "expression"),
                   (7.09, 0.65, "motion"), (8.77, 0.95, "cut"), (11.2, 0.7, "cut"), (13.35, 0.9, "cut"),
                   (15.9, 0.6, "motion"), (17.6, 1.0, "cut")], 131.0),
}
PRESETS = [p.name for p in list_presets()]


def _map(preset: str, clip: str, seed: int = 1) -> tuple[TempoMap, float, dict]:
    duration, hits, pulse = CLIPS[clip]
    table = synth_preset(preset)
    score = compose(GenerationRequest(controls=control_track(duration, hits, pulse_bpm=pulse), preset=table,
                                      seed=seed))
    return score.tempo_map, float(score.info["cadence_time"]), validate_preset(table, preset)


def _last_bar_start(tempo_map: TempoMap, cadence_time: float) -> float:
    """Time the ritardando may start: one bar before the final cadence."""
    numerator = tempo_map.meters[0].numerator
    return tempo_map.time_at(round(tempo_map.beat_at(cadence_time)) - numerator)


@pytest.mark.parametrize("clip", sorted(CLIPS))
@pytest.mark.parametrize("preset", PRESETS)
def test_every_tempo_of_a_preset_lies_in_its_band(preset: str, clip: str) -> None:
    tempo_map, cadence, table = _map(preset, clip)
    engine, tempo = table["engine"], table["tempo"]
    low, high = tempo_band(tempo["min"], (tempo["min"], tempo["max"]), engine["max_bend"])
    rit_start = _last_bar_start(tempo_map, cadence)
    body = [c.bpm for c in tempo_map.tempos if c.time < rit_start - 1e-6]
    assert body or clip == "6s"  # a short slow take may be one bar into its cadence
    assert all(low - 1e-6 <= bpm <= high + 1e-6 for bpm in body), (low, high, body)
    floor = lowest_ending((low, high), engine["max_bend"], engine["ritardando"])
    assert all(floor - 1e-6 <= c.bpm <= high + 1e-6 for c in tempo_map.tempos), (floor, tempo_map.tempos)


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_dance_keeps_one_steady_tempo_in_its_range_to_the_end(clip: str) -> None:
    tempo_map, _, table = _map("dance", clip)
    tempi = {round(c.bpm, 6) for c in tempo_map.tempos}
    assert len(tempi) == 1, tempi
    assert table["tempo"]["min"] <= tempi.pop() <= table["tempo"]["max"]


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_a_cinematic_take_still_ends_in_a_ritardando(clip: str) -> None:
    tempo_map, cadence, table = _map("cinematic", clip)
    start = _last_bar_start(tempo_map, cadence)
    before = [c.bpm for c in tempo_map.tempos if c.time < start - 1e-6][-1]
    ending = [c.bpm for c in tempo_map.tempos if c.time >= start - 1e-6]
    assert table["engine"]["ritardando"] == pytest.approx(0.12)
    assert ending[-3:] == sorted(ending[-3:], reverse=True)
    assert 0.7 < ending[-1] / before < 0.85, (before, ending)


@pytest.mark.parametrize("value", [-0.05, 0.3, "slow"])
def test_a_ritardando_outside_its_range_is_refused(value) -> None:
    table = synth_preset("dance")
    table["engine"]["ritardando"] = value
    with pytest.raises(PresetError, match="ritardando"):
        validate_preset(table, "dance.toml")
