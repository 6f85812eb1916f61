"""Precision and speed of the decoder: int8 stays close to float32, the guidance rows share one
decoder call per step, and the engine takes every core unless told otherwise."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from expotion_engine.engines.musicgen.adapter import Band, PrefixAttention
from expotion_engine.engines.musicgen.checkpoint import new_adapter, save_adapter
from expotion_engine.engines.musicgen.conditioning import Conditions, build_conditions, decoder_step
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.engine import MusicgenEngine
from expotion_engine.engines.musicgen.loading import LoadedModel, load_model
from expotion_engine.engines.musicgen.precision import (
    Int8Linear,
    quantize_decoder,
    resolve_precision,
    use_all_cores,
)
from expotion_engine.engines.musicgen.sampling import SamplingSettings, sample_codes
from expotion_engine.errors import EngineError, SessionError
from expotion_engine.types import GenerationRequest
from studio.cli import get_parser
from studio.commands.score import engine_options
from tests.factories import make_control_track

PROMPT = "warm piano"


def _teacher_forced_logits(lm: LoadedModel, codes: torch.Tensor) -> torch.Tensor:
    """Logits of every position of ``codes`` ``(1, K, F)`` in one uncached decoder call (text row only)."""
    conditions = build_conditions(lm, [PROMPT], ("full",))
    ids = codes.reshape(codes.shape[1], -1)
    with torch.no_grad():
        return decoder_step(lm, ids, conditions, None, True, use_cache=False).logits.float()


def test_int8_swaps_every_decoder_linear_and_keeps_the_fp32_predictions(tiny_dir: Path) -> None:
    fp32, int8 = load_model(tiny_dir, device="cpu"), load_model(tiny_dir, device="cpu")
    linears = sum(type(m) is nn.Linear for m in fp32.model.decoder.modules())
    assert quantize_decoder(int8.model) == linears > 0
    assert not any(type(m) is nn.Linear for m in int8.model.decoder.modules())
    quantised = [m for m in int8.model.decoder.modules() if isinstance(m, DynamicLinear)]
    assert len(quantised) == linears and all(m.weight().dtype == torch.qint8 for m in quantised)
    assert all(type(m) is Int8Linear for m in quantised)
    for layer in quantised:  # the direct kernel call gives exactly what the library's forward gives
        x = torch.randn(3, 2, layer.in_features)
        assert torch.equal(layer(x), DynamicLinear.forward(layer, x))
    codes = sample_codes(fp32, build_conditions(fp32, [PROMPT], ("full", "none")), ("full", "none"), 40,
                         SamplingSettings(), torch.Generator().manual_seed(3))
    ref, low = _teacher_forced_logits(fp32, codes), _teacher_forced_logits(int8, codes)
    correlation = torch.corrcoef(torch.stack([ref.flatten(), low.flatten()]))[0, 1].item()
    agreement = (ref.argmax(-1) == low.argmax(-1)).float().mean().item()
    assert correlation > 0.99, correlation
    assert agreement > 0.9, agreement
    assert not torch.equal(ref, low)  # the int8 path really ran


def test_precision_resolution() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_precision("auto", None, cpu).quantize
    assert not resolve_precision("auto", "float32", cpu).quantize  # an explicit dtype keeps float weights
    assert resolve_precision("bf16", None, cpu).dtype == "bfloat16"
    assert not resolve_precision(None, None, cuda).quantize
    with pytest.raises(EngineError, match="CPU only"):
        resolve_precision("int8", None, cuda)
    with pytest.raises(EngineError, match="Unknown precision"):
        MusicgenEngine(precision="int4")


@pytest.mark.parametrize(("precision", "quantised"), [("auto", True), ("fp32", False)])
def test_engine_loads_the_precision_asked_for(tiny_dir: Path, precision: str, quantised: bool) -> None:
    lm, _ = MusicgenEngine(model=str(tiny_dir), device="cpu", precision=precision).load()
    assert lm.quantized is quantised
    assert any(isinstance(m, DynamicLinear) for m in lm.model.decoder.modules()) is quantised


def _row(conditions: Conditions, index: int, rows: int) -> Conditions:
    size = conditions.hidden.shape[0] // rows
    part = slice(index * size, (index + 1) * size)
    return Conditions(conditions.hidden[part], None if conditions.mask is None else conditions.mask[part],
                      conditions.prefix_length)


def test_one_decoder_call_per_step_serves_all_three_guidance_rows(lm: LoadedModel) -> None:
    adapter = new_adapter(AdapterConfig(), lm)
    settings = SamplingSettings(text_guidance=3.0, control_guidance=2.0)
    rows = settings.rows(True)
    assert rows == ("full", "controls", "text")
    conditions = build_conditions(lm, [PROMPT], rows)
    frames, steps = 12, 12 + lm.num_codebooks - 1
    values = torch.randn(3, frames + adapter.ahead, len(adapter.config.channels))
    mask = torch.ones_like(values, dtype=torch.bool)
    keep = adapter.keep_rows(rows, None, lm.device)
    batches: list[int] = []
    hook = lm.model.decoder.register_forward_hook(lambda _m, _a, out: batches.append(out.logits.shape[0]))
    try:
        with torch.no_grad(), adapter.conditioned(values, mask, keep, torch.ones(3, values.shape[1], dtype=bool)):
            sample_codes(lm, conditions, rows, frames, settings, torch.Generator().manual_seed(0), adapter=adapter)
            adapter.query_start = 0
            ids = torch.full((lm.num_codebooks, 1), lm.special_token)
            batched = decoder_step(lm, ids.repeat(3, 1), conditions, None, True, use_cache=False).logits
    finally:
        hook.remove()
    assert batches[:-1] == [3 * lm.num_codebooks] * steps  # one call per step, all rows in it
    alone = [decoder_step(lm, ids, _row(conditions, i, 3), None, True, use_cache=False).logits for i in range(3)]
    for index in range(3):  # each row alone (a fresh adapter's gates are shut) matches its batched slice
        torch.testing.assert_close(batched[index * lm.num_codebooks:(index + 1) * lm.num_codebooks], alone[index])


def test_engine_takes_every_core_unless_omp_num_threads_is_set(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        with caplog.at_level(logging.INFO):
            cores = use_all_cores()
        assert cores == len(os.sched_getaffinity(0)) == torch.get_num_threads()
        assert "all available cores" in caplog.text
        torch.set_num_threads(1)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert use_all_cores() == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_cli_precision_reaches_the_engine_options_and_only_for_musicgen() -> None:
    args = get_parser().parse_args(["score", "clip.mp4", "-o", "out", "--engine", "musicgen", "--precision", "int8"])
    assert engine_options(args) == {"precision": "int8"}
    args = get_parser().parse_args(["score", "clip.mp4", "-o", "out", "--precision", "fp32"])
    with pytest.raises(SessionError, match="--precision only apply to --engine musicgen"):
        engine_options(args)


def test_sampling_folds_the_control_maps_once_per_window_and_matches_the_per_step_path(
        lm: LoadedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    adapter = new_adapter(AdapterConfig(), lm)
    with torch.no_grad():
        for prefix in adapter.prefixes.values():
            prefix.gate.fill_(1.0)
            prefix.key.weight.normal_()
            prefix.value.weight.normal_()
    rows = ("full", "controls", "text")
    conditions = build_conditions(lm, [PROMPT], rows)
    frames = 10
    values = torch.randn(3, frames + adapter.ahead, len(adapter.config.channels))
    keep = adapter.keep_rows(rows, None, lm.device)
    valid = torch.ones(3, values.shape[1], dtype=torch.bool)
    projections: list[int] = []
    hooks = [p.key.register_forward_hook(lambda *_: projections.append(1)) for p in adapter.prefixes.values()]
    folds: list[int] = []
    fold = PrefixAttention.step_weights
    monkeypatch.setattr(PrefixAttention, "step_weights", lambda self: folds.append(1) or fold(self))
    bands: list[int] = []
    lay_out = Band.of
    monkeypatch.setattr(Band, "of", lambda *args: bands.append(1) or lay_out(*args))
    ids = torch.randint(0, 64, (3 * lm.num_codebooks, 6))
    try:
        with adapter.conditioned(values, torch.ones_like(values, dtype=torch.bool), keep, valid):
            sample_codes(lm, conditions, rows, frames, SamplingSettings(), torch.Generator().manual_seed(0),
                         adapter=adapter)
            assert projections == []  # no step projects the controls to keys: the query is folded instead
            assert len(folds) == len(adapter.prefixes) and len(bands) == 1  # once per window, not per step
            adapter.query_start = 0
            with torch.no_grad():
                cached = decoder_step(lm, ids, conditions, None, True, use_cache=False).logits
            with torch.enable_grad():
                per_step = decoder_step(lm, ids, conditions, None, True, use_cache=False).logits
    finally:
        for hook in hooks:
            hook.remove()
    torch.testing.assert_close(cached, per_step.detach(), rtol=1e-4, atol=1e-4)
    baseline = decoder_step(lm, ids, conditions, None, True, use_cache=False).logits
    assert not torch.allclose(cached, baseline)  # the open gates really changed the output


def test_one_step_band_attention_equals_the_general_attention_at_every_step() -> None:
    torch.manual_seed(0)
    prefix = PrefixAttention(dim=8, hidden=32, heads=4, back=5, ahead=3)
    with torch.no_grad():
        for parameter in prefix.parameters():
            parameter.normal_()
    frames = 12
    memory = torch.randn(3, frames, 8)
    valid = torch.ones(3, frames, dtype=torch.bool)
    valid[1, 7:] = False  # a row whose controls end early
    valid[2, 2:4] = False
    band = prefix.band(memory, valid)
    general = prefix.forward
    fallbacks: list[int] = []
    prefix.forward = lambda query, *args: fallbacks.append(query.shape[1]) or general(query, *args)  # type: ignore
    with torch.no_grad():
        for start in range(-2, frames + 5):
            query = torch.randn(3, 1, 32)
            expected = general(query, memory, valid, start)
            torch.testing.assert_close(prefix.step(query, memory, valid, start, band), expected, rtol=1e-5, atol=1e-5)
        assert len(fallbacks) == 7  # the steps before the first frame and past the last pad
        block = torch.randn(3, 4, 32)  # several queries at once take the general path
        torch.testing.assert_close(prefix.step(block, memory, valid, 2, band), general(block, memory, valid, 2))
    assert fallbacks[-1] == 4


def test_int8_engine_with_a_lora_adapter_keeps_lora_in_float_and_generates(
        tiny_dir: Path, tmp_path: Path) -> None:
    lm = load_model(tiny_dir, device="cpu")
    adapter = new_adapter(AdapterConfig(dim=16, lora_rank=4), lm)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in adapter.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    path = save_adapter(tmp_path / "lora", adapter, lm)
    engine = MusicgenEngine(model=str(tiny_dir), adapter=str(path), device="cpu", tempo=False, stems=False)
    loaded, _ = engine.load()
    names = {n for n, m in loaded.model.decoder.named_modules() if isinstance(m, DynamicLinear)}
    lora = {n for n, m in loaded.model.decoder.named_modules() if "lora_" in n and type(m) is nn.Linear}
    assert loaded.quantized and names and lora and not any("lora_" in n or "base_layer" in n for n in names)
    track = make_control_track(1.0, energy=lambda t: t, valence=0.5, hits=(0.5,))
    take = engine.generate(GenerationRequest(controls=track, prompt=PROMPT, seed=1, sample_rate=48000))
    assert take.info["int8_decoder"] is True
    assert take.mix.shape == (2, 48000) and bool(torch.isfinite(torch.from_numpy(take.mix)).all())
