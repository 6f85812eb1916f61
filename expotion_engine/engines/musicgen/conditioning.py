"""Text (and melody chroma) conditioning, and one decoder call, for both MusicGen families.

Plain MusicGen attends to the T5 states through cross-attention; MusicGen-melody puts
the projected chroma and T5 states in front of the audio tokens instead. Null rows for
classifier-free guidance are built exactly as ``transformers`` builds them in
``generate`` (zeroed states and mask; a one-hot first chroma bin), so Expotion's own
sampling loop reproduces the library's tokens for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from expotion_engine.engines.musicgen.loading import LoadedModel

#: Guidance rows: ``full`` (text + controls), ``text`` (text, null controls), ``controls``
#: (null text, controls), ``none`` (null both).
ROW_KINDS = ("full", "text", "controls", "none")


def sees_text(kind: str) -> bool:
    """Whether a guidance row of ``kind`` gets the text (and melody guide) or their null inputs."""
    return kind in ("full", "text")


def sees_controls(kind: str) -> bool:
    """Whether a guidance row of ``kind`` gets the visual controls or the adapter's null vectors."""
    return kind in ("full", "controls")


@dataclass(eq=False)
class Conditions:
    """Decoder conditioning for ``rows × batch`` sequences.

    ``prefix_length`` is how many positions the decoder sees before the first audio token
    (the melody family's chroma + text prefix; 0 for cross-attention models).
    """

    hidden: torch.Tensor
    mask: torch.Tensor | None
    prefix_length: int


def text_states(lm: LoadedModel, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """T5 states of ``prompts`` (not yet projected to the decoder width) and their mask."""
    tokens = lm.tokenizer(list(prompts), return_tensors="pt", padding=True).to(lm.device)
    encoder = lm.model.text_encoder
    hidden = encoder(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask).last_hidden_state
    return hidden, tokens.attention_mask


def _project_text(lm: LoadedModel, hidden: torch.Tensor) -> torch.Tensor:
    model = lm.model
    return model.enc_to_dec_proj(hidden) if hasattr(model, "enc_to_dec_proj") else hidden


def _chroma_states(lm: LoadedModel, chroma: torch.Tensor) -> torch.Tensor:
    """Project ``(B, frames, 12)`` chroma and repeat/truncate it to the model's chroma length."""
    model = lm.model
    states = chroma.to(lm.device, lm.dtype)
    if hasattr(model, "audio_enc_to_dec_proj"):
        states = model.audio_enc_to_dec_proj(states)
    length = int(model.config.chroma_length)
    if states.shape[1] < length:
        states = states.repeat(1, int(math.ceil(length / states.shape[1])), 1)
    return states[:, :length]


def null_chroma(batch: int, frames: int = 1) -> torch.Tensor:
    """The melody family's "no melody" input: the first chroma bin on, everywhere."""
    chroma = torch.zeros(batch, frames, 12)
    chroma[..., 0] = 1.0
    return chroma


def build_conditions(
    lm: LoadedModel,
    prompts: Sequence[str],
    rows: Sequence[str],
    chroma: torch.Tensor | None = None,
    null_text: torch.Tensor | None = None,
) -> Conditions:
    """Conditioning for each guidance row kind in ``rows`` (stacked row-major over the batch).

    ``chroma`` ``(B, frames, 12)`` is the melody guide (melody family only). ``null_text``
    ``(B,)`` bool marks items whose text is dropped in every row (training text dropout).
    """
    hidden, mask = text_states(lm, prompts)
    if null_text is not None:
        mask = mask * (~null_text.to(lm.device))[:, None]
    if lm.melody:  # the library projects before adding null rows for this family, after for the other
        hidden = _project_text(lm, hidden)
    hidden = torch.cat([hidden if sees_text(kind) else torch.zeros_like(hidden) for kind in rows])
    mask = torch.cat([mask if sees_text(kind) else torch.zeros_like(mask) for kind in rows])
    if not lm.melody:
        hidden = _project_text(lm, hidden)
    hidden = hidden * mask[..., None].to(hidden.dtype)
    if not lm.melody:
        return Conditions(hidden, mask, 0)
    batch = len(prompts)
    given = chroma if chroma is not None else null_chroma(batch)
    audio = torch.cat([given if sees_text(kind) else null_chroma(batch, given.shape[1]) for kind in rows])
    states = torch.cat([_chroma_states(lm, audio), hidden], dim=1)
    return Conditions(states, None, states.shape[1])


def decoder_step(
    lm: LoadedModel, input_ids: torch.Tensor, conditions: Conditions, cache: Any, first: bool, use_cache: bool = True
) -> Any:
    """One decoder call on ``input_ids`` ``(N * K, L)``; returns the library's output (logits, cache)."""
    kwargs: dict[str, Any] = {"input_ids": input_ids, "cache": cache, "use_cache": use_cache}
    if not lm.melody:
        kwargs.update(encoder_hidden_states=conditions.hidden, encoder_attention_mask=conditions.mask)
    elif first:
        kwargs.update(encoder_hidden_states=conditions.hidden)
    return lm.model.decoder(**kwargs)
