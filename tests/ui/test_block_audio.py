"""The app's waveforms and mixdowns of a take on disk, made block by block, equal those of the whole arrays.

The take's mix and four stems are float WAVs read through ``WavAudio`` (as a long take is
loaded); the same audio as arrays goes through the whole-array formulas written out here,
so the block boundaries (every :data:`~expotion_engine.audio_io.BLOCK` frames) must not show.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from expotion_engine.audio_io import BLOCK, WavAudio
from expotion_engine.types import Take
from studio.peaks import envelope
from studio.stem_mix import write_mixdown
from tests.robustness.long_takes import disk_take
from ui.mixdown import MixerState, mixed_take, render_mix
from ui.take_audio import write_mix_wav
from ui.waveform import compute_peaks

RATE = 16000
SECONDS = (2 * BLOCK + 4321) / RATE  # three blocks, the last one short and not whole buckets
STATE = MixerState().with_stem("drums", mute=True).with_stem("bass", gain_db=-6.0).with_stem("melody", gain_db=9.0)


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Take, Take]:
    """The take on disk and the same take with its audio loaded whole."""
    lazy = disk_take(tmp_path_factory.mktemp("take"), SECONDS, RATE)
    whole = replace(lazy, mix=np.asarray(lazy.mix), stems=tuple(replace(s, audio=np.asarray(s.audio))
                                                                    for s in lazy.stems))
    return lazy, whole


def whole_peaks(audio: np.ndarray, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    mono = audio.mean(axis=0)
    n = len(mono) // bucket * bucket
    frames = mono[:n].reshape(-1, bucket)
    return np.append(frames.min(axis=1), mono[n:].min()), np.append(frames.max(axis=1), mono[n:].max())


def whole_mixdown(take: Take, gains: dict[str, float]) -> np.ndarray:
    """The mixer's formula on the whole arrays: stems at their gains, made up to the mix's RMS, clipped."""
    unity = np.sum([s.audio.astype(np.float64) for s in take.stems], axis=0)
    out = np.sum([gains[s.name] * s.audio.astype(np.float64) for s in take.stems], axis=0)
    makeup = np.sqrt(np.mean(np.square(take.mix, dtype=np.float64))) / np.sqrt(np.mean(np.square(unity)))
    return np.clip(out * makeup, -1.0, 1.0)


def test_waveform_peaks_read_block_by_block_are_those_of_the_whole_array(takes: tuple[Take, Take]) -> None:
    lazy, whole = takes
    assert isinstance(lazy.mix, WavAudio) and lazy.n_samples > 2 * BLOCK
    for on_disk, in_memory in zip((lazy.mix, *(s.audio for s in lazy.stems)),
                                  (whole.mix, *(s.audio for s in whole.stems)), strict=True):
        peaks = compute_peaks(on_disk, RATE)
        low, high = whole_peaks(in_memory, peaks.bucket)
        assert np.array_equal(peaks.low, low) and np.array_equal(peaks.high, high)
        assert peaks.duration == pytest.approx(lazy.duration, abs=peaks.seconds_per_bucket)
    small = envelope(lazy.mix, 80, block=1000)  # blocks of 12 buckets
    assert all(np.array_equal(a, b) for a, b in zip(small, whole_peaks(whole.mix, 80), strict=True))


def test_the_player_s_mixdown_written_block_by_block_is_the_whole_mixdown(takes: tuple[Take, Take],
                                                                         tmp_path: Path) -> None:
    lazy, whole = takes
    gains = STATE.gains([s.name for s in lazy.stems])
    expected = whole_mixdown(whole, gains)
    assert np.max(np.abs(expected)) > 0.05
    np.testing.assert_allclose(render_mix(whole, STATE), expected, atol=1e-6)
    np.testing.assert_allclose(sf.read(write_mixdown(lazy, gains, tmp_path / "float.wav"), dtype="float64",
                                       always_2d=True)[0].T, expected, atol=1e-6)
    player, rate = sf.read(write_mix_wav(lazy, STATE, tmp_path / "player.wav"), dtype="float64", always_2d=True)
    assert rate == RATE and sf.info(str(tmp_path / "player.wav")).subtype == "PCM_16"
    np.testing.assert_allclose(player.T, expected, atol=1.01 / 32768)  # 16-bit: within one step
    neutral, _ = sf.read(write_mix_wav(lazy, MixerState(), tmp_path / "neutral.wav"), dtype="float64",
                         always_2d=True)
    np.testing.assert_allclose(neutral.T, whole.mix, atol=1.01 / 32768)  # unity strips play the take's own mix


def test_the_export_s_mixed_take_on_disk_equals_the_one_in_memory(takes: tuple[Take, Take]) -> None:
    lazy, whole = takes
    on_disk, in_memory = mixed_take(lazy, STATE), mixed_take(whole, STATE)
    assert on_disk.on_disk and not in_memory.on_disk
    assert [s.name for s in on_disk.stems] == [s.name for s in in_memory.stems] == ["bass", "harmony", "melody"]
    for a, b in zip(on_disk.stems, in_memory.stems, strict=True):
        assert np.array_equal(np.asarray(a.audio), b.audio)
    np.testing.assert_allclose(np.asarray(on_disk.mix), in_memory.mix, atol=1e-6)
    assert on_disk.info["mixer"] == STATE.to_dict()
