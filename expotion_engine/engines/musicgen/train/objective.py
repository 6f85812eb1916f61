"""The training objective: teacher-forced cross-entropy of MusicGen with the adapter attached.

Labels follow the codebook delay pattern; the start/pad positions of the pattern and the
padding frames of short clips are ignored, so neither enters the loss (the research
code trained on zero-padded frames). The loss is the mean over codebooks of each
codebook's mean cross-entropy, as in MusicGen's own training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from expotion_engine.engines.musicgen.adapter import ControlAdapter
from expotion_engine.engines.musicgen.conditioning import build_conditions, decoder_step
from expotion_engine.engines.musicgen.delay import IGNORE, codebook_delays, training_pair
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.engines.musicgen.train.batches import Batch


def masked_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over codebooks of the cross-entropy at non-ignored labels; ``logits`` ``(B, K, S, V)``."""
    losses = []
    for k in range(logits.shape[1]):
        target = labels[:, k].reshape(-1)
        if (target != IGNORE).any():
            losses.append(F.cross_entropy(logits[:, k].reshape(-1, logits.shape[-1]).float(), target,
                                          ignore_index=IGNORE))
    return torch.stack(losses).mean()


class AdapterObjective(nn.Module):
    """Holds the frozen model and the trainable adapter, so ``accelerate`` can wrap one module."""

    def __init__(self, lm: LoadedModel, adapter: ControlAdapter) -> None:
        super().__init__()
        self.model = lm.model
        self.adapter = adapter
        self.lm = lm
        self.delays = codebook_delays(lm.num_codebooks, lm.audio_channels)

    def train(self, mode: bool = True) -> AdapterObjective:
        """Only the adapter switches mode; the frozen model stays in eval (no dropout noise)."""
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, batch: Batch, keep: torch.Tensor, null_text: torch.Tensor) -> torch.Tensor:
        """Loss of ``batch`` with modalities ``keep`` ``(B, M)`` and dropped texts ``null_text`` ``(B,)``."""
        lm = self.lm
        size, books, frames = batch.codes.shape
        with torch.no_grad():
            conditions = build_conditions(lm, batch.prompts, ("full",), null_text=null_text)
        inputs, labels = training_pair(batch.codes, batch.lengths, self.delays, lm.special_token)
        with self.adapter.conditioned(batch.values, batch.mask, keep, batch.frame_valid):
            self.adapter.query_start = -conditions.prefix_length
            out = decoder_step(lm, inputs.reshape(size * books, -1), conditions, None, True, use_cache=False)
        logits = out.logits.view(size, books, -1, out.logits.shape[-1])[:, :, conditions.prefix_length :]
        return masked_loss(logits, labels)
