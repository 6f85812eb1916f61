"""Mode from valence, diatonic chords with tension, smooth voice leading."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.harmony import (
    CADENCE_DEGREE,
    CHARACTERISTIC,
    MODE_LADDER,
    MODES,
    bar_symbols,
    build_chord,
    choose_tonic,
    fifths_position,
    mode_for_valence,
    parse_tonic,
    progression,
    scale_pcs,
    voice,
)

BRIGHTNESS = [m for m, _ in MODE_LADDER]


def test_brighter_modes_for_positive_valence() -> None:
    modes = [mode_for_valence(v) for v in np.linspace(-1, 1, 41)]
    ranks = [BRIGHTNESS.index(m) for m in modes]
    assert ranks == sorted(ranks, reverse=True)
    assert mode_for_valence(0.9) == "lydian" and mode_for_valence(-0.9) == "phrygian"
    assert mode_for_valence(0.5) == "major" and mode_for_valence(-0.4) == "minor"
    assert mode_for_valence(0.9, ("dorian", "minor")) == "dorian"


@pytest.mark.parametrize("name,pc", [("C", 0), ("eb", 3), ("F#", 6), ("Bb", 10)])
def test_parse_tonic(name: str, pc: int) -> None:
    assert parse_tonic(name) == pc


def test_parse_tonic_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a key name"):
        parse_tonic("H")


def test_tension_adds_sevenths_and_ninths() -> None:
    calm = build_chord(2, "major", 3, 0.2, 0, 4)
    tense = build_chord(2, "major", 3, 0.9, 0, 4)
    assert calm.tones == (7, 11, 2) and calm.symbol == "G"
    assert tense.tones == (7, 11, 2, 6, 9) and tense.symbol == "Gmaj7add9"
    home = build_chord(2, "major", 0, 0.95, 0, 4)
    assert home.tones == (2, 6, 9) and home.symbol == "D"  # the tonic stays a plain triad: the key stays clear
    dominant = build_chord(9, "minor", 4, 0.6, 0, 4, dominant=True)
    assert dominant.tones[:2] == (4, 8) and dominant.symbol == "E7"


def test_progression_is_diatonic_and_cadences_home() -> None:
    rng = np.random.default_rng(0)
    chords = progression(7, "major", np.full(12, 0.4), 4, 12, 10, rng)
    scale = set(scale_pcs(7, "major"))
    assert all(set(c.tones) <= scale for c in chords)
    assert chords[0].degree == 0 and chords[-1].degree == 0
    assert [c.degree for c in chords if c.start_beat == 9 * 4] == [4]


def test_voice_leading_moves_little_and_keeps_chord_tones() -> None:
    rng = np.random.default_rng(1)
    chords = progression(0, "major", np.full(8, 0.6), 4, 8, 7, rng)
    previous = None
    moves = []
    for chord in chords:
        voicing = voice(chord.tones, previous, 50, 79, 4, 64)
        assert {p % 12 for p in voicing} <= set(chord.tones)
        assert {chord.tones[0], chord.tones[1]} <= {p % 12 for p in voicing}
        if previous:
            moves.append(sum(abs(a - b) for a, b in zip(voicing, previous, strict=True)))
        previous = voicing
    assert max(moves) <= 10 and np.mean(moves) <= 6


def _bars(chords, n_bars: int) -> list[tuple[int, ...]]:
    return [tuple(c.degree for c in chords if bar * 4 <= c.start_beat < bar * 4 + 4) for bar in range(n_bars)]


@pytest.mark.parametrize("mode", list(MODES))
def test_progression_moves_every_eight_bars_and_cadences_at_section_ends(mode: str) -> None:
    n_bars, cadence = 34, 32
    sections = (0, 2, 14, 26)
    chords = progression(5, mode, np.full(n_bars, 0.4), 4, n_bars, cadence, np.random.default_rng(3), sections)
    bars = _bars(chords, n_bars)
    blocks = [tuple(bars[b:b + 4]) for b in range(0, cadence - 3, 4)]
    assert all(blocks[k] != blocks[k + 1] or blocks[k + 1] != blocks[k + 2] for k in range(len(blocks) - 2))
    assert len(set(blocks)) >= 4
    for start in sections[2:]:  # a section of four bars or more opens on the tonic after the cadence chord
        assert bars[start][0] == 0 and bars[start - 1] == (CADENCE_DEGREE[mode],)
    assert bars[cadence - 1] == (CADENCE_DEGREE[mode],) and bars[cadence] == (0,)
    degrees = [d for bar in bars for d in bar]
    assert degrees.count(0) >= len(degrees) / 4  # the tonic is established
    assert CHARACTERISTIC[mode] in degrees  # and the mode's colour is heard


def test_short_sections_do_not_break_the_phrase() -> None:
    chords = progression(0, "major", np.full(8, 0.4), 4, 8, 7, np.random.default_rng(0), (0, 1, 3, 5))
    bars = _bars(chords, 8)
    assert bars[0] == (0,) and bars[6] == (CADENCE_DEGREE["major"],) and bars[7] == (0,)
    assert [b for b in bars[1:5]].count((CADENCE_DEGREE["major"],)) <= 1


def test_bar_symbols_join_split_bars() -> None:
    chords = progression(0, "major", np.full(4, 0.9), 4, 4, 3, np.random.default_rng(2))
    symbols = bar_symbols(chords, 4, 4)
    assert len(symbols) == 4 and symbols[-1] == "C"
    assert "/" in symbols[1] or len([c for c in chords if 4 <= c.start_beat < 8]) == 1


def test_key_choice_follows_valence_along_the_circle_of_fifths() -> None:
    tonics = (0, 2, 4, 5, 7, 9, 10, 3)
    bright = [choose_tonic(0.9, tonics, np.random.default_rng(s)) for s in range(200)]
    dark = [choose_tonic(-0.9, tonics, np.random.default_rng(s)) for s in range(200)]
    assert np.mean([fifths_position(t) for t in bright]) > np.mean([fifths_position(t) for t in dark]) + 2
    assert len(set(bright)) >= 3 and len(set(dark)) >= 3  # a choice, not one key per valence
    assert set(bright) | set(dark) <= set(tonics)
