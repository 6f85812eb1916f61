"""Expotion's own MusicGen sampling loop: three-way guidance, continuation, cancel per step.

``transformers``' ``generate`` guides over text only, and cannot be cancelled or report
progress between steps; this loop reuses the library's decoder, cache and delay layout,
and for text-only guidance reproduces its tokens exactly for the same seed (a test
checks). With controls, guidance follows the paper's inference, text guidance with the
controls in both rows, and can add a direction of control guidance with its own scale::

    logits = controls + text_scale * (full - controls) + (control_scale - 1) * (full - text)

where ``full`` sees text and controls, ``controls`` the controls and null text, ``text``
the text and null controls. At a control scale of 1 (the default) the last term is zero
and its row is not computed, so guiding text with controls costs two rows, as text alone
does; rows whose scale makes them redundant are never computed. Without controls it is
``none + text_scale * (full - none)``, ``none`` seeing neither.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from expotion_engine.engines.musicgen.adapter import ControlAdapter
from expotion_engine.engines.musicgen.conditioning import Conditions, decoder_step
from expotion_engine.engines.musicgen.delay import UNKNOWN, codebook_delays, delayed_grid, undelay
from expotion_engine.engines.musicgen.kvcache import window_cache
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, check_cancel


@dataclass(frozen=True)
class SamplingSettings:
    """How tokens are drawn; the defaults are MusicGen's (top-k 250, text guidance 3)."""

    top_k: int = 250
    top_p: float = 0.0
    temperature: float = 1.0
    text_guidance: float = 3.0
    control_guidance: float = 1.0

    def __post_init__(self) -> None:
        if self.top_k < 0 or not 0.0 <= self.top_p <= 1.0:
            raise EngineError(f"top_k must be >= 0 and top_p in [0, 1], got {self.top_k} and {self.top_p}.")
        if not self.temperature > 0.0:
            raise EngineError(f"temperature must be positive, got {self.temperature}.")
        for name in ("text_guidance", "control_guidance"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 20.0):
                raise EngineError(f"{name} must be between 0 and 20, got {value}.")

    def rows(self, with_controls: bool) -> tuple[str, ...]:
        """The guidance rows this setting needs (see :data:`conditioning.ROW_KINDS`)."""
        rows: tuple[str, ...] = ("full",)
        if self.text_guidance != 1.0:
            rows += ("controls",) if with_controls else ("none",)
        if with_controls and self.control_guidance != 1.0:
            rows += ("text",)
        return rows

    def guide(self, logits: dict[str, torch.Tensor]) -> torch.Tensor:
        """Combine the rows' logits into one distribution's logits."""
        full = logits["full"]
        base = logits.get("controls", logits.get("none"))
        guided = full if base is None else base + (full - base) * self.text_guidance
        if "text" in logits:
            guided = guided + (full - logits["text"]) * (self.control_guidance - 1.0)
        return guided

    def warp(self, scores: torch.Tensor) -> torch.Tensor:
        """Temperature, top-k and top-p, in ``transformers``' order and arithmetic."""
        if self.temperature != 1.0:
            scores = scores / self.temperature
        if self.top_k:
            k = min(self.top_k, scores.shape[-1])
            threshold = torch.topk(scores, k)[0][..., -1, None]
            scores = scores.masked_fill(scores < threshold, float("-inf"))
        if 0.0 < self.top_p < 1.0:
            sorted_scores, order = torch.sort(scores, descending=False)
            remove = sorted_scores.softmax(dim=-1).cumsum(dim=-1) <= (1 - self.top_p)
            remove[..., -1:] = False
            scores = scores.masked_fill(remove.scatter(1, order, remove), float("-inf"))
        return scores


def steps_needed(n_frames: int, prompt_frames: int, delays: tuple[int, ...]) -> int:
    """Decoder steps to produce ``n_frames`` frames after ``prompt_frames`` known ones."""
    return n_frames + max(delays) - prompt_frames


@torch.no_grad()
def sample_codes(
    lm: LoadedModel,
    conditions: Conditions,
    rows: tuple[str, ...],
    n_frames: int,
    settings: SamplingSettings,
    generator: torch.Generator,
    *,
    prompt: torch.Tensor | None = None,
    adapter: ControlAdapter | None = None,
    on_step: Callable[[], None] | None = None,
    cancel: CancelEvent | None = None,
) -> torch.Tensor:
    """Sample ``(B, K, n_frames)`` codes; the first ``prompt.shape[-1]`` frames are ``prompt``.

    ``conditions`` hold ``len(rows) × B`` rows in the order of ``rows``; an attached
    ``adapter`` must be inside its ``conditioned`` block with the same rows; ``generator``
    lives on the model's device.
    """
    books = lm.num_codebooks
    batch = conditions.hidden.shape[0] // len(rows)
    delays = codebook_delays(books, lm.audio_channels)
    if prompt is None:
        prompt = torch.zeros(batch, books, 0, dtype=torch.long)
    prompt = prompt.to(lm.device)
    known = prompt.shape[-1]
    grid = delayed_grid(prompt, n_frames, delays, lm.special_token)
    cache = window_cache(lm, conditions.prefix_length + grid.shape[-1])
    first = True
    position = known  # the step whose output predicts grid position ``position + 1``
    inputs = grid[..., : known + 1]
    while position < grid.shape[-1] - 1:
        check_cancel(cancel)
        if adapter is not None:
            adapter.query_start = (position - inputs.shape[-1] + 1) - (conditions.prefix_length if first else 0)
        ids = inputs.reshape(batch * books, -1).repeat(len(rows), 1)
        out = decoder_step(lm, ids, conditions, cache, first)
        first = False
        logits = out.logits[:, -1].to(dtype=torch.float32)
        scores = settings.guide(dict(zip(rows, logits.split(batch * books), strict=True)))
        probs = torch.softmax(settings.warp(scores), dim=-1)
        drawn = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        target = grid[..., position + 1]
        grid[..., position + 1] = torch.where(target == UNKNOWN, drawn.view(batch, books), target)
        position += 1
        inputs = grid[..., position : position + 1]
        if on_step is not None:
            on_step()
    return undelay(grid, n_frames, delays)
