"""Prompt words map onto the arrangement; unknown words are reported, never an error."""

from __future__ import annotations

import pytest

from expotion_engine.engines.procedural.prompt import parse_prompt


def test_tempo_genre_instrument_and_exclusion_words() -> None:
    words = parse_prompt("Slow cinematic strings, no drums, 120 BPM please")
    assert words.bpm == 120.0
    assert words.tempo_factor == pytest.approx(0.75)
    assert words.genre == "cinematic"
    assert words.instruments == {"harmony": "strings"}
    assert words.excluded == {"drums"}
    assert {"slow", "cinematic", "strings", "no drums", "120bpm"} <= set(words.used)
    assert words.ignored == ()


def test_unknown_words_are_ignored_and_reported() -> None:
    words = parse_prompt("a zorbly quux track with piano")
    assert words.ignored == ("zorbly", "quux")
    assert words.instruments == {"harmony": "piano"}
    assert words.report()["ignored"] == ["zorbly", "quux"]


@pytest.mark.parametrize("text", ["lo-fi", "lo fi", "LoFi chill"])
def test_lofi_spellings(text: str) -> None:
    assert parse_prompt(text).genre == "lofi"


def test_mood_words_shift_valence_and_energy() -> None:
    happy, sad = parse_prompt("happy energetic"), parse_prompt("sad calm")
    assert happy.valence_shift > 0 > sad.valence_shift
    assert happy.energy_shift > 0 > sad.energy_shift


def test_piano_solo_is_a_solo_arrangement() -> None:
    words = parse_prompt("piano solo")
    assert words.genre == "solo" and words.solo == "piano"


def test_empty_and_odd_prompts_do_not_fail() -> None:
    assert parse_prompt("").used == ()
    assert parse_prompt("!!! 9999 bpm ???").bpm is None
