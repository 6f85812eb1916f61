"""Mode from valence, diatonic chords with tension, smooth voice leading."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.harmony import (
    MODE_LADDER,
    build_chord,
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
    home = build_chord(2, "major", 0, 0.9, 0, 4)
    assert home.tones == (2, 6, 9, 4) and home.symbol == "Dadd9"
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
