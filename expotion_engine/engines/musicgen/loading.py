"""Loading a MusicGen checkpoint (plain or melody, mono or stereo) onto a device.

The weights are frozen and the model is put in eval mode: Expotion only trains its own
adapter and LoRA parameters. The audio codec stays in float32 even when the transformer
runs in half precision, because its decoder is cheap and sensitive to rounding.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from torch import nn
from transformers import (
    AutoTokenizer,
    MusicgenForConditionalGeneration,
    MusicgenMelodyForConditionalGeneration,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from expotion_engine.engines.musicgen.device import resolve_device, resolve_dtype
from expotion_engine.engines.musicgen.hub import ResolvedModel, resolve, safetensors_shards
from expotion_engine.errors import ModelNotFoundError
from expotion_engine.progress import ProgressFn
from expotion_engine.types import parse_json, read_regular_text

log = logging.getLogger(__name__)

_CLASSES: dict[str, type[PreTrainedModel]] = {
    "musicgen": MusicgenForConditionalGeneration,
    "musicgen_melody": MusicgenMelodyForConditionalGeneration,
}


@dataclass(eq=False)
class LoadedModel:
    """A frozen MusicGen model with its tokenizer, device, precision and provenance."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    source: ResolvedModel
    device: torch.device
    dtype: torch.dtype
    quantized: bool = False

    @property
    def melody(self) -> bool:
        return self.model.config.model_type == "musicgen_melody"

    @property
    def decoder_config(self) -> Any:
        return self.model.config.decoder

    @property
    def num_codebooks(self) -> int:
        return int(self.decoder_config.num_codebooks)

    @property
    def audio_channels(self) -> int:
        return int(getattr(self.decoder_config, "audio_channels", 1))

    @property
    def sampling_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def hop_length(self) -> int:
        hop = 1
        for ratio in self.model.config.audio_encoder.upsampling_ratios:
            hop *= int(ratio)
        return hop

    @property
    def frame_rate(self) -> float:
        return self.sampling_rate / self.hop_length

    @property
    def special_token(self) -> int:
        """The id of the start/padding token (one past the last codebook entry)."""
        token = self.model.generation_config.pad_token_id
        return int(token if token is not None else self.decoder_config.vocab_size)

    @property
    def decoder_layers(self) -> nn.ModuleList:
        return self.model.decoder.model.decoder.layers

    @cached_property
    def architecture(self) -> dict[str, Any]:
        """What an adapter must match: the decoder's shape, codebooks and frame rate."""
        cfg = self.decoder_config
        return {
            "model_type": self.model.config.model_type,
            "num_layers": int(cfg.num_hidden_layers),
            "hidden_size": int(cfg.hidden_size),
            "num_heads": int(cfg.num_attention_heads),
            "num_codebooks": self.num_codebooks,
            "audio_channels": self.audio_channels,
            "vocab_size": int(cfg.vocab_size),
            "frame_rate": self.frame_rate,
        }

    def to(self, device: torch.device) -> LoadedModel:
        self.model.to(device)
        self.device = device
        return self


def _model_type(folder: Path) -> str:
    file = folder / "config.json"
    config = parse_json(read_regular_text(file, ModelNotFoundError, "model config"), file, ModelNotFoundError,
                        "model config")
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise ModelNotFoundError(f"{file}: not a readable model config (no 'model_type' string).")
    return config["model_type"]


def _refuse_pickles(folder: Path) -> None:
    """Refuse a safetensors index that names a pickle; ``from_pretrained`` is told safetensors only as well,
    so a ``pytorch_model.bin`` (or its index) beside the safetensors files is never read."""
    if (folder / "model.safetensors.index.json").is_file():
        safetensors_shards(folder / "model.safetensors.index.json")


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No "Loading weights" bar across the caller's own progress, and none of the config warnings every
    MusicGen checkpoint gives (its start token sits one past the codebook by design); missing weights are
    still reported, by :func:`load_model` itself."""
    level, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    device: str | torch.device | None = "auto",
    dtype: str | None = None,
    revision: str | None = None,
    cache_dir: Path | None = None,
    allow_download: bool | None = None,
    progress: ProgressFn | None = None,
) -> LoadedModel:
    """Find, load and freeze a MusicGen model; see :func:`hub.resolve` for where it looks."""
    source = resolve(name_or_path, revision=revision, cache_dir=cache_dir, allow_download=allow_download)
    model_type = _model_type(source.path)
    if model_type not in _CLASSES:
        raise ModelNotFoundError(
            f"{source.path} holds a {model_type!r} model, not MusicGen (musicgen or musicgen_melody)."
        )
    target = device if isinstance(device, torch.device) else resolve_device(device)
    precision = resolve_dtype(dtype, target)
    if progress is not None:
        progress(0.0, f"loading {source.name} ({source.origin})")
    log.info("loading %s from %s on %s (%s)", source.name, source.path, target, precision)
    _refuse_pickles(source.path)
    try:
        with _quiet_transformers():
            model, report = _CLASSES[model_type].from_pretrained(
                source.path, dtype=precision, local_files_only=True, use_safetensors=True, output_loading_info=True)
            tokenizer = AutoTokenizer.from_pretrained(source.path, local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, SafetensorError) as exc:
        raise ModelNotFoundError(f"{source.path}: the model files are damaged or incomplete "
                                 f"({' '.join(str(exc).split())[:300]}).") from None
    if report.get("missing_keys"):
        raise ModelNotFoundError(f"{source.path}: the weights lack {len(report['missing_keys'])} of the model's "
                                 f"tensors (e.g. {sorted(report['missing_keys'])[0]}); the files are damaged or "
                                 "from another model.")
    model.audio_encoder.to(torch.float32)
    model.requires_grad_(False)
    model.eval().to(target)
    if progress is not None:
        progress(1.0, f"{source.name} loaded")
    return LoadedModel(model=model, tokenizer=tokenizer, source=source, device=target, dtype=precision)
