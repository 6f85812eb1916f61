"""Tempo maps of real MusicGen-based outputs agree with an independent onset-strength estimate.

Sample-rate assumption: every file is read at the rate its header states — 32 kHz for
``expotion_demo_chord-drums.wav`` (MusicGen's own rate) and 16 kHz for the three
``expotion_demo_video1_*`` files, whose true rate may be 32 kHz (see the folder's README).
At these rates every map tempo lies in 60-180 BPM, a plausible range, which is the
consistency check the README asks for; at twice the rate the same beats would be 2x faster.

The independent estimate is a spectral flux computed here with numpy alone (46 ms Hann
frames, 5 ms hop, ``log1p(100 |X|)``), not the tracker's librosa mel flux.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from expotion_engine.tempo import TempoAnalysis, analyze_tempo

AUDIO = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "audio"
FILES = {
    "expotion_demo_chord-drums.wav": 32000,
    "expotion_demo_video1_face.wav": 16000,
    "expotion_demo_video1_face-body.wav": 16000,
    "expotion_demo_video1_face-body-vid.wav": 16000,
}
# Files with one clear pulse: their tempo must also match the flux's autocorrelation.
STEADY = ("expotion_demo_chord-drums.wav", "expotion_demo_video1_face.wav")
FLUX_HOP_S = 0.005

pytestmark = pytest.mark.skipif(not AUDIO.is_dir(), reason=f"reference audio folder {AUDIO} is not present")


@cache
def load(name: str) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(AUDIO / name, dtype="float32", always_2d=True)
    return audio.T, rate


@cache
def analysis(name: str) -> TempoAnalysis:
    audio, rate = load(name)
    return analyze_tempo(audio, rate)


@cache
def flux(name: str) -> np.ndarray:
    """Independent onset strength: positive log-magnitude flux summed over bins, max 1."""
    audio, rate = load(name)
    mono = audio.mean(axis=0)
    size = int(2 ** round(np.log2(0.046 * rate)))
    hop = int(FLUX_HOP_S * rate)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(mono, (size // 2, size // 2)), size)[::hop]
    magnitude = np.log1p(100 * np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)))
    rise = np.maximum(0, np.diff(magnitude, axis=0, prepend=magnitude[:1])).sum(axis=1)
    return rise / rise.max()


def strength_at(envelope: np.ndarray, times: np.ndarray) -> float:
    """Mean of the envelope's maximum within ±30 ms of each time."""
    reach = int(0.03 / FLUX_HOP_S)
    idx = np.round(times / FLUX_HOP_S).astype(int)
    return float(np.mean([envelope[max(i - reach, 0): i + reach + 1].max() for i in idx]))


def test_files_are_read_at_the_assumed_rate() -> None:
    for name, rate in FILES.items():
        assert sf.info(AUDIO / name).samplerate == rate


@pytest.mark.parametrize("name", list(FILES))
def test_tempo_is_plausible_at_the_assumed_rate(name: str) -> None:
    result = analysis(name)
    music = [c.bpm for c in result.tempo_map.tempos if c.time >= result.beats[0] - 0.01]
    assert music and all(60 <= bpm <= 180 for bpm in music), music
    assert len(result.beats) >= 20


@pytest.mark.parametrize("name", list(FILES))
def test_map_beats_sit_on_independent_onsets(name: str) -> None:
    """The map's beats fall on stronger flux than the off-beats between them or random times."""
    result, envelope = analysis(name), flux(name)
    duration = len(envelope) * FLUX_HOP_S
    beats = result.tempo_map.beat_times(duration)
    beats = beats[(beats >= result.beats[0] - 0.01) & (beats < duration - 0.05)]
    on = strength_at(envelope, beats)
    off = strength_at(envelope, (beats[:-1] + beats[1:]) / 2)
    rng = np.random.default_rng(0)
    chance = np.mean([strength_at(envelope, rng.uniform(beats[0], beats[-1], len(beats))) for _ in range(20)])
    assert on > 1.05 * max(off, chance), f"on-beat {on:.3f}, off-beat {off:.3f}, random {chance:.3f}"


@pytest.mark.parametrize("name", STEADY)
def test_tempo_matches_the_flux_autocorrelation(name: str) -> None:
    envelope = flux(name) - flux(name).mean()
    correlation = np.correlate(envelope, envelope, mode="full")[len(envelope) - 1:]
    lags = np.arange(len(correlation)) * FLUX_HOP_S
    plausible = (lags >= 60 / 180) & (lags <= 60 / 60)
    independent = 60 / lags[plausible][np.argmax(correlation[plausible])]
    detected = 60 / np.median(np.diff(analysis(name).beats))
    assert detected == pytest.approx(independent, rel=0.05)


@pytest.mark.parametrize("name", list(FILES))
def test_no_bar_pattern_so_bar_one_is_the_first_beat(name: str) -> None:
    """These takes' beats vary with their position in a bar no more than chance (meter strength <= 0.02 against
    a chance level above 0.1), so the map claims no downbeat: 4/4 with bar 1 on the map beat of the first beat."""
    result = analysis(name)
    tempo_map = result.tempo_map
    assert "no bar pattern above chance" in result.info["note"]
    assert tempo_map.anchor == pytest.approx(tempo_map.time_at(round(tempo_map.beat_at(result.beats[0]))))
    assert tempo_map.meter_at(tempo_map.anchor).numerator == 4
