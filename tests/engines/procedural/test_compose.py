"""The composition (Score notes, tempo map, markers, report) follows the controls, prompt, preset and seed."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.compose import compose
from expotion_engine.engines.procedural.harmony import MODES, NOTE_NAMES, parse_tonic
from expotion_engine.engines.procedural.parts.context import END_MARGIN_S
from expotion_engine.engines.procedural.score import Score
from expotion_engine.engines.procedural.sections import SECTION_NAMES
from expotion_engine.errors import EngineError, PresetError
from expotion_engine.types import GenerationRequest, Marker
from studio.presets import load_preset
from tests.factories import make_control_track

POP = load_preset("upbeat-pop").table


def _score(energy=0.5, valence=0.3, hits=(), prompt="", preset=POP, seed=5, duration=10.0, **kw) -> Score:
    track = make_control_track(duration, energy=energy, valence=valence, hits=hits, seed=seed)
    return compose(GenerationRequest(controls=track, prompt=prompt, preset=preset, seed=seed, **kw))


def _onsets_per_second(score: Score) -> float:
    starts = {round(n.start, 3) for p in score.parts for n in p.notes}
    return len(starts) / score.duration


@pytest.fixture(scope="module")
def calm() -> Score:
    return _score(energy=0.15)


@pytest.fixture(scope="module")
def excited() -> Score:
    return _score(energy=0.85)


def test_higher_energy_means_denser_louder_higher(calm: Score, excited: Score) -> None:
    assert _onsets_per_second(excited) > 2 * _onsets_per_second(calm)
    for name in ("drums", "bass", "harmony"):
        v_calm = np.mean([n.velocity for n in calm.part(name).notes if name != "drums" or n.pitch == 36])
        v_excited = np.mean([n.velocity for n in excited.part(name).notes if name != "drums" or n.pitch == 36])
        assert v_excited > v_calm + 10, name
    pitch = lambda s: np.mean([n.pitch for n in s.part("melody").notes])  # noqa: E731
    assert pitch(excited) > pitch(calm)


def test_density_follows_energy_within_a_take() -> None:
    score = _score(energy=lambda t: np.where(t < 6.0, 0.15, 0.9), duration=12.0)
    notes = [n for p in score.parts for n in p.notes]
    quiet = sum(1 for n in notes if 0.5 <= n.start < 5.5) / 5.0
    loud = sum(1 for n in notes if 6.5 <= n.start < 9.0) / 2.5
    assert loud > 2 * quiet


def test_deterministic_for_a_seed() -> None:
    a, b, c = _score(seed=11), _score(seed=11), _score(seed=12)
    notes = lambda s: [(p.name, p.notes) for p in s.parts]  # noqa: E731
    assert notes(a) == notes(b) and a.tempo_map == b.tempo_map and a.info == b.info
    assert notes(a) != notes(c)


def test_no_drums_prompt_drops_the_drum_part() -> None:
    score = _score(prompt="no drums, gentle piano")
    assert "drums" not in [p.name for p in score.parts]
    assert score.part("harmony").instrument == "piano"
    assert score.info["prompt"]["excluded"] == ["drums"]


def test_unknown_words_are_reported_not_fatal() -> None:
    score = _score(prompt="flibbertigibbet cinematic strings")
    assert score.info["prompt"]["ignored"] == ["flibbertigibbet"]
    assert score.info["style"] == "cinematic"
    assert score.part("harmony").instrument == "strings"


def test_tempo_words_and_overrides() -> None:
    assert _score(prompt="120 bpm").tempo_map.bpm_at(0.0) == 120.0
    assert _score(prompt="120 bpm", bpm=96.0).tempo_map.bpm_at(0.0) == 96.0
    slow = _score(prompt="slow", energy=0.5).info["bpm"]
    normal = _score(energy=0.5).info["bpm"]
    assert slow < 0.85 * normal
    with pytest.raises(EngineError, match="BPM"):
        _score(bpm=5000.0)


def test_motion_tempo_is_clamped_to_the_preset_range() -> None:
    preset = {**POP, "tempo": {**POP["tempo"], "min": 100.0, "max": 110.0}}
    fast = _score(energy=lambda t: 0.3 + 0.5 * np.exp(-((t * 150 / 60) % 1.0) / 0.08), preset=preset)
    assert 100.0 * 0.94 <= fast.info["bpm"] <= 110.0 * 1.06


@pytest.mark.parametrize("valence,bright", [(0.7, True), (-0.8, False)])
def test_key_and_mode_follow_valence(valence: float, bright: bool) -> None:
    preset = load_preset("documentary").table
    score = _score(valence=valence, preset=preset)
    assert score.mode in MODES
    assert (score.mode in ("lydian", "major", "mixolydian")) is bright
    tonic = parse_tonic(score.key)
    harmony = score.part("harmony").notes
    pcs = np.array([n.pitch % 12 for n in harmony])
    scale = {(tonic + i) % 12 for i in MODES[score.mode]}
    assert np.mean([p in scale for p in pcs]) > 0.85
    bass = score.part("bass").notes
    assert bass[-1].pitch % 12 == tonic


def test_hit_gets_an_accent_within_60_ms() -> None:
    hit = 4.62
    score = _score(hits=[hit], energy=0.5)
    for name in ("drums", "bass", "harmony"):
        accents = [n for n in score.part(name).notes if abs(n.start - hit) <= 0.06 and n.velocity >= 100]
        assert accents, name
    marker = [m for m in score.markers if m.kind == "hit"]
    assert [m.time for m in marker] == [hit]
    assert score.info["hit_fit"]["hits"] == 1


def test_cue_is_treated_like_a_hit() -> None:
    score = _score(cues=(Marker(6.3, "door slam", "cue"),))
    assert any(abs(n.start - 6.3) <= 0.06 and n.velocity >= 100 for n in score.part("drums").notes)


def test_hits_land_on_the_grid_and_are_reported() -> None:
    hits = [2.9, 5.1, 7.35]
    score = _score(hits=hits, energy=0.6, duration=12.0)
    report = score.info["hit_fit"]
    assert report["hits"] == 3 and report["hits_on_grid"] >= 2
    beats = score.tempo_map.beat_times(12.0)
    offsets = [np.min(np.abs(beats - h)) for h in hits]
    assert report["largest_offset_s"] == pytest.approx(max(offsets), abs=1e-4)
    assert sum(o <= 0.025 for o in offsets) == report["hits_on_grid"]


def test_sections_follow_sustained_energy() -> None:
    def energy(t):
        return np.interp(t, [0, 4, 8, 14, 18, 24], [0.15, 0.2, 0.5, 0.95, 0.9, 0.3])

    score = _score(energy=energy, duration=24.0)
    sections = [m for m in score.markers if m.kind == "section"]
    names = [m.name for m in sections]
    assert {n.removesuffix(" B") for n in names} <= set(SECTION_NAMES)
    assert names[0] == "intro" and names[-1] == "release" and "peak" in names
    peak = sections[names.index("peak")].time
    assert 8.0 <= peak <= 16.0
    downbeats = score.tempo_map.downbeat_times(24.0)
    assert all(np.min(np.abs(downbeats - m.time)) < 1e-6 for m in sections)
    assert [s["name"] for s in score.info["sections"]] == names


def test_musical_ending(excited: Score) -> None:
    end = max(n.end for p in excited.parts for n in p.notes)
    assert end <= excited.duration - END_MARGIN_S + 1e-9
    cadence = excited.info["cadence_time"]
    assert excited.duration - cadence >= 1.2 - 1e-9
    last_chord = [n for n in excited.part("harmony").notes if abs(n.start - cadence) < 0.01]
    tonic = parse_tonic(excited.key)
    assert tonic in {n.pitch % 12 for n in last_chord}
    assert all(n.end > cadence + 0.8 for n in last_chord)
    tempos = [c.bpm for c in excited.tempo_map.tempos]
    ritardando = POP["engine"]["ritardando"]  # pop's small one: the last bar and the held chord slow, nothing else
    assert tempos[-3:] == sorted(tempos[-3:], reverse=True)
    assert tempos[-1] == pytest.approx(tempos[0] * (1 - ritardando) * (1 - ritardando * 2 / 3), rel=1e-6)


def test_report_carries_key_mode_sections_prompt_and_fit(excited: Score) -> None:
    for key in ("key", "mode", "bpm", "sections", "prompt", "hit_fit", "chords", "seed", "style"):
        assert key in excited.info
    assert excited.key == excited.info["key"] and excited.mode == excited.info["mode"]


def test_bad_preset_in_request_is_a_preset_error() -> None:
    with pytest.raises(PresetError, match="tempo.min"):
        _score(preset={"tempo": {"min": "fast"}})


def test_every_builtin_preset_composes() -> None:
    from studio.presets import list_presets

    for preset in list_presets():
        score = _score(preset=preset.table, energy=0.6, duration=8.0, hits=[3.1])
        assert score.parts, preset.name
        assert all(n.end <= 8.0 for p in score.parts for n in p.notes)


def test_unknown_controls_fall_back_to_neutral() -> None:
    from dataclasses import replace

    track = make_control_track(8.0, energy=0.9, valence=0.9)
    masked = replace(track, mask=np.zeros_like(track.mask))
    score = compose(GenerationRequest(controls=masked, seed=1))
    assert score.info["mean_energy"] == 0.5 and score.info["valence"] == 0.0
    bare = compose(GenerationRequest(controls=track.select(["face_smile", "body_speed"]), seed=1))
    assert bare.parts and bare.info["tempo_source"] in ("motion", "energy")


def test_three_four_meter() -> None:
    score = _score(preset={"tempo": {"meter": 3}}, duration=9.0)
    assert score.info["meter"] == "3/4"
    assert score.tempo_map.meter_at(0.0).numerator == 3
    assert score.info["cadence_time"] == pytest.approx(score.tempo_map.time_at(3 * round(
        score.tempo_map.beat_at(score.info["cadence_time"]) / 3)))


@pytest.mark.parametrize("duration", [2.0, 3.3, 31.0])
def test_short_and_long_ranges_compose(duration: float) -> None:
    score = _score(duration=duration, hits=[duration * 0.4, duration * 0.41])
    assert all(n.end <= duration for p in score.parts for n in p.notes)
    assert score.info["sections"][0]["name"] == "intro"


def test_too_short_range_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="at least 2 s"):
        _score(duration=1.0)


def test_brightness_automation_follows_energy(calm: Score) -> None:
    score = _score(energy=lambda t: np.clip(t / 10.0, 0, 1), duration=10.0)
    curve = np.array(score.part("harmony").automation["brightness"].values)
    assert curve[-10] > curve[5] + 0.4
    assert "brightness" not in calm.part("harmony").automation


def test_the_preset_is_part_of_the_random_stream() -> None:
    renamed = {**POP, "name": "my-pop"}
    a, b = _score(seed=4), _score(seed=4, preset=renamed)
    assert a.part("melody").notes != b.part("melody").notes
    assert _score(seed=4).part("melody").notes == a.part("melody").notes


def test_key_comes_from_the_preset_tonics_and_the_valence() -> None:
    only_e = {**POP, "key": {**POP["key"], "tonics": ["E"]}}
    assert {_score(seed=s, preset=only_e).key for s in range(3)} == {"E"}
    wide = {**POP, "key": {**POP["key"], "tonics": ["Eb", "Bb", "F", "C", "G", "D", "A", "E"]}}
    sharps = [_score(seed=s, preset=wide, valence=0.9, duration=4.0).key for s in range(8)]
    flats = [_score(seed=s, preset=wide, valence=-0.9, duration=4.0).key for s in range(8)]
    assert sum(k in ("G", "D", "A", "E") for k in sharps) > sum(k in ("G", "D", "A", "E") for k in flats)
    with pytest.raises(PresetError, match="key.tonics"):
        _score(preset={**POP, "key": {**POP["key"], "tonics": ["H"]}})


def test_groove_has_a_backbeat_and_fills_not_one_kick_per_bar() -> None:
    score = _score(energy=lambda t: np.interp(t, [0, 10, 20], [0.4, 0.8, 0.5]), duration=20.0)
    drums, tempo_map = score.part("drums").notes, score.tempo_map
    bar_of = {n: int(tempo_map.beat_at(n.start) // 4) for n in drums}
    body = range(2, int(tempo_map.beat_at(score.info["cadence_time"]) // 4) - 1)
    for bar in body:
        pitches = [n.pitch for n in drums if bar_of[n] == bar]
        assert pitches.count(36) >= 2 and {38, 37} & set(pitches) and 42 in pitches, (bar, pitches)
    fills = [n for n in drums if n.pitch in (45, 47, 50)]
    assert fills  # toms close the sections
    kick_steps = {round(tempo_map.beat_at(n.start) % 4 * 4) for n in drums if n.pitch == 36}
    assert len(kick_steps) >= 3  # the kick pattern varies within the bar


def test_drum_pulse_is_on_the_beat() -> None:
    score = _score(energy=0.6, duration=16.0)
    tempo_map = score.tempo_map
    on = [n.velocity for n in score.part("drums").notes if n.pitch == 42 and tempo_map.beat_at(n.start) % 1 < 0.1]
    off = [n.velocity for n in score.part("drums").notes
           if n.pitch == 42 and 0.4 < tempo_map.beat_at(n.start) % 1 < 0.6]
    assert on and (not off or np.mean(off) < 0.75 * np.mean(on))


def test_a_long_even_take_still_has_form() -> None:
    score = _score(energy=0.55, valence=0.2, duration=60.0)
    sections = score.info["sections"]
    assert len(sections) >= 3 and any(s["name"].endswith(" B") for s in sections)
    bars = score.info["chord_bars"]
    blocks = {tuple(bars[i:i + 4]) for i in range(0, len(bars) - 4, 4)}
    assert len(blocks) >= 3


def test_bass_holds_the_tonic_under_the_intro_and_the_modal_chord() -> None:
    preset = {**POP, "key": {**POP["key"], "modes": ["dorian"]}}
    score = _score(preset=preset, energy=0.5, duration=30.0)
    tonic = parse_tonic(score.key)
    intro = [n for n in score.part("bass").notes if n.start < score.info["sections"][1]["start"]]
    assert intro and all(n.pitch % 12 == tonic for n in intro)
    tempo_map = score.tempo_map
    modal = [c for c in score.info["chord_bars"][:-3] if c.startswith(NOTE_NAMES[(tonic + 5) % 12])]
    assert modal  # the dorian IV appears
    for n in score.part("bass").notes:
        bar = int(tempo_map.beat_at(n.start) // 4)
        if score.info["chord_bars"][bar] == modal[0] and tempo_map.beat_at(n.start) % 4 < 0.1:
            assert n.pitch % 12 == tonic


def test_countermelody_moves_between_the_chords_in_the_peak() -> None:
    preset = load_preset("cinematic").table
    score = _score(preset=preset, energy=lambda t: np.interp(t, [0, 6, 30], [0.3, 0.85, 0.85]), duration=30.0, seed=2)
    tempo_map, bars = score.tempo_map, score.info["chord_bars"]
    peak = next(s for s in score.info["sections"] if s["name"].startswith("peak"))
    line = [n.pitch for n in score.part("harmony").notes if n.start >= peak["start"] and 57 <= n.pitch <= 71
            and abs(tempo_map.beat_at(n.start) % 4 - 2) < 0.1 and "/" not in bars[int(tempo_map.beat_at(n.start) // 4)]]
    assert len(line) >= 4 and len(set(line)) >= 3  # a line halfway through whole-bar chords, moving
