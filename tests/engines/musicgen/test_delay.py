"""The delay layout matches transformers' own build_delay_pattern_mask, mono and stereo."""

from __future__ import annotations

import torch

from expotion_engine.engines.musicgen.delay import (
    IGNORE,
    UNKNOWN,
    codebook_delays,
    delayed_grid,
    training_pair,
    undelay,
)
from expotion_engine.engines.musicgen.loading import LoadedModel, load_model


def _library_grid(lm: LoadedModel, prompt: torch.Tensor, n_frames: int) -> torch.Tensor:
    """transformers' pattern for a start token followed by ``prompt`` frames."""
    books = lm.num_codebooks
    start = torch.full((books, 1), lm.special_token)
    ids = torch.cat([start, prompt[0]], dim=1)
    _, pattern = lm.model.decoder.build_delay_pattern_mask(
        ids, pad_token_id=lm.special_token, max_length=n_frames + max(codebook_delays(books, lm.audio_channels)) + 1
    )
    return pattern.reshape(1, books, -1)


def test_grid_matches_transformers_mono(lm: LoadedModel) -> None:
    prompt = torch.randint(0, 64, (1, 4, 5))
    ours = delayed_grid(prompt, 12, codebook_delays(4, 1), lm.special_token)
    assert torch.equal(ours, _library_grid(lm, prompt, 12))
    assert (ours == UNKNOWN).sum() == 4 * (12 - 5)


def test_grid_matches_transformers_stereo(tiny_stereo_dir) -> None:
    lm = load_model(tiny_stereo_dir, device="cpu")
    prompt = torch.randint(0, 64, (1, 8, 3))
    delays = codebook_delays(8, 2)
    assert delays == (0, 0, 1, 1, 2, 2, 3, 3)
    assert torch.equal(delayed_grid(prompt, 9, delays, lm.special_token), _library_grid(lm, prompt, 9))


def test_undelay_inverts_grid() -> None:
    codes = torch.randint(0, 64, (2, 4, 7))
    delays = codebook_delays(4)
    assert torch.equal(undelay(delayed_grid(codes, 7, delays, 64), 7, delays), codes)


def test_training_labels_ignore_pattern_padding_and_short_clips() -> None:
    codes = torch.randint(0, 64, (2, 4, 6))
    delays = codebook_delays(4)
    inputs, labels = training_pair(codes, torch.tensor([6, 4]), delays, 64)
    assert inputs.shape == labels.shape == (2, 4, 6 + 3)
    for k, d in enumerate(delays):
        # output position p predicts frame p - d of codebook k
        assert torch.equal(labels[0, k, d : d + 6], codes[0, k])
        assert (labels[0, k, :d] == IGNORE).all() and (labels[0, k, d + 6 :] == IGNORE).all()
        assert torch.equal(labels[1, k, d : d + 4], codes[1, k, :4])
        assert (labels[1, k, d + 4 :] == IGNORE).all()
    assert (inputs[:, :, 0] == 64).all()
    assert (labels != IGNORE).sum() == 4 * (6 + 4)
