"""Expotion's sampling loop: the library's tokens for the same seed, untouched by a
zero-gated adapter under three-way guidance, and cancellable between decoder steps."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from expotion_engine.engines.musicgen.checkpoint import new_adapter
from expotion_engine.engines.musicgen.conditioning import build_conditions
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.loading import LoadedModel, load_model
from expotion_engine.engines.musicgen.sampling import SamplingSettings, sample_codes
from expotion_engine.errors import Cancelled

STEPS = 24


def _library_codes(lm: LoadedModel, prompt: str, seed: int, top_k: int) -> torch.Tensor:
    """Codes that transformers' own ``generate`` hands to EnCodec (seen by wrapping ``decode``)."""
    seen: list[torch.Tensor] = []
    decode = lm.model.audio_encoder.decode

    def spy(codes: torch.Tensor, *args: object, **kwargs: object) -> object:
        seen.append(codes.clone())
        return decode(codes, *args, **kwargs)

    lm.model.audio_encoder.decode = spy
    try:
        torch.manual_seed(seed)
        lm.model.generate(**lm.tokenizer([prompt], return_tensors="pt"), do_sample=True, guidance_scale=3.0,
                          top_k=top_k, max_new_tokens=STEPS)
    finally:
        del lm.model.audio_encoder.decode
    if len(seen) == 1:
        return seen[0][0]
    left, right = seen[0][0], seen[1][0]  # stereo: the library decodes even and odd codebooks apart
    return torch.stack([left, right], dim=2).reshape(1, -1, left.shape[-1])


def _our_codes(lm: LoadedModel, prompt: str, seed: int, settings: SamplingSettings, **kwargs: object) -> torch.Tensor:
    with_controls = "adapter" in kwargs
    rows = settings.rows(with_controls)
    conditions = build_conditions(lm, [prompt], rows)
    generator = torch.Generator().manual_seed(seed)
    return sample_codes(lm, conditions, rows, STEPS - 3, settings, generator, **kwargs)


@pytest.mark.parametrize("model", ["tiny_dir", "tiny_melody_dir", "tiny_stereo_dir"])
def test_same_tokens_as_transformers_generate(model: str, request: pytest.FixtureRequest) -> None:
    lm = load_model(request.getfixturevalue(model), device="cpu")
    for seed in (0, 5):
        expected = _library_codes(lm, "warm piano", seed, top_k=50)
        ours = _our_codes(lm, "warm piano", seed, SamplingSettings(top_k=50, text_guidance=3.0))
        assert torch.equal(ours, expected)


def test_zero_gated_adapter_with_control_guidance_gives_base_tokens(tiny_dir: Path) -> None:
    lm = load_model(tiny_dir, device="cpu")
    expected = _library_codes(lm, "dark strings", 11, top_k=250)
    adapter = new_adapter(AdapterConfig(lora_rank=4), lm)
    settings = SamplingSettings(text_guidance=3.0, control_guidance=2.5)
    assert settings.rows(True) == ("full", "controls", "text")
    frames = STEPS + adapter.ahead
    values = torch.randn(3, frames, len(adapter.config.channels))
    mask = torch.ones_like(values, dtype=torch.bool)
    keep = adapter.keep_rows(settings.rows(True), None, lm.device)
    with adapter.conditioned(values, mask, keep, torch.ones(3, frames, dtype=torch.bool)):
        ours = _our_codes(lm, "dark strings", 11, settings, adapter=adapter)
    assert torch.equal(ours, expected)


def test_guidance_arithmetic_and_the_rows_each_scale_needs() -> None:
    full, controls, text, none = torch.tensor([3.0]), torch.tensor([1.5]), torch.tensor([2.0]), torch.tensor([1.0])
    s = SamplingSettings(text_guidance=3.0, control_guidance=2.0)
    assert s.rows(True) == ("full", "controls", "text")
    assert s.guide({"full": full, "controls": controls, "text": text}).item() == 1.5 + 3.0 * 1.5 + 1.0 * 1.0
    paper = SamplingSettings(text_guidance=3.0)  # the default: text guidance with the controls in both rows
    assert paper.control_guidance == 1.0 and paper.rows(True) == ("full", "controls")
    assert paper.guide({"full": full, "controls": controls}).item() == 1.5 + 3.0 * 1.5
    near = SamplingSettings(text_guidance=3.0, control_guidance=1.0 + 1e-6)  # no jump where the third row appears
    assert near.guide({"full": full, "controls": controls, "text": text}).item() == pytest.approx(6.0, abs=1e-5)
    assert SamplingSettings(text_guidance=1.0, control_guidance=2.0).rows(True) == ("full", "text")
    assert SamplingSettings(text_guidance=1.0, control_guidance=2.0).guide({"full": full, "text": text}).item() == 4.0
    assert SamplingSettings(text_guidance=1.0, control_guidance=1.0).rows(True) == ("full",)
    assert SamplingSettings(text_guidance=3.0).rows(False) == ("full", "none")
    assert SamplingSettings(text_guidance=3.0).guide({"full": full, "none": none}).item() == 1.0 + 3.0 * 2.0


def test_cancel_stops_before_the_next_decoder_step(lm: LoadedModel) -> None:
    cancel = threading.Event()
    calls: list[int] = []
    handle = lm.model.decoder.register_forward_hook(lambda *args: calls.append(1))
    steps = 0

    def on_step() -> None:
        nonlocal steps
        steps += 1
        if steps == 5:
            cancel.set()

    try:
        with pytest.raises(Cancelled):
            _our_codes(lm, "x", 0, SamplingSettings(), on_step=on_step, cancel=cancel)
    finally:
        handle.remove()
    assert len(calls) == 5


def test_default_guidance_with_controls_is_two_rows_whose_second_sees_the_controls_but_no_text(
        tiny_dir: Path, tiny_melody_dir: Path) -> None:
    rows = SamplingSettings().rows(True)
    assert rows == ("full", "controls")
    lm = load_model(tiny_dir, device="cpu")
    conditions = build_conditions(lm, ["dark strings"], rows)
    size = conditions.hidden.shape[0] // 2
    assert conditions.hidden[:size].abs().sum() > 0 and conditions.mask[:size].all()
    assert conditions.hidden[size:].abs().sum() == 0 and not conditions.mask[size:].any()
    adapter = new_adapter(AdapterConfig(), lm)
    names = adapter.config.modality_names
    assert adapter.keep_rows(rows, ("face",), lm.device).tolist() == [[n == "face" for n in names]] * 2
    assert adapter.keep_rows(("full", "text"), None, lm.device).tolist() == [[True] * len(names), [False] * len(names)]
    melody = load_model(tiny_melody_dir, device="cpu")
    guide = torch.rand(1, 20, 12)
    states = build_conditions(melody, ["dark strings"], rows, guide).hidden
    null = build_conditions(melody, ["dark strings"], ("none",), guide).hidden
    torch.testing.assert_close(states[1:], null)  # the controls row has the null text and the null melody
