"""Audio-to-MIDI with basic-pitch: the notes of a synthesised melody come back."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.transcribe import add_notes, availability, transcribe
from expotion_engine.types import Stem

REASON = availability()
needs_basic_pitch = pytest.mark.skipif(REASON is not None, reason=f"basic-pitch cannot run here: {REASON}")

RATE = 32000
MELODY = [(60, 0.25), (62, 0.65), (64, 1.05), (67, 1.45), (65, 1.9), (64, 2.3), (62, 2.7), (57, 3.1), (72, 3.5)]


def render(melody: list[tuple[int, float]], length: float = 0.32) -> np.ndarray:
    """Plucked harmonic tones (three partials, 10 ms attack, gentle decay)."""
    out = np.zeros(int((melody[-1][1] + 1.0) * RATE), np.float32)
    t = np.arange(int(length * RATE)) / RATE
    envelope = np.minimum(1, t / 0.01) * np.exp(-t / 0.4) * np.minimum(1, (length - t) / 0.02)
    for pitch, start in melody:
        f = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(a * np.sin(2 * np.pi * f * k * t) for k, a in ((1, 1.0), (2, 0.5), (3, 0.25)))
        i = int(start * RATE)
        out[i:i + len(t)] += (0.3 * envelope * tone).astype(np.float32)
    return out


@pytest.fixture(scope="module")
def notes() -> tuple:
    if REASON is not None:
        pytest.skip(f"basic-pitch cannot run here: {REASON}")
    return transcribe(render(MELODY), RATE)


def test_every_note_found_with_pitch_and_onset_within_50_ms(notes: tuple) -> None:
    for pitch, start in MELODY:
        matches = [n for n in notes if n.pitch == pitch and abs(n.start - start) <= 0.05]
        assert matches, f"note {pitch} at {start} s not found in {notes}"
    assert len(notes) == len(MELODY), notes
    assert all(0.2 < n.end - n.start < 0.5 for n in notes)


@needs_basic_pitch
def test_pitched_stems_get_notes_and_drums_do_not() -> None:
    melody = render(MELODY[:4])
    noise = np.random.default_rng(0).standard_normal(len(melody)).astype(np.float32) * 0.01
    stems = [Stem("drums", noise[None], origin="dsp"), Stem("bass", melody[None], origin="dsp")]
    out, note = add_notes(stems, RATE)
    assert note is None
    assert out[0].notes == () and [n.pitch for n in out[1].notes] == [p for p, _ in MELODY[:4]]
    assert out[1].notes[0].program == 33 and out[1].info["notes_from"].startswith("basic-pitch")


def test_skipped_with_a_clear_note_where_the_model_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from expotion_engine.transcribe import basic_pitch

    def unavailable() -> None:
        raise basic_pitch.TranscriptionUnavailable("Audio-to-MIDI needs basic-pitch and onnxruntime (no module).")

    monkeypatch.setattr(basic_pitch, "_model", unavailable)
    stems = [Stem("bass", render(MELODY[:2])[None], origin="dsp")]
    out, note = add_notes(stems, RATE)
    assert out[0] is stems[0] and out[0].notes == ()
    assert note == "Audio-to-MIDI skipped: Audio-to-MIDI needs basic-pitch and onnxruntime (no module)."
