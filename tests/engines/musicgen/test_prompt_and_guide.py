"""How the video steers MusicGen without a trained adapter: mood and energy words in the
prompt, and a melody/rhythm guide whose chroma MusicGen-melody is conditioned on."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from expotion_engine.audio_io import ON_DISK_ABOVE_S, Spool
from expotion_engine.engines.musicgen.guide import chroma, procedural_guide, render_guide, simple_guide, to_rate
from expotion_engine.engines.musicgen.prompt import compose_prompt, mood_words
from expotion_engine.engines.procedural import ProceduralEngine
from expotion_engine.types import GenerationRequest, Take
from studio.presets import load_preset
from tests.factories import make_control_track
from tests.watch import Watch


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


def _pitched_mono(take: Take) -> np.ndarray:
    pitched = [np.asarray(s.audio) for s in take.stems if s.name not in ("drums", "percussion", "perc")]
    return np.sum(pitched, axis=0).mean(axis=0, keepdims=True)


def test_procedural_guide_is_the_engine_s_pitched_stems_in_mono(tmp_path: Path) -> None:
    request = GenerationRequest(controls=make_control_track(6.0, energy=0.7, valence=0.3, seed=2),
                                preset=load_preset("upbeat-pop").table, seed=5, sample_rate=16000)
    out = tmp_path / "out"
    out.mkdir()
    audio, rate = procedural_guide(request, spool=Spool(out))
    take = ProceduralEngine().generate(request)
    assert rate == 16000 and any(s.name == "drums" for s in take.stems)
    np.testing.assert_allclose(audio, _pitched_mono(take), atol=1e-6)
    assert list(out.iterdir()) == []  # a guide made in memory makes no spool folder


class _Watch(Watch):
    """Never fires; records, at every check, the files in the spool and in temp."""

    def __init__(self, spool: Path, system_temp: Path) -> None:
        super().__init__()
        self.spool, self.system_temp = spool, system_temp
        self.spooled: set[str] = set()
        self.temp: set[str] = set()

    def look(self) -> None:
        self.spooled |= {str(p.relative_to(self.spool)) for p in self.spool.rglob("*") if p.is_file()}
        self.temp |= {p.name for p in self.system_temp.rglob("*")}


@pytest.mark.slow
def test_a_long_procedural_guide_is_rendered_beside_the_output_and_removed_once_summed(
        tmp_path: Path, system_temp: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    seconds, rate = ON_DISK_ABOVE_S + 6.0, 8000
    request = GenerationRequest(controls=make_control_track(seconds, energy=0.6, valence=0.2, seed=4),
                                preset=load_preset("piano-solo").table, seed=3, sample_rate=rate)
    watch = _Watch(out, system_temp)
    audio, source = render_guide(request, rate, "procedural", cancel=watch, spool=Spool(out))
    assert source == "procedural" and audio.shape == (1, int(round(seconds * rate)))
    assert np.isfinite(audio).all() and float(np.sqrt(np.mean(audio**2))) > 1e-3
    assert any("/guide-" in name and "mix.wav" in name for name in watch.spooled)  # in the spool: the output's disk
    assert watch.temp == set() and list(system_temp.iterdir()) == []
    assert list(out.iterdir()) == []  # summed, then removed
