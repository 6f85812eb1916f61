"""A take's stems mixed at given gains, block by block: the mixer's playback and export of a take of any length.

The stems are summed with their linear gains and a make-up gain that brings the unity stem
sum to the mix's loudness (the engine's bus normalises and limits the mix), then clipped to
full scale so a boosted stem cannot wrap around. Every pass reads the take's audio a block
at a time, so a long take's stems (WAVs on disk) are never held whole; the make-up gain
depends on the take only and is measured once per take.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from expotion_engine.audio_io import BLOCK, Spool, WavAudio, WavWriter, iter_blocks
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel
from expotion_engine.types import Take

_MAKEUP: weakref.WeakKeyDictionary[Take, float] = weakref.WeakKeyDictionary()


def channels_of(take: Take) -> int:
    """Channels of the mixdown: the widest of the mix and the stems."""
    return max(take.mix.shape[0], *(s.audio.shape[0] for s in take.stems))


def _stem_blocks(take: Take, size: int) -> Iterator[tuple[int, list[np.ndarray]]]:
    """``(start, [each stem's block, broadcast to the mixdown's channels])`` over the take, one open file per stem."""
    channels = channels_of(take)
    for parts in zip(*(iter_blocks(s.audio, size) for s in take.stems), strict=True):
        start = parts[0][0]
        yield start, [np.broadcast_to(block, (channels, block.shape[1])) for _, block in parts]


def makeup_gain(take: Take, size: int = BLOCK) -> float:
    """The gain that brings the stems' unity sum to the mix's RMS (1 when the stems are silent); cached per take."""
    cached = _MAKEUP.get(take)
    if cached is not None:
        return cached
    mix_sum = sum(float(np.sum(np.square(block, dtype=np.float64))) for _, block in iter_blocks(take.mix, size))
    stem_sum = 0.0
    for _, blocks in _stem_blocks(take, size):
        unity = np.zeros(blocks[0].shape, np.float64)
        for block in blocks:
            unity += block
        stem_sum += float(np.sum(np.square(unity)))
    channels, frames = channels_of(take), take.n_samples
    mix_rms = math.sqrt(mix_sum / (take.mix.shape[0] * frames)) if frames else 0.0
    stem_rms = math.sqrt(stem_sum / (channels * frames)) if frames else 0.0
    gain = mix_rms / stem_rms if stem_rms > 1e-9 else 1.0
    _MAKEUP[take] = gain
    return gain


def mixed_blocks(take: Take, gains: Mapping[str, float], size: int = BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, float32 (channels, n) block)`` of the stems at ``gains`` (linear, by stem name) and the make-up
    gain, clipped to full scale, in time order."""
    makeup = makeup_gain(take, size)
    for start, blocks in _stem_blocks(take, size):
        out = np.zeros(blocks[0].shape, np.float64)
        for stem, block in zip(take.stems, blocks, strict=True):
            if gains[stem.name] > 0.0:
                out += gains[stem.name] * block
        yield start, np.clip(out * makeup, -1.0, 1.0).astype(np.float32)


def mixdown(take: Take, gains: Mapping[str, float]) -> np.ndarray:
    """The stems mixed at ``gains`` as one float32 array, for a take held in memory."""
    blocks = [block for _, block in mixed_blocks(take, gains)]
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((channels_of(take), 0), np.float32)


def write_mixdown(take: Take, gains: Mapping[str, float] | None, path: Path, subtype: str = "FLOAT", *,
                  progress: ProgressFn | None = None, cancel: CancelEvent | None = None) -> Path:
    """Write the take's mix (``gains`` None) or its stems mixed at ``gains`` to a WAV at ``path``, atomically,
    block by block; cancelling leaves no file."""
    blocks = iter_blocks(take.mix) if gains is None else mixed_blocks(take, gains)
    channels = take.mix.shape[0] if gains is None else channels_of(take)
    with WavWriter(path, take.sample_rate, channels, take.n_samples, subtype=subtype) as writer:
        for start, block in blocks:
            check_cancel(cancel)
            writer.write(block)
            if progress is not None:
                progress(min((start + block.shape[1]) / max(take.n_samples, 1), 1.0), "rendering the mix")
    return Path(path)


def scaled_audio(take: Take, gains: Mapping[str, float], spool: Spool | None = None
                 ) -> tuple[np.ndarray | WavAudio, dict[str, np.ndarray | WavAudio]]:
    """The mixdown at ``gains`` and each audible stem scaled by its gain: arrays for a take in memory, float WAVs
    in ``spool`` (default: a temporary folder that lasts as long as the audio is referred to) for one on disk."""
    audible = [s for s in take.stems if gains[s.name] > 0.0]
    if not take.on_disk:
        return mixdown(take, gains), {s.name: (s.audio * gains[s.name]).astype(np.float32) for s in audible}
    spool = spool or Spool(prefix="expotion-mixer-")
    mix_path = write_mixdown(take, gains, spool.file("mix.wav"))
    writers: dict[str, WavWriter] = {}
    try:
        for s in audible:
            writers[s.name] = WavWriter(spool.file(f"{s.name}.wav"), take.sample_rate, s.audio.shape[0],
                                        take.n_samples)
        for parts in zip(*(iter_blocks(s.audio) for s in audible), strict=True):
            for stem, (_, block) in zip(audible, parts, strict=True):
                writers[stem.name].write((block * gains[stem.name]).astype(np.float32))
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return spool.audio(mix_path), {name: spool.audio(writer.close()) for name, writer in writers.items()}


__all__ = ["channels_of", "makeup_gain", "mixdown", "mixed_blocks", "scaled_audio", "write_mixdown"]
