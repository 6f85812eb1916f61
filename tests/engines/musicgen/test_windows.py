"""Windowed generation: a range of 2.5 windows comes out to the sample, each window
continues the previous one's tokens, and the seams are inaudible: the stitched audio
matches a single decoding of the joined tokens there as everywhere else."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from expotion_engine.engines.musicgen.crossfade import correlation, crossfade
from expotion_engine.engines.musicgen.generate import Window, WindowSettings, generate_audio, plan_windows
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.engines.musicgen.sampling import SamplingSettings

# 1 s windows (50 frames) overlapping by 0.4 s: windows start every 0.6 s, so 1.9 s is
# two whole windows and half of a third.
WINDOWS = WindowSettings(window=1.0, overlap=0.4, crossfade=0.2)
SECONDS = 1.9


def test_plan_covers_the_range_with_overlapping_windows() -> None:
    assert plan_windows(95, 50, 20) == [Window(0, 50, 0), Window(30, 80, 20), Window(60, 95, 20)]
    assert plan_windows(50, 50, 20) == [Window(0, 50, 0)]
    assert plan_windows(7, 50, 20) == [Window(0, 7, 0)]


@pytest.mark.parametrize("seed", [2, 9])
def test_two_and_a_half_windows_have_the_right_length_and_seamless_joins(lm: LoadedModel, seed: int) -> None:
    n_samples = int(SECONDS * lm.sampling_rate) + 17  # not a whole number of EnCodec hops
    out = generate_audio(lm, ["calm piano"], n_samples, seed=seed, sampling=SamplingSettings(), windows=WINDOWS)
    assert out.audio.shape == (1, n_samples) and out.sample_rate == lm.sampling_rate
    assert [(w.start, w.stop, w.prompt) for w in out.windows] == [(0, 50, 0), (30, 80, 20), (60, 96, 20)]
    for i, window in enumerate(out.windows[1:], start=1):  # each window continues the last, not restarts
        assert torch.equal(out.codes[i][..., : window.prompt], out.codes[i - 1][..., -window.prompt :])
    new_frames = [c[..., w.prompt :] for c, w in zip(out.codes[1:], out.windows[1:], strict=True)]
    joined = torch.cat([out.codes[0], *new_frames], dim=-1)
    assert joined.shape[-1] == out.windows[-1].stop
    with torch.no_grad():
        whole = lm.model.audio_encoder.decode(joined[None], audio_scales=[None]).audio_values[0].numpy()
    whole = whole[:, :n_samples]
    level = float(np.sqrt(np.mean(whole**2)))
    assert level > 0.01
    hop, fade = lm.hop_length, int(WINDOWS.crossfade * lm.sampling_rate)
    for window in out.windows[1:]:
        start = window.start * hop + (window.prompt * hop - fade) // 2
        around = slice(start - fade, start + 2 * fade)  # the crossfade and as long again on each side
        error = out.audio[:, around] - whole[:, around]
        assert float(np.sqrt(np.mean(error**2))) < 0.01 * level  # 40 dB below the music
        assert float(np.max(np.abs(error))) < 0.05 * float(np.max(np.abs(whole[:, around])))


def test_equal_power_crossfade_keeps_the_level_of_correlated_and_uncorrelated_signals() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1, 48000)).astype(np.float32)
    for b, rho in ((a.copy(), 1.0), (rng.standard_normal((1, 48000)).astype(np.float32), 0.0)):
        assert correlation(a, b) == pytest.approx(rho, abs=0.02)
        mixed = crossfade(a, b)
        middle = mixed[:, 20000:28000]
        assert float(np.sqrt(np.mean(middle**2))) == pytest.approx(1.0, abs=0.05)
        np.testing.assert_allclose(mixed[:, :10], a[:, :10], atol=1e-3)
        np.testing.assert_allclose(mixed[:, -10:], b[:, -10:], atol=1e-3)
