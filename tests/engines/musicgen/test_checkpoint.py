"""Adapter checkpoints: bit-exact round trip (adapter and LoRA), and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from expotion_engine.engines.musicgen.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    load_adapter,
    new_adapter,
    save_adapter,
)
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.controls import to_frames
from expotion_engine.engines.musicgen.generate import ControlInput, WindowSettings, generate_audio
from expotion_engine.engines.musicgen.loading import LoadedModel, load_model
from expotion_engine.engines.musicgen.lora import lora_state
from expotion_engine.engines.musicgen.sampling import SamplingSettings
from expotion_engine.errors import EngineError
from tests.factories import make_control_track


def _trained_looking(lm: LoadedModel, config: AdapterConfig):  # noqa: ANN202 - ControlAdapter
    """A fresh adapter with every parameter (gates and LoRA B included) randomised."""
    adapter = new_adapter(config, lm)
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in list(adapter.parameters()) + [p for n, p in lm.model.named_parameters() if "lora_" in n]:
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))
        adapter.encoder.mean.fill_(0.2)
        adapter.encoder.std.fill_(1.5)
    return adapter


@pytest.fixture
def saved(tiny_dir: Path, tmp_path: Path) -> tuple[Path, LoadedModel, object]:
    lm = load_model(tiny_dir, device="cpu")
    adapter = _trained_looking(lm, AdapterConfig(dim=16, lora_rank=4, layers=(1,)))
    return save_adapter(tmp_path / "adapter", adapter, lm, {"note": "test"}), lm, adapter


def test_round_trip_is_bit_exact(saved: tuple[Path, LoadedModel, object], tiny_dir: Path) -> None:
    folder, lm, adapter = saved
    other = load_model(tiny_dir, device="cpu")
    loaded = load_adapter(folder, other)
    original, restored = adapter.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)
    lora_a, lora_b = lora_state(lm), lora_state(other)
    assert lora_a and lora_a.keys() == lora_b.keys() and all(torch.equal(lora_a[k], lora_b[k]) for k in lora_a)
    assert loaded.config == adapter.config
    meta = json.loads((folder / CONFIG_FILE).read_text())
    assert meta["config"]["lora_rank"] == 4 and meta["config"]["layers"] == [1] and meta["rate"] == 50.0
    assert meta["base"]["architecture"]["num_layers"] == 2 and meta["training"] == {"note": "test"}
    assert "face_smile" in meta["config"]["groups"][0]["channels"]
    # and it generates exactly what the in-memory adapter generated
    track = make_control_track(0.6, energy=lambda t: t)
    outs = []
    for model, ad in ((lm, adapter), (other, loaded)):
        controls = ControlInput(to_frames(track, ad.config.channels, model.frame_rate))
        outs.append(generate_audio(model, ["x"], 19200, seed=3, sampling=SamplingSettings(top_k=20),
                                   windows=WindowSettings(), adapter=ad, controls=controls).codes[0])
    assert torch.equal(outs[0], outs[1])


def test_adapter_for_another_base_model_is_refused(saved: tuple[Path, LoadedModel, object],
                                                   tiny_wide_dir: Path, tiny_dir: Path) -> None:
    folder, _, _ = saved
    other = load_model(tiny_wide_dir, device="cpu")
    with pytest.raises(EngineError) as err:
        load_adapter(folder, other)
    message = str(err.value)
    assert "was trained for tiny" in message and "num_layers 2 vs 3" in message
    assert f"--model {tiny_dir.resolve()}." in message  # the base's folder, which --model loads from anywhere


def test_damaged_or_newer_checkpoints_are_refused(saved: tuple[Path, LoadedModel, object], tiny_dir: Path,
                                                  tmp_path: Path) -> None:
    folder, _, _ = saved
    lm = load_model(tiny_dir, device="cpu")
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 0xFF
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(EngineError, match="checksum"):
        load_adapter(folder, lm)
    meta = json.loads((folder / CONFIG_FILE).read_text())
    meta["version"] = 99
    (folder / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(EngineError, match="newer Expotion"):
        load_adapter(folder, lm)
    with pytest.raises(EngineError, match="No adapter"):
        load_adapter(tmp_path / "nowhere", lm)
