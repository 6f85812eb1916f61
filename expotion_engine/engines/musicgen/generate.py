"""Windowed generation: any length of video, one MusicGen window (30 s) at a time.

Window ``i`` starts ``overlap`` seconds before window ``i - 1`` ends and is prompted
with those frames of its tokens, so the music continues rather than restarts; its
controls (and melody guide, and mood words) are sliced to its own time range. Each
window is decoded on its own (bounded memory) and the decodings are joined with an
equal-power crossfade in the middle of the overlap, where both decodings have context
on both sides. The result is trimmed to the range's length to the sample.

Audio is final once the next window's crossfade cannot touch it, so ``on_audio`` gets the
range's audio window by window while the later windows are still being sampled (a preview).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from expotion_engine.engines.musicgen.adapter import ControlAdapter
from expotion_engine.engines.musicgen.conditioning import Conditions, build_conditions
from expotion_engine.engines.musicgen.controls import ControlFrames
from expotion_engine.engines.musicgen.crossfade import crossfade
from expotion_engine.engines.musicgen.delay import codebook_delays
from expotion_engine.engines.musicgen.guide import chroma
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.engines.musicgen.sampling import SamplingSettings, sample_codes, steps_needed
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel


@dataclass(frozen=True)
class WindowSettings:
    """Window length, prompt overlap and crossfade, in seconds."""

    window: float = 30.0
    overlap: float = 10.0
    crossfade: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 < self.window and 0.0 <= self.crossfade <= self.overlap < self.window):
            raise EngineError(
                f"Window settings need 0 <= crossfade <= overlap < window, got crossfade {self.crossfade} s, "
                f"overlap {self.overlap} s, window {self.window} s."
            )


@dataclass(frozen=True)
class Window:
    """Frames ``start..stop`` of the whole range; the first ``prompt`` of them are continued."""

    start: int
    stop: int
    prompt: int

    @property
    def frames(self) -> int:
        return self.stop - self.start


def plan_windows(n_frames: int, window: int, overlap: int) -> list[Window]:
    """Cover ``n_frames`` with windows of at most ``window`` frames overlapping by ``overlap``."""
    if window <= overlap:
        raise EngineError(f"A window of {window} frames cannot overlap the previous one by {overlap}.")
    plan = [Window(0, min(window, n_frames), 0)]
    while plan[-1].stop < n_frames:
        start = plan[-1].stop - overlap
        plan.append(Window(start, min(start + window, n_frames), overlap))
    return plan


def window_plan(lm: LoadedModel, n_samples: int, windows: WindowSettings) -> list[Window]:
    """The windows that :func:`generate_audio` will use for ``n_samples`` of model-rate audio."""
    n_frames = max(1, int(math.ceil(n_samples / lm.hop_length)))
    rate = lm.frame_rate
    return plan_windows(n_frames, int(round(windows.window * rate)), int(round(windows.overlap * rate)))


@dataclass(frozen=True, eq=False)
class ControlInput:
    """Controls for the adapter: frames at the model rate and which modalities to use."""

    frames: ControlFrames
    modalities: Sequence[str] | None = None


@dataclass(eq=False)
class GeneratedAudio:
    """Model-rate audio ``(channels, samples)``, the codes of every window, and timings."""

    audio: np.ndarray
    sample_rate: int
    codes: list[torch.Tensor]
    windows: list[Window]
    steps: int
    seconds: float
    prompts: list[str] = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


class StepMeter:
    """Turns decoder steps into progress reports with tokens/s and an ETA.

    A token here is one decoder step (one frame of every codebook, as ``transformers``
    counts ``max_new_tokens``); the rate is the mean since the first step and the ETA is
    the remaining steps at that rate, shown as ``m:ss``. ``clock`` is for tests.
    """

    def __init__(self, total: int, windows: int, progress: ProgressFn | None, span: float,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.total, self.windows, self.progress, self.span, self.clock = total, windows, progress, span, clock
        self.done, self.window, self.start = 0, 0, clock()

    def step(self) -> None:
        self.done += 1
        if self.progress is None:
            return
        elapsed = self.clock() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if math.isfinite(eta) else "?"
        self.progress(
            self.span * self.done / self.total,
            f"window {self.window + 1}/{self.windows} · {rate:.1f} tok/s · ETA {eta_text}",
        )


def _decode(lm: LoadedModel, codes: torch.Tensor) -> np.ndarray:
    """EnCodec decode of ``(1, K, F)`` codes to ``(channels, F * hop)`` float32."""
    encoder = lm.model.audio_encoder
    with torch.no_grad():
        if lm.audio_channels == 1:
            audio = encoder.decode(codes[None], audio_scales=[None]).audio_values
        else:
            left = encoder.decode(codes[None, :, 0::2], audio_scales=[None]).audio_values
            right = encoder.decode(codes[None, :, 1::2], audio_scales=[None]).audio_values
            audio = torch.cat([left, right], dim=1)
    return audio[0].float().cpu().numpy()


def _fade_span(window: Window, hop: int, fade: int) -> tuple[int, int]:
    """Samples ``a..b`` where ``window`` crossfades into the one before it (its first sample when it has no prompt)."""
    begin = window.start * hop
    overlap = window.prompt * hop
    fade = min(fade, overlap)
    a = begin + (overlap - fade) // 2
    return a, a + fade


def _stitch(out: np.ndarray, audio: np.ndarray, window: Window, hop: int, fade: int) -> None:
    """Write a window's decoding into ``out``, crossfading in the middle of its overlap."""
    begin = window.start * hop
    if window.prompt == 0:
        out[:, begin : begin + audio.shape[1]] = audio
        return
    a, b = _fade_span(window, hop, fade)
    out[:, a:b] = crossfade(out[:, a:b], audio[:, a - begin : b - begin])
    out[:, b : begin + audio.shape[1]] = audio[:, b - begin :]


