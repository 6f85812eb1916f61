"""Demucs separation of a mix into DAW-named stems at the mix's own rate and length.

The mix is resampled to the model's rate (soxr), normalised like demucs does, separated
segment by segment (:mod:`expotion_engine.stems.overlap`) and every finished block is
resampled back through one streaming soxr resampler per stem straight into the output
arrays, so only the input, the outputs and one segment are ever in memory. The stems'
sum is compared with the mix and the residual reported in dB.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import Any

import numpy as np
import soxr
import torch

from expotion_engine.errors import AudioError, EngineError, ModelNotFoundError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress, sub_progress
from expotion_engine.stems.catalog import DEFAULT_MODEL
from expotion_engine.stems.overlap import iter_separation
from expotion_engine.stems.weights import load_model, locate_model
from expotion_engine.types import Stem

log = logging.getLogger(__name__)

# Demucs source name -> the track name a DAW session gets.
DAW_NAMES = {"drums": "drums", "bass": "bass", "other": "other", "vocals": "vocals", "guitar": "guitar",
             "piano": "piano"}
RESIDUAL_FLOOR_DB = -120.0


def residual_db(mix: np.ndarray, stems: list[np.ndarray], block: int = 1 << 18) -> float:
    """Energy of ``mix - sum(stems)`` relative to the mix, in dB (floored at -120).

    Summed in float64 one block of samples at a time, so checking a long track costs no
    more memory than one block.
    """
    mix_energy = res_energy = 0.0
    for start in range(0, mix.shape[-1], block):
        part = mix[..., start:start + block].astype(np.float64)
        residual = part.copy()
        for stem in stems:
            residual -= stem[..., start:start + block]
        mix_energy += float(np.sum(np.square(part)))
        res_energy += float(np.sum(np.square(residual)))
    if mix_energy == 0.0:
        return RESIDUAL_FLOOR_DB if res_energy == 0.0 else 0.0
    if res_energy == 0.0:
        return RESIDUAL_FLOOR_DB
    return max(10.0 * np.log10(res_energy / mix_energy), RESIDUAL_FLOOR_DB)


def check_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio`` as float32 ``(channels, samples)`` with 1 or 2 channels, or an AudioError."""
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[0] not in (1, 2):
        raise AudioError(f"Audio of shape {np.shape(audio)} is not (channels, samples) with 1 or 2 channels.")
    if array.shape[1] == 0:
        raise AudioError("Audio has no samples.")
    if not np.all(np.isfinite(array)):
        raise AudioError("Audio contains NaN or infinite samples.")
    if not (isinstance(sample_rate, (int, np.integer)) and 1000 <= sample_rate <= 384000):
        raise AudioError(f"Sample rate {sample_rate!r} is not an integer between 1000 and 384000 Hz.")
    return array


