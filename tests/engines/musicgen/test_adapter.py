"""The gated condition-prefix adapter: zero gates change nothing, trained gates make the
controls matter, and a music frame never sees video past its bounded look-ahead."""

from __future__ import annotations

import pytest
import torch

from expotion_engine.engines.musicgen.adapter import ControlAdapter
from expotion_engine.engines.musicgen.checkpoint import new_adapter
from expotion_engine.engines.musicgen.conditioning import build_conditions, decoder_step
from expotion_engine.engines.musicgen.config import AdapterConfig, ModalityGroup
from expotion_engine.engines.musicgen.delay import codebook_delays, training_pair
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.errors import EngineError

FRAMES = 40


def _logits(lm: LoadedModel, codes: torch.Tensor, adapter: ControlAdapter | None, values: torch.Tensor,
            mask: torch.Tensor) -> torch.Tensor:
    """Teacher-forced logits ``(B, K, S, V)`` with the adapter seeing ``values``."""
    inputs, _ = training_pair(codes, torch.full((codes.shape[0],), codes.shape[-1]), codebook_delays(4),
                              lm.special_token)
    conditions = build_conditions(lm, ["calm piano"] * codes.shape[0], ("full",))
    ids = inputs.reshape(-1, inputs.shape[-1])
    with torch.no_grad():
        if adapter is None:
            out = decoder_step(lm, ids, conditions, None, True, use_cache=False)
        else:
            keep = adapter.keep_flags(codes.shape[0], None, lm.device)
            valid = torch.ones(values.shape[:2], dtype=torch.bool)
            with adapter.conditioned(values, mask, keep, valid):
                out = decoder_step(lm, ids, conditions, None, True, use_cache=False)
    return out.logits.view(codes.shape[0], 4, -1, out.logits.shape[-1])


def _controls(adapter: ControlAdapter, frames: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    values = torch.randn(1, frames, len(adapter.config.channels), generator=gen)
    return values, torch.ones_like(values, dtype=torch.bool)


def _open_gates(adapter: ControlAdapter) -> None:
    with torch.no_grad():
        for prefix in adapter.prefixes.values():
            prefix.gate.fill_(1.0)
            prefix.position_bias.normal_()


@pytest.mark.parametrize("lora_rank", [0, 4])
def test_zero_gates_leave_logits_bit_exact(fresh_lm: LoadedModel, lora_rank: int) -> None:
    lm = fresh_lm
    codes = torch.randint(0, 64, (2, 4, FRAMES), generator=torch.Generator().manual_seed(1))
    base = _logits(lm, codes, None, torch.empty(0), torch.empty(0))
    adapter = new_adapter(AdapterConfig(lora_rank=lora_rank), lm)
    values, mask = _controls(adapter, FRAMES + adapter.ahead)
    adapted = _logits(lm, codes, adapter, values.expand(2, -1, -1), mask.expand(2, -1, -1))
    assert torch.equal(base, adapted)


def test_open_gates_make_controls_matter_within_the_lookahead_only(lm: LoadedModel) -> None:
    config = AdapterConfig(lookback=0.04, lookahead=0.1)  # 2 + 3 delay frames back, 5 frames ahead
    adapter = new_adapter(config, lm)
    assert (adapter.back, adapter.ahead) == (5, 5)
    _open_gates(adapter)
    codes = torch.randint(0, 64, (1, 4, FRAMES), generator=torch.Generator().manual_seed(2))
    values, mask = _controls(adapter, FRAMES + adapter.ahead)
    reference = _logits(lm, codes, adapter, values, mask)
    assert not torch.equal(reference, _logits(lm, codes, None, values, mask))
    step = 20
    changed = values.clone()
    changed[:, step + adapter.ahead + 1 :] += 3.0  # video later than step + look-ahead
    later = _logits(lm, codes, adapter, changed, mask)
    assert torch.equal(later[:, :, : step + 1], reference[:, :, : step + 1])
    assert not torch.allclose(later[:, :, step + 1 :], reference[:, :, step + 1 :])
    changed = values.clone()
    changed[:, step + adapter.ahead] += 3.0  # the last frame step 20 may see
    assert not torch.allclose(_logits(lm, codes, adapter, changed, mask)[:, :, step],
                              reference[:, :, step])


def test_earlier_video_than_the_band_reaches_a_step_only_through_the_music(lm: LoadedModel) -> None:
    adapter = new_adapter(AdapterConfig(lookback=0.0, lookahead=0.0, layers=(1,)), lm)
    _open_gates(adapter)
    codes = torch.randint(0, 64, (1, 4, FRAMES), generator=torch.Generator().manual_seed(3))
    values, mask = _controls(adapter, FRAMES)
    reference = _logits(lm, codes, adapter, values, mask)
    changed = values.clone()
    changed[:, :10] += 3.0  # only layer 1 reads controls, so layer-1 queries past 10 + 3 cannot see this
    # positions >= 14 see frames >= 11 directly; their layer-0 input has no controls at all
    assert torch.equal(_logits(lm, codes, adapter, changed, mask)[:, :, 14:], reference[:, :, 14:])


def test_masked_modality_equals_dropped_modality(lm: LoadedModel) -> None:
    adapter = new_adapter(AdapterConfig(), lm)
    values, mask = _controls(adapter, 12)
    face = adapter.encoder.bounds[0]
    hidden = mask.clone()
    hidden[..., face[0] : face[1]] = False
    dropped = adapter.keep_flags(1, ("body", "flow", "derived"), lm.device)
    with torch.no_grad():
        a = adapter.embed(values, hidden, adapter.keep_flags(1, None, lm.device))
        b = adapter.embed(values, mask, dropped)
        c = adapter.embed(values, mask, adapter.keep_flags(1, None, lm.device))
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_configuration_errors_are_clear(lm: LoadedModel) -> None:
    with pytest.raises(EngineError, match="do not exist"):
        ControlAdapter(AdapterConfig(layers=(5,)), lm.architecture)
    adapter = ControlAdapter(AdapterConfig(groups=(ModalityGroup("derived", ("energy",)),)), lm.architecture)
    with pytest.raises(EngineError, match="Unknown modality 'face'"):
        adapter.keep_flags(1, ("face",), lm.device)
    with pytest.raises(EngineError, match="lookahead"):
        AdapterConfig(lookahead=-1.0)
    with pytest.raises(EngineError, match="two adapter modalities"):
        AdapterConfig(groups=(ModalityGroup("a", ("energy",)), ModalityGroup("b", ("energy",))))
