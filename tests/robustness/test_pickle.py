"""Pickles in model slots never run, and damaged weights are one sentence (issue 13 items 8 and 12).

Every "payload" here is a real pickle whose unpickling opens (creates) a marker file, so a
test can tell whether it ran.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from expotion_engine.engines.musicgen.architectures import build_random_model, save_model_folder
from expotion_engine.engines.musicgen.catalog import TINY
from expotion_engine.engines.musicgen.checkpoint import CONFIG_FILE, WEIGHTS_FILE, load_adapter
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.loading import load_model
from expotion_engine.engines.musicgen.train import TrainConfig, load_clips, train
from expotion_engine.errors import EngineError, ModelNotFoundError
from tests.factories import make_control_track


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: a stand-in for any code a pickle can run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _pickle(path: Path, marker: Path) -> Path:
    torch.save({"state": _Payload(marker), "weight": torch.zeros(2)}, path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random MusicGen saved in the Hugging Face layout (built on one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return save_model_folder(build_random_model(TINY, seed=0), tmp_path_factory.mktemp("models") / "tiny")
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def copy(tiny: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny, folder)
    return folder


@pytest.mark.parametrize("default_unsafe", [False, True])
def test_an_index_naming_a_pickled_bin_is_refused_in_code(default_unsafe, copy, tmp_path, monkeypatch) -> None:
    """Refused by the loader itself, even where torch's own default would unpickle anything."""
    if default_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "ran.txt"
    (copy / "model.safetensors").unlink()
    _pickle(copy / "pytorch_model.bin", marker)
    (copy / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": {"decoder.lm_heads.0.weight": "pytorch_model.bin"}}))
    with pytest.raises(ModelNotFoundError, match="not a safetensors file") as caught:
        load_model(copy, device="cpu")
    assert "model.safetensors.index.json" in str(caught.value) and not marker.exists()


def test_a_folder_with_only_a_pickled_bin_is_refused(copy, tmp_path) -> None:
    marker = tmp_path / "ran.txt"
    (copy / "model.safetensors").unlink()
    _pickle(copy / "pytorch_model.bin", marker)
    with pytest.raises(ModelNotFoundError, match="pickled pytorch_model.bin is never loaded"):
        load_model(copy, device="cpu")
    assert not marker.exists()


def test_a_pickled_bin_beside_the_safetensors_weights_is_never_read(copy, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "ran.txt"
    _pickle(copy / "pytorch_model.bin", marker)
    assert load_model(copy, device="cpu").num_codebooks == TINY.num_codebooks
    assert not marker.exists()


def _tensors_renamed(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    save_file({f"other.{k}": v for k, v in tensors.items()}, folder / "model.safetensors")


DEEP = "[" * 100_000 + "]" * 100_000
WEIGHT_DAMAGE = {
    "garbage weights": lambda f: (f / "model.safetensors").write_bytes(b"not safetensors at all" * 8),
    "truncated weights": lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:4096]),
    "weights of another model": _tensors_renamed,
    "config not an object": lambda f: (f / "config.json").write_text("[1, 2]"),
    "config nested 100 000 deep": lambda f: (f / "config.json").write_text(DEEP),
    "tokenizer not JSON": lambda f: (f / "tokenizer.json").write_text("{nope"),
    "index weight_map a list": lambda f: (f / "model.safetensors.index.json").write_text('{"weight_map": [1]}'),
    "index nested 100 000 deep": lambda f: (f / "model.safetensors.index.json").write_text(DEEP),
}


@pytest.mark.parametrize("damage", WEIGHT_DAMAGE)
def test_damaged_musicgen_files_are_one_sentence(damage, copy) -> None:
    WEIGHT_DAMAGE[damage](copy)
    with pytest.raises(ModelNotFoundError) as caught:
        load_model(copy, device="cpu")
    assert str(copy) in str(caught.value) and "\n" not in str(caught.value)


# --------------------------------------------------------------------------- adapters and training

RATE = 32000


def _dataset(folder: Path) -> Path:
    """4 one-second clips from 2 sources (noise and a ControlTrack each)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for source in range(2):
        for part in range(2):
            name = f"dancer{source}__take{part}"
            make_control_track(1.0, energy=0.5, seed=source * 2 + part).save(folder / f"{name}.npz")
            sf.write(folder / f"{name}.wav", (0.1 * rng.standard_normal(RATE)).astype(np.float32), RATE)
            (folder / f"{name}.txt").write_text("noise")
    return folder


def _config(model: Path, output: Path, **overrides: object) -> TrainConfig:
    settings = dict(model=str(model), output=output, adapter=AdapterConfig(dim=8), max_steps=1, batch_size=2,
                    segment=0.5, val_fraction=0.5, eval_every=100, checkpoint_every=1, device="cpu",
                    cache_dir=output.parent / "cache", text_dropout=0.0)
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture(scope="module")
def trained(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One training step with a checkpoint: (dataset folder, run folder)."""
    root = tmp_path_factory.mktemp("train")
    data = _dataset(root / "data")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(_config(tiny, root / "run"), load_clips(data))
    finally:
        torch.set_num_threads(threads)
    return data, root / "run"


def _resumable(trained: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    data, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (checkpoint,) = (copy / "checkpoints").glob("step-*")
    return copy, checkpoint


def test_checkpoints_hold_no_pickle(trained) -> None:
    _, run = trained
    (checkpoint,) = (run / "checkpoints").glob("step-*")
    assert sorted(p.suffix for p in checkpoint.iterdir()) == [".json", ".json", ".safetensors", ".safetensors"]


@pytest.mark.parametrize("slot", ["optimizer.pt", "optimizer.safetensors"])
def test_a_pickled_optimizer_state_on_resume_is_one_sentence_and_never_runs(slot, trained, tiny, tmp_path) -> None:
    """``optimizer.pt`` is how older checkpoints stored it (read with weights_only=True); both slots refuse code."""
    run, checkpoint = _resumable(trained, tmp_path)
    marker = tmp_path / "ran.txt"
    (checkpoint / "optimizer.safetensors").unlink()
    _pickle(checkpoint / slot, marker)
    with pytest.raises(EngineError, match=f"{slot}: not optimizer state this trainer wrote"):
        train(_config(tiny, run, max_steps=2, resume=True), load_clips(trained[0]))
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated optimizer", "optimizer of another kind",
                                    "adapter weights not safetensors", "state nested"])
