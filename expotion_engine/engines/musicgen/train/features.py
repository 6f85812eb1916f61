"""Features computed once per clip and cached: EnCodec codes and model-rate control frames.

The cache key is the content of the music and of the video (or ControlTrack file), the
base model's codec and frame rate, and the control channels, so changing any of them
makes a new entry. Entries are safetensors files (no pickle) written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from expotion_engine.engines.musicgen.controls import to_frames
from expotion_engine.engines.musicgen.guide import to_rate
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.engines.musicgen.train.data import Clip
from expotion_engine.errors import AudioError
from expotion_engine.media.hashing import content_hash
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel
from expotion_engine.types import ControlTrack, atomic_write_bytes

log = logging.getLogger(__name__)

FEATURES_VERSION = 1
_CHUNK_SECONDS = 30.0

#: ``video path -> ControlTrack`` (the studio passes its cached video analysis).
Analyzer = Callable[[Path], ControlTrack]


@dataclass(frozen=True, eq=False)
class ClipFeatures:
    """One clip's codes ``(K, F)`` and control frames ``(F, C)`` on the same frame grid."""

    codes: np.ndarray
    values: np.ndarray
    mask: np.ndarray
    prompt: str

    @property
    def n_frames(self) -> int:
        return int(self.codes.shape[1])


def default_cache_dir() -> Path:
    """``$EXPOTION_CACHE_DIR/musicgen-features`` (default under ``~/.cache/expotion``)."""
    base = os.environ.get("EXPOTION_CACHE_DIR")
    root = Path(base) if base and base.lower() not in ("off", "0", "none") else Path.home() / ".cache" / "expotion"
    return root / "musicgen-features"


def read_audio(path: Path, sample_rate: int, channels: int) -> np.ndarray:
    """``(channels, samples)`` float32 at ``sample_rate`` (mono mixdown, or mono copied to stereo)."""
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(f"Cannot read music file {path} ({exc}).") from None
    audio = audio.T
    audio = audio.mean(0, keepdims=True) if channels == 1 or audio.shape[0] == 1 else audio[:2]
    if audio.shape[0] != channels:
        audio = np.repeat(audio, channels, axis=0)
    return to_rate(audio, int(rate), sample_rate)


@torch.no_grad()
def encode_audio(lm: LoadedModel, audio: np.ndarray) -> np.ndarray:
    """EnCodec codes ``(K, frames)`` of model-rate audio, in 30-second chunks (bounded memory)."""
    codec = lm.model.audio_encoder
    chunk = int(_CHUNK_SECONDS * lm.frame_rate) * lm.hop_length
    pieces = []
    for start in range(0, audio.shape[1], chunk):
        part = torch.from_numpy(np.ascontiguousarray(audio[:, start : start + chunk])).to(lm.device)
        per_channel = [codec.encode(part[c][None, None]).audio_codes[0, 0] for c in range(part.shape[0])]
        codes = torch.stack(per_channel, dim=1).reshape(-1, per_channel[0].shape[-1])  # interleave L/R books
        pieces.append(codes.cpu().numpy())
    return np.concatenate(pieces, axis=1).astype(np.int32)


class FeatureCache:
    """Computes and caches :class:`ClipFeatures` for one base model and channel list."""

    def __init__(self, folder: Path, lm: LoadedModel, channels: Sequence[str], analyze: Analyzer | None) -> None:
        self.folder, self.lm, self.channels, self.analyze = Path(folder), lm, tuple(channels), analyze

    def key(self, clip: Clip) -> str:
        """Stable key from the clip's content, the codec and the channels."""
        payload = {
            "audio": content_hash(clip.audio),
            "video": content_hash(clip.video) if clip.video else None,
            "controls": content_hash(clip.controls) if clip.controls else None,
            "codec": self.lm.model.config.audio_encoder.to_dict(),
            "architecture": self.lm.architecture,
            "model": [self.lm.source.name, self.lm.source.revision],
            "channels": self.channels,
            "v": FEATURES_VERSION,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def _track(self, clip: Clip) -> ControlTrack:
        if clip.controls is not None:
            return ControlTrack.load(clip.controls)
        if self.analyze is None:
            raise AudioError(f"Clip {clip.video} needs video analysis but no analyser was given.")
        return self.analyze(clip.video)

    def get(self, clip: Clip) -> ClipFeatures:
        """The clip's features, from the cache or computed (and cached) now."""
        entry = self.folder / f"{self.key(clip)}.safetensors"
        if entry.is_file():
            try:
                arrays = load_file(entry)
                return ClipFeatures(arrays["codes"], arrays["values"], arrays["mask"].astype(bool), clip.prompt)
            except (OSError, KeyError, ValueError, SafetensorError) as exc:
                log.warning("recomputing damaged feature cache entry %s (%s)", entry, exc)
        lm = self.lm
        track = self._track(clip)
        codes = encode_audio(lm, read_audio(clip.audio, lm.sampling_rate, lm.audio_channels))
        frames = min(codes.shape[1], int(np.ceil(track.duration * lm.frame_rate - 1e-9)))
        controls = to_frames(track, self.channels, lm.frame_rate, frames)
        features = ClipFeatures(codes[:, :frames], controls.values, controls.mask, clip.prompt)
        arrays = {"codes": features.codes, "values": features.values, "mask": features.mask.astype(np.uint8)}
        atomic_write_bytes(entry, save(arrays))
        return features

    def build(self, clips: Sequence[Clip], progress: ProgressFn | None = None,
              cancel: CancelEvent | None = None) -> list[ClipFeatures]:
        """Features of every clip, with progress and cancel between clips."""
        out = []
        for i, clip in enumerate(clips):
            check_cancel(cancel)
            if progress is not None:
                progress(i / max(len(clips), 1), f"features {i + 1}/{len(clips)}: {clip.name}")
            out.append(self.get(clip))
        return out
