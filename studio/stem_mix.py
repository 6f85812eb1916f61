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
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress, sub_progress
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


def makeup_gain(take: Take, size: int = BLOCK, *, progress: ProgressFn | None = None,
                cancel: CancelEvent | None = None) -> float:
    """The gain that brings the stems' unity sum to the mix's RMS (1 when the stems are silent); cached per take.

    Measuring it reads the mix and then the stems, reported as the two halves of ``progress``."""
    cached = _MAKEUP.get(take)
    if cached is not None:
        return cached
    channels, frames = channels_of(take), take.n_samples
    report = progress or no_progress
    mix_sum = 0.0
    for start, block in iter_blocks(take.mix, size):
        check_cancel(cancel)
        mix_sum += float(np.sum(np.square(block, dtype=np.float64)))
        report(0.5 * _done(start, block, frames), "measuring the mix's level")
    stem_sum = 0.0
    for start, blocks in _stem_blocks(take, size):
        check_cancel(cancel)
        unity = np.zeros(blocks[0].shape, np.float64)
        for block in blocks:
            unity += block
        stem_sum += float(np.sum(np.square(unity)))
        report(0.5 + 0.5 * _done(start, blocks[0], frames), "measuring the stems' level")
    mix_rms = math.sqrt(mix_sum / (take.mix.shape[0] * frames)) if frames else 0.0
    stem_rms = math.sqrt(stem_sum / (channels * frames)) if frames else 0.0
    gain = mix_rms / stem_rms if stem_rms > 1e-9 else 1.0
    _MAKEUP[take] = gain
    return gain


def _done(start: int, block: np.ndarray, frames: int) -> float:
    """The share of ``frames`` done once ``block`` (from ``start``) is."""
    return min((start + block.shape[-1]) / max(frames, 1), 1.0)


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
                progress(_done(start, block, take.n_samples), "rendering the mix")
    return Path(path)


def scaled_audio(take: Take, gains: Mapping[str, float], spool: Spool | None = None, *,
                 progress: ProgressFn | None = None, cancel: CancelEvent | None = None
                 ) -> tuple[np.ndarray | WavAudio, dict[str, np.ndarray | WavAudio]]:
    """The mixdown at ``gains`` and each audible stem scaled by its gain: arrays for a take in memory, float WAVs
    in ``spool`` (default: a temporary folder that lasts as long as the audio is referred to) for one on disk.

    A take on disk is read in three passes (the make-up gain, the mix, the stems), each a third of
    ``progress``, reported per block; ``cancel`` is checked per block and a cancel or error removes
    every file this wrote (and the default spool)."""
    report = progress or no_progress
    check_cancel(cancel)
    audible = [s for s in take.stems if gains[s.name] > 0.0]
    if not take.on_disk:
        scaled = mixdown(take, gains), {s.name: (s.audio * gains[s.name]).astype(np.float32) for s in audible}
        report(1.0, "mixed")
        return scaled
    own = spool is None
    spool = spool or Spool(prefix="expotion-mixer-")
    written: list[Path] = []
    writers: dict[str, WavWriter] = {}
    try:
        makeup_gain(take, progress=sub_progress(report, 0.0, 1 / 3), cancel=cancel)
        written.append(write_mixdown(take, gains, spool.file("mix.wav"), progress=sub_progress(report, 1 / 3, 2 / 3),
                                     cancel=cancel))
        for s in audible:
            writers[s.name] = WavWriter(spool.file(f"{s.name}.wav"), take.sample_rate, s.audio.shape[0],
                                        take.n_samples)
        stems_progress = sub_progress(report, 2 / 3, 1.0)
        for parts in zip(*(iter_blocks(s.audio) for s in audible), strict=True):
            check_cancel(cancel)
            for stem, (_, block) in zip(audible, parts, strict=True):
                writers[stem.name].write((block * gains[stem.name]).astype(np.float32))
            stems_progress(_done(parts[0][0], parts[0][1], take.n_samples), "scaling the stems")
        stems = {}
        for name in list(writers):
            stems[name] = writers.pop(name).close()
            written.append(stems[name])
    except BaseException:
        for writer in writers.values():
            writer.abort()
        for path in written:
            path.unlink(missing_ok=True)
        if own:
            spool.close()
        raise
    report(1.0, "mixed")
    return spool.audio(written[0]), {name: spool.audio(path) for name, path in stems.items()}


__all__ = ["channels_of", "makeup_gain", "mixdown", "mixed_blocks", "scaled_audio", "write_mixdown"]