def test_a_damaged_checkpoint_on_resume_is_one_sentence(damage, trained, tiny, tmp_path) -> None:
    run, checkpoint = _resumable(trained, tmp_path)
    if damage == "truncated optimizer":
        file = checkpoint / "optimizer.safetensors"
        file.write_bytes(file.read_bytes()[:100])
    elif damage == "optimizer of another kind":
        from safetensors.torch import save_file

        file = checkpoint / "optimizer.safetensors"
        save_file({"x": torch.zeros(2)}, file)
    elif damage == "adapter weights not safetensors":
        file = checkpoint / WEIGHTS_FILE
        _pickle(file, tmp_path / "ran.txt")
    else:
        file = checkpoint / "trainer_state.json"
        file.write_text("{\"a\": " * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(EngineError) as caught:
        train(_config(tiny, run, max_steps=2, resume=True), load_clips(trained[0]))
    assert str(file) in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "ran.txt").exists()


def test_an_older_checkpoint_with_a_plain_optimizer_pt_still_resumes(trained, tiny, tmp_path) -> None:
    from expotion_engine.engines.musicgen.train.state_io import read_state

    run, checkpoint = _resumable(trained, tmp_path)
    state = read_state(checkpoint / "optimizer.safetensors")
    torch.save(state, checkpoint / "optimizer.pt")
    (checkpoint / "optimizer.safetensors").unlink()
    result = train(_config(tiny, run, max_steps=2, resume=True), load_clips(trained[0]))
    assert result.steps == 2


def test_adapter_weights_that_are_a_pickle_are_refused(trained, tiny, tmp_path) -> None:
    _, checkpoint = _resumable(trained, tmp_path)
    meta = json.loads((checkpoint / CONFIG_FILE).read_text())
    meta.pop("weights_sha256")
    (checkpoint / CONFIG_FILE).write_text(json.dumps(meta))
    marker = tmp_path / "ran.txt"
    _pickle(checkpoint / WEIGHTS_FILE, marker)
    with pytest.raises(EngineError, match="not a safetensors file"):
        load_adapter(checkpoint, load_model(tiny, device="cpu"), attach=False)
    assert not marker.exists()


def test_a_damaged_feature_cache_entry_is_recomputed_with_a_warning(trained, tiny, tmp_path, caplog) -> None:
    data, run = trained
    cache = tmp_path / "cache"
    shutil.copytree(run.parent / "cache", cache)
    entry = sorted(cache.glob("*.safetensors"))[0]
    entry.write_bytes(b"\x00" * 64)
    with caplog.at_level("WARNING", logger="expotion_engine.engines.musicgen.train.features"):
        result = train(_config(tiny, tmp_path / "again", cache_dir=cache), load_clips(data))
    assert result.steps == 1
    assert any("damaged feature cache entry" in r.getMessage() for r in caplog.records)
    assert entry.stat().st_size > 64, "the entry is written again"


def test_optimizer_state_round_trips_exactly_without_pickle(tmp_path) -> None:
    from expotion_engine.engines.musicgen.train.state_io import encode_state, read_state

    weights = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(4))]
    optimizer = torch.optim.AdamW(weights, lr=0.01, betas=(0.8, 0.95))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5)
    for _ in range(2):
        sum(w.square().sum() for w in weights).backward()
        optimizer.step()
        scheduler.step()
    state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    path = tmp_path / "optimizer.safetensors"
    path.write_bytes(encode_state(state))
    back = read_state(path)
    assert back["scheduler"] == state["scheduler"]
    assert back["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]  # betas stay a tuple
    for index, entry in state["optimizer"]["state"].items():
        assert set(back["optimizer"]["state"][index]) == set(entry)
        assert all(torch.equal(back["optimizer"]["state"][index][k], v) for k, v in entry.items())