def pick_device(device: str | None) -> torch.device:
    """``device`` parsed and checked; ``None`` picks CUDA, then MPS, then CPU."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise EngineError(f"Device {device!r} is not valid; use cpu, cuda, cuda:N or mps.") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"Device {device!r} was asked for but this torch has no usable CUDA; use cpu.")
    if chosen.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise EngineError(f"Device {device!r} was asked for but MPS is not available here; use cpu.")
    if chosen.type not in ("cpu", "cuda", "mps"):
        raise EngineError(f"Device {device!r} is not supported; use cpu, cuda or mps.")
    return chosen


def match_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """Up-mix mono by copying or down-mix by averaging along axis -2 to ``channels``."""
    have = audio.shape[-2]
    if have == channels:
        return audio
    mono = audio.mean(axis=-2, keepdims=True) if have != 1 else audio
    return np.repeat(mono, channels, axis=-2).astype(np.float32, copy=False)


def _resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return audio
    return np.ascontiguousarray(soxr.resample(audio.T, from_rate, to_rate, quality="HQ").T)


class _StemWriter:
    """Streams model-rate blocks of every stem through soxr into output arrays."""

    def __init__(self, n_stems: int, channels: int, n_samples: int, model_rate: int, rate: int) -> None:
        self.out = np.zeros((n_stems, channels, n_samples), np.float32)
        self.pos = 0
        self.streams = (
            [soxr.ResampleStream(model_rate, rate, channels, dtype="float32", quality="HQ") for _ in range(n_stems)]
            if model_rate != rate else None
        )

    def write(self, block: np.ndarray, last: bool = False) -> None:
        if self.streams is not None:
            parts = [s.resample_chunk(np.ascontiguousarray(b.T), last=last).T for s, b in zip(
                self.streams, block, strict=True)]
            block = np.stack(parts) if parts[0].size else np.zeros((len(parts), block.shape[1], 0), np.float32)
        n = min(block.shape[-1], self.out.shape[-1] - self.pos)
        self.out[..., self.pos:self.pos + n] = block[..., :n]
        self.pos += n


def separate_demucs(
    audio: np.ndarray,
    sample_rate: int,
    *,
    model: str = DEFAULT_MODEL,
    repo: str | os.PathLike[str] | None = None,
    device: str | None = None,
    overlap: float = 0.25,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> list[Stem]:
    """Separate ``audio`` with a Demucs model; stems match the input's rate, channels and length.

    Raises :class:`ModelNotFoundError` (with the ``expotion models pull`` command) when the
    weights are not on this machine; nothing is downloaded.
    """
    mix = check_audio(audio, sample_rate)
    if not 0.0 <= overlap < 1.0:
        raise EngineError(f"Overlap {overlap} must be in [0, 1).")
    report = progress or no_progress
    started = time.perf_counter()
    files = locate_model(model, repo)
    report(0.0, f"loading {model}")
    bag = load_model(files)
    check_cancel(cancel)
    chosen = pick_device(device)
    bag.to(chosen)
    report(0.02, f"{files.name} loaded from {files.location}")
    model_rate, model_channels = int(bag.samplerate), int(bag.audio_channels)
    channels = mix.shape[0]
    resampled = torch.from_numpy(_resample(match_channels(mix, model_channels), sample_rate, model_rate))
    ref = resampled.mean(0)
    mean, std = float(ref.mean()), float(ref.std()) + 1e-8
    normalised = (resampled - mean) / std
    del resampled
    writer = _StemWriter(len(bag.sources), channels, mix.shape[1], model_rate, sample_rate)
    blocks = iter_separation(bag, normalised, overlap=overlap, device=chosen,
                             progress=sub_progress(report, 0.02, 0.98), cancel=cancel)
    for block in blocks:
        writer.write(match_channels(block * std + mean, channels))
    if writer.streams is not None:
        writer.write(np.zeros((len(bag.sources), channels, 0), np.float32), last=True)
    stems = list(writer.out)
    residual = residual_db(mix, stems)
    seconds = time.perf_counter() - started
    info: dict[str, Any] = {
        "method": "demucs",
        "model": files.name,
        "weights": files.location,
        "device": str(chosen),
        "model_sample_rate": model_rate,
        "overlap": overlap,
        "residual_db": round(residual, 2),
        "seconds": round(seconds, 3),
    }
    log.info("separated %.1f s with %s in %.1f s, residual %.1f dB", mix.shape[1] / sample_rate, files.name,
             seconds, residual)
    report(1.0, f"separated with {files.name}")
    return [
        Stem(name=DAW_NAMES.get(source, source), audio=stem, origin="separated", info={**info, "source": source})
        for source, stem in zip(bag.sources, stems, strict=True)
    ]


def separate(
    audio: np.ndarray,
    sample_rate: int,
    *,
    model: str = DEFAULT_MODEL,
    repo: str | os.PathLike[str] | None = None,
    device: str | None = None,
    fallback: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> list[Stem]:
    """Stems of ``audio`` (float32 ``(channels, samples)`` at ``sample_rate``).

    ``model`` is a Demucs model name (``htdemucs``, ``htdemucs_ft``, ``htdemucs_6s``,
    ``mdx_extra``, or any bag in ``repo``) or ``"dsp"`` for the filter separation. With
    ``fallback=True`` missing Demucs weights give the DSP stems instead of an error, with
    the reason in every stem's ``info["fallback_reason"]`` and a logged warning.
    """
    from expotion_engine.stems.dsp import separate_dsp

    if model == "dsp":
        return separate_dsp(audio, sample_rate, progress=progress, cancel=cancel)
    try:
        return separate_demucs(audio, sample_rate, model=model, repo=repo, device=device,
                               progress=progress, cancel=cancel)
    except ModelNotFoundError as exc:
        if not fallback:
            raise
        log.warning("Demucs weights missing, using the DSP stems instead: %s", exc)
        stems = separate_dsp(audio, sample_rate, progress=progress, cancel=cancel)
        return [replace(s, info={**s.info, "fallback_reason": str(exc)}) for s in stems]


__all__ = ["DAW_NAMES", "check_audio", "pick_device", "residual_db", "separate", "separate_demucs"]