def generate_audio(
    lm: LoadedModel,
    prompts: Sequence[str],
    n_samples: int,
    *,
    seed: int,
    sampling: SamplingSettings,
    windows: WindowSettings,
    adapter: ControlAdapter | None = None,
    controls: ControlInput | None = None,
    guide: np.ndarray | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
    on_audio: Callable[[int, np.ndarray], None] | None = None,
) -> GeneratedAudio:
    """Generate ``n_samples`` of audio at the model's rate, window by window.

    ``prompts`` holds one text per window (see :func:`plan_windows`) or a single text for
    all; ``guide`` is mono audio at the model's rate for the melody family's chroma.
    ``on_audio(start, block)`` receives the result in time order as soon as each window
    makes it final: float32 ``(channels, n)`` blocks that together are exactly the
    returned audio.
    """
    hop = lm.hop_length
    plan = window_plan(lm, n_samples, windows)
    n_frames = plan[-1].stop
    if len(prompts) not in (1, len(plan)):
        raise EngineError(f"Got {len(prompts)} prompts for {len(plan)} windows; pass one, or one per window.")
    texts = list(prompts) if len(prompts) == len(plan) else [prompts[0]] * len(plan)
    with_controls = adapter is not None and controls is not None
    rows = sampling.rows(with_controls)
    delays = codebook_delays(lm.num_codebooks, lm.audio_channels)
    total = sum(steps_needed(w.frames, w.prompt, delays) for w in plan)
    meter = StepMeter(total, len(plan), progress, 0.95)
    generator = torch.Generator(device=lm.device).manual_seed(int(seed))
    out = np.zeros((lm.audio_channels, n_frames * hop), np.float32)
    codes: list[torch.Tensor] = []
    fade = int(round(windows.crossfade * lm.sampling_rate))
    emitted = 0
    started = time.perf_counter()
    for index, window in enumerate(plan):
        meter.window = index
        check_cancel(cancel)
        window_chroma = None
        if lm.melody and guide is not None:
            window_chroma = chroma(guide[..., window.start * hop : window.stop * hop], lm.sampling_rate)[None]
        conditions = build_conditions(lm, [texts[index]], rows, window_chroma)
        prompt = None if window.prompt == 0 else codes[-1][..., -window.prompt :]
        kwargs = {"prompt": prompt, "on_step": meter.step, "cancel": cancel}
        if with_controls:
            new = _window_codes_with_controls(lm, adapter, controls, window, rows, conditions, sampling,
                                              generator, kwargs)
        else:
            new = sample_codes(lm, conditions, rows, window.frames, sampling, generator, **kwargs)
        codes.append(new)
        _stitch(out, _decode(lm, new), window, hop, fade)
        if on_audio is not None:
            final = n_samples if index + 1 == len(plan) else min(_fade_span(plan[index + 1], hop, fade)[0], n_samples)
            if final > emitted:
                on_audio(emitted, out[:, emitted:final].copy())
                emitted = final
    elapsed = time.perf_counter() - started
    if progress is not None:
        progress(0.95, "decoded")
    return GeneratedAudio(out[:, :n_samples], lm.sampling_rate, codes, plan, total, elapsed, texts)


def _window_codes_with_controls(
    lm: LoadedModel,
    adapter: ControlAdapter,
    controls: ControlInput,
    window: Window,
    rows: tuple[str, ...],
    conditions: Conditions,
    sampling: SamplingSettings,
    generator: torch.Generator,
    kwargs: dict[str, Any],
) -> torch.Tensor:
    """Sample one window with the adapter seeing this window's controls (and look-ahead)."""
    frames = controls.frames.window(window.start, window.stop + adapter.ahead)
    device = lm.device
    values = torch.from_numpy(frames.values).to(device)[None].expand(len(rows), -1, -1)
    mask = torch.from_numpy(frames.mask).to(device)[None].expand(len(rows), -1, -1)
    keep = adapter.keep_rows(rows, controls.modalities, device)
    valid = torch.ones(len(rows), frames.n_frames, dtype=torch.bool, device=device)
    valid[:, max(0, controls.frames.n_frames - window.start) :] = False
    dtype = next(adapter.parameters()).dtype
    with torch.no_grad(), adapter.conditioned(values.to(dtype), mask, keep, valid):
        return sample_codes(lm, conditions, rows, window.frames, sampling, generator, adapter=adapter, **kwargs)
