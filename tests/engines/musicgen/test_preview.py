"""Preview: MusicGen hands out the take window by window while later windows are still
sampled, and the blocks it hands out are the take's mix, sample for sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr

from expotion_engine.engines.musicgen.engine import MusicgenEngine
from expotion_engine.engines.musicgen.generate import WindowSettings, generate_audio
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.engines.musicgen.sampling import SamplingSettings
from expotion_engine.engines.musicgen.streaming import StreamingMix
from expotion_engine.types import GenerationRequest
from tests.factories import make_control_track

WINDOWS = WindowSettings(window=1.0, overlap=0.4, crossfade=0.2)  # windows start every 0.6 s


class Recorder:
    """An ``on_audio`` callback that keeps the blocks and how many decoder steps had run when each came."""

    def __init__(self) -> None:
        self.steps = 0
        self.blocks: list[tuple[int, np.ndarray, int]] = []

    def step(self, fraction: float, message: str) -> None:
        if "tok/s" in message:
            self.steps += 1

    def __call__(self, start: int, block: np.ndarray) -> None:
        self.blocks.append((start, block, self.steps))

    def joined(self) -> np.ndarray:
        starts = [start for start, _, _ in self.blocks]
        ends = np.cumsum([0] + [block.shape[1] for _, block, _ in self.blocks])
        assert starts == list(ends[:-1])  # contiguous, in time order, from sample 0
        return np.concatenate([block for _, block, _ in self.blocks], axis=1)


def test_window_audio_arrives_before_the_next_window_is_sampled_and_is_the_result(lm: LoadedModel) -> None:
    n_samples = int(1.9 * lm.sampling_rate) + 17
    seen = Recorder()
    out = generate_audio(lm, ["calm piano"], n_samples, seed=3, sampling=SamplingSettings(), windows=WINDOWS,
                         progress=seen.step, on_audio=seen)
    assert len(seen.blocks) == len(out.windows) == 3
    assert [steps for _, _, steps in seen.blocks] == [53, 53 + 33, out.steps]  # after each window's own steps
    np.testing.assert_array_equal(seen.joined(), out.audio)
    plain = generate_audio(lm, ["calm piano"], n_samples, seed=3, sampling=SamplingSettings(), windows=WINDOWS)
    np.testing.assert_array_equal(plain.audio, out.audio)  # listening does not change the take
    # the first block ends where the second window's crossfade begins
    fade_start = 30 * lm.hop_length + (20 * lm.hop_length - int(0.2 * lm.sampling_rate)) // 2
    assert seen.blocks[0][1].shape[1] == fade_start


def test_engine_preview_blocks_are_the_takes_mix_at_its_rate(tiny_dir: Path) -> None:
    duration = 2.3
    request = GenerationRequest(controls=make_control_track(duration, energy=0.5, valence=0.5), prompt="warm piano",
                                seed=2, sample_rate=48000)
    engine = MusicgenEngine(model=str(tiny_dir), device="cpu", tempo=False, stems=False, window=1.0, overlap=0.4,
                            crossfade=0.2)
    seen = Recorder()
    take = engine.generate(request, progress=seen.step, on_audio=seen)
    total = seen.steps
    first_start, first, first_steps = seen.blocks[0]
    assert first_start == 0 and first.dtype == np.float32 and first.shape[0] == 2
    assert first_steps < total / 2  # the first window's audio came while three more windows were to sample
    assert first.shape[1] > 0.4 * request.sample_rate
    np.testing.assert_array_equal(seen.joined(), take.mix)
    assert take.mix.shape == (2, request.n_samples)
    np.testing.assert_array_equal(engine.generate(request).mix, take.mix)


def test_streaming_mix_equals_one_resampling_of_the_whole_and_is_cut_to_the_range() -> None:
    audio = np.random.default_rng(0).standard_normal((1, 32000)).astype(np.float32)
    n_samples = 47000  # the range ends 1000 samples before the model's audio does
    blocks: list[np.ndarray] = []
    stream = StreamingMix(32000, 48000, 1, n_samples, lambda start, block: blocks.append(block))
    for part in np.array_split(audio, [5000, 5001, 20000], axis=1):
        stream.feed(part)
    mix = stream.finish()
    whole = soxr.resample(audio.T, 32000, 48000).T[:, :n_samples]
    assert mix.shape == (2, n_samples)
    np.testing.assert_array_equal(mix, np.repeat(whole, 2, axis=0))
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), mix)
    short = StreamingMix(32000, 48000, 1, 48000 + 480)  # the model fell short: silence to the range's end
    short.feed(audio)
    padded = short.finish()
    assert padded.shape == (2, 48480) and not padded[:, 48000:].any()
