"""How the video steers MusicGen without a trained adapter: mood and energy words in the
prompt, and a melody/rhythm guide whose chroma MusicGen-melody is conditioned on."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from expotion_engine.engines.musicgen.guide import chroma, render_guide, simple_guide, to_rate
from expotion_engine.engines.musicgen.prompt import compose_prompt, mood_words
from expotion_engine.types import GenerationRequest
from tests.factories import make_control_track


@pytest.mark.parametrize(
    ("energy", "valence", "expected"),
    [
        (0.9, 0.6, "energetic, joyful, upbeat, fast tempo"),
        (0.8, -0.5, "intense, tense, dramatic, fast tempo"),
        (0.2, 0.4, "calm, warm, hopeful, slow tempo"),
        (0.4, -0.7, "sad, melancholic, gentle, medium tempo"),
    ],
)
def test_mood_words_follow_energy_and_valence(energy: float, valence: float, expected: str) -> None:
    assert mood_words(make_control_track(4.0, energy=energy, valence=valence)) == expected


def test_trend_and_hits_add_words_and_windows_get_their_own_words() -> None:
    rising = make_control_track(8.0, energy=lambda t: t / 8.0, valence=0.3, hits=(4.5, 5.0, 5.5, 6.0, 7.0))
    assert mood_words(rising, 0.0, 4.0) == "calm, warm, hopeful, slow tempo, building"
    assert mood_words(rising, 4.0, 8.0) == "energetic, joyful, upbeat, fast tempo, building, with strong accents"
    assert compose_prompt("solo cello, ", rising, 0.0, 4.0) == "solo cello, calm, warm, hopeful, slow tempo, building"
    silent = rising.select(("valence",))
    assert mood_words(silent) == "" and compose_prompt("solo cello", silent) == "solo cello"


def test_chroma_finds_the_pitch_class_of_each_tone() -> None:
    rate = 32000
    t = np.arange(4 * rate) / rate
    a4, c4 = np.sin(2 * np.pi * 440.0 * t), np.sin(2 * np.pi * 261.63 * t)
    frames = chroma(np.where(t < 2.0, a4, c4)[None].astype(np.float32), rate)
    assert frames.shape == (1 + 4 * rate // 4096, 12) and bool((frames.sum(-1) == 1).all())
    classes = frames.argmax(-1).numpy()
    assert (classes[2:13] == 9).all() and (classes[18:-2] == 0).all()  # A, then C (C = 0)


@pytest.mark.parametrize(("energy", "notes_per_second"), [(0.1, 77 / 60), (0.9, 2 * 133 / 60)])
def test_built_in_guide_plays_faster_and_busier_for_higher_energy(energy: float, notes_per_second: float) -> None:
    """70 + 70 * energy beats per minute, two notes a beat from energy 0.5 up (onsets found by librosa)."""
    rate = 32000
    guide = simple_guide(make_control_track(8.0, energy=energy), rate)
    assert guide.shape == (1, 8 * rate) and np.abs(guide).max() == pytest.approx(0.8, abs=1e-3)
    onsets = librosa.onset.onset_detect(y=guide[0], sr=rate, units="time")
    assert len(onsets) / 8.0 == pytest.approx(notes_per_second, rel=0.1)


def test_render_guide_falls_back_to_the_built_in_one_and_resamples() -> None:
    request = GenerationRequest(controls=make_control_track(2.0, energy=0.6), seed=3)
    audio, source = render_guide(request, 32000, "built-in")
    assert source == "built-in" and audio.shape == (1, 64000)

    def custom(req: GenerationRequest, progress: object, cancel: object) -> tuple[np.ndarray, int]:
        return np.stack([simple_guide(req.controls, 48000)[0]] * 2), 48000

    audio, source = render_guide(request, 32000, renderer=custom)
    assert source == "custom" and audio.shape == (1, 64000)
    np.testing.assert_allclose(audio, to_rate(simple_guide(request.controls, 48000), 48000, 32000), atol=1e-6)
