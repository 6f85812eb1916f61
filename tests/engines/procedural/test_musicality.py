"""Every preset heard as a listener would: a key finder and a beat tracker on the rendered audio, presets that
differ in their notes, a melody with a motif, one voice per monophonic part, and form over a minute."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from expotion_engine.engines.procedural import musicality as m
from expotion_engine.engines.procedural.compose import compose
from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.engines.procedural.harmony import parse_tonic
from expotion_engine.engines.procedural.score import Score
from expotion_engine.types import GenerationRequest, Take
from studio.presets import list_presets
from tests.factories import make_control_track

RATE = 22050
PRESETS = {p.name: p.table for p in list_presets()}


def _clip(duration: float) -> object:
    """Controls that move: a calm start, a swell, a dip and a second rise, with a few hits."""
    def energy(t: np.ndarray) -> np.ndarray:
        return np.interp(t / duration, [0, 0.15, 0.4, 0.55, 0.8, 1], [0.25, 0.35, 0.8, 0.45, 0.85, 0.4])

    def valence(t: np.ndarray) -> np.ndarray:
        return 0.3 * np.sin(2 * np.pi * t / duration)

    return make_control_track(duration, energy=energy, valence=valence,
                              hits=list(np.arange(4.3, duration - 3.0, 6.7)), seed=2)


@pytest.fixture(scope="module")
def takes() -> dict[str, tuple[Score, Take]]:
    """Each preset composed and rendered once (seed 1, 24 s, 22.05 kHz)."""
    controls = _clip(24.0)
    engine = ProceduralEngine()
    out = {}
    for name, table in PRESETS.items():
        request = GenerationRequest(controls=controls, preset=table, seed=1, sample_rate=RATE)
        out[name] = (engine.compose(request), engine.generate(request))
    return out


@pytest.fixture(scope="module")
def long_scores() -> dict[str, Score]:
    """Each preset composed (not rendered) on a minute of moving controls."""
    controls = _clip(60.0)
    return {name: compose(GenerationRequest(controls=controls, preset=table, seed=1))
            for name, table in PRESETS.items()}


def test_there_are_eight_presets() -> None:
    assert len(PRESETS) == 8


@pytest.mark.slow
def test_key_finder_hears_the_declared_tonic(takes) -> None:
    heard = {name: m.estimate_key(take.mix, RATE) for name, (_, take) in takes.items()}
    agree = [name for name, (score, _) in takes.items() if heard[name].tonic == parse_tonic(score.key)]
    assert len(agree) >= 7, {name: (takes[name][0].key, takes[name][0].mode, heard[name].name) for name in heard}


@pytest.mark.slow
def test_beat_tracker_hears_the_tempo_map(takes) -> None:
    tempos = {name: (m.estimate_tempo(take.mix, RATE), m.map_tempo(score.tempo_map, score.info["cadence_time"]))
              for name, (score, take) in takes.items()}
    agree = [name for name, (heard, expected) in tempos.items() if m.tempo_agrees(heard, expected)]
    assert len(agree) >= 7, tempos


def test_tempo_agreement_counts_octave_errors_as_misses() -> None:
    assert m.tempo_agrees(101.0, 100.0) and not m.tempo_agrees(105.0, 100.0)
    assert not m.tempo_agrees(200.0, 100.0) and not m.tempo_agrees(50.0, 100.0)


def test_presets_differ_for_the_same_seed(takes) -> None:
    notes = {name: m.note_set(score) for name, (score, _) in takes.items()}
    names = sorted(notes)
    shared = {(a, b): m.jaccard(notes[a], notes[b]) for i, a in enumerate(names) for b in names[i + 1:]}
    assert max(shared.values()) <= 0.30, max(shared.items(), key=lambda kv: kv[1])
    keys = {score.key for score, _ in takes.values()}
    assert len(keys) >= 3  # the key comes from the preset and the valence, not one key per seed


def test_melodic_presets_carry_a_line(takes, long_scores) -> None:
    for name, (score, _) in takes.items():
        assert m.notes_per_second(score) >= 1.0, name
        assert m.notes_per_second(long_scores[name]) >= 1.0, name


def test_monophonic_parts_never_overlap(takes, long_scores) -> None:
    for name in PRESETS:
        for score in (takes[name][0], long_scores[name]):
            for part in score.parts:
                if part.name in ("bass", "melody"):
                    assert m.overlaps(part.notes) == 0, (name, part.name)


def test_melody_states_varies_and_develops_a_motif(long_scores) -> None:
    for name, score in long_scores.items():
        tempo_map, bar = score.tempo_map, int(score.info["meter"][0])
        bars: dict[int, list] = {}
        for n in score.part("melody").notes:
            beat = round(tempo_map.beat_at(n.start) * 2) / 2  # on the eighth grid, humanising undone
            bars.setdefault(int(beat // bar), []).append((beat % bar, n.pitch))
        rhythms = Counter(tuple(o for o, _ in v) for v in bars.values() if len(v) >= 3)
        motif, count = rhythms.most_common(1)[0]
        assert count >= 3, name  # the motif's rhythm comes back
        shapes = {tuple(np.diff([p for _, p in v])) for v in bars.values() if tuple(o for o, _ in v) == motif}
        assert len(shapes) >= 2, name  # with its intervals varied
        pitches = [n.pitch for n in score.part("melody").notes]
        assert 7 <= max(pitches) - min(pitches) <= 24, name


def test_long_take_has_sections_with_different_textures(long_scores) -> None:
    for name, score in long_scores.items():
        assert len(score.info["sections"]) >= 3, name
        assert m.distinct_textures(score) >= 3, (name, m.section_textures(score))
        blocks = m.chord_blocks(score)
        assert blocks >= 3, (name, score.info["chord_bars"])


def test_harmony_moves_at_least_every_eight_bars(long_scores) -> None:
    for name, score in long_scores.items():
        bars, cadence = score.info["chord_bars"], score.tempo_map.beat_at(score.info["cadence_time"])
        n = int(round(cadence / int(score.info["meter"][0])))
        downbeats = score.tempo_map.downbeat_times(score.duration)
        harmony = score.part("harmony").notes
        centre = [np.median([p.pitch for p in harmony if downbeats[k] <= p.start < downbeats[min(k + 8, n)]])
                  for k in range(0, n - 8, 8)]
        for k in range(0, n - 16, 8):  # each eight bars change the progression or the register
            assert bars[k:k + 8] != bars[k + 8:k + 16] or abs(centre[k // 8] - centre[k // 8 + 1]) >= 2, name
        sections = [np.median([p.pitch for p in harmony if s["start"] <= p.start < s["start"] + 4])
                    for s in score.info["sections"]]
        assert max(sections) - min(sections) >= 3, (name, sections)  # the sections sit in different registers
