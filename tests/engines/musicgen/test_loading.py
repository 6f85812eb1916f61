"""Finding and loading models: local folders, Expotion's model folder, the HF cache, and
the one clear error when a model is missing offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from expotion_engine.engines.musicgen import hub
from expotion_engine.engines.musicgen.loading import load_model
from expotion_engine.errors import EngineError, ModelNotFoundError


def test_local_folder_loads_frozen_on_cpu(tiny_dir: Path) -> None:
    lm = load_model(tiny_dir, device="cpu")
    assert lm.source.origin == "folder" and lm.device.type == "cpu" and lm.dtype == torch.float32
    assert not any(p.requires_grad for p in lm.model.parameters())
    assert lm.frame_rate == 50.0 and lm.num_codebooks == 4 and lm.special_token == 64
    assert lm.architecture["num_layers"] == 2 and lm.architecture["model_type"] == "musicgen"


def test_missing_model_offline_names_files_and_pull_command(offline: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        load_model("musicgen-small", device="cpu")
    message = str(err.value)
    assert "config.json" in message and "model.safetensors" in message and "tokenizer.json" in message
    assert "`expotion models pull musicgen-small`" in message
    assert "HF_HUB_OFFLINE" in message
    assert message.count(".") <= 4  # one sentence (file names and a path may hold dots)


def test_unknown_name_lists_known_models(offline: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="musicgen-melody"):
        load_model("musicgen-tiny-imaginary", device="cpu")


def test_incomplete_folder_names_missing_weights(tiny_dir: Path, tmp_path: Path) -> None:
    broken = shutil.copytree(tiny_dir, tmp_path / "broken")
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match=r"incomplete: missing model\.safetensors"):
        load_model(broken, device="cpu")


def test_found_in_expotion_models_dir(offline: Path, tiny_dir: Path) -> None:
    shutil.copytree(tiny_dir, offline / "models" / "musicgen" / "musicgen-small")
    lm = load_model("musicgen-small", device="cpu")
    assert lm.source.origin == "models-dir" and lm.source.name == "musicgen-small"
    listed = {row.name: row for row in hub.installed()}
    assert listed["musicgen-small"].path == offline / "models" / "musicgen" / "musicgen-small"
    assert listed["musicgen-large"].path is None


def test_found_in_hugging_face_cache_layout(offline: Path, tiny_dir: Path) -> None:
    repo = offline / "hf" / "models--facebook--musicgen-melody"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    lm = load_model("musicgen-melody", device="cpu")
    assert lm.source.origin == "hf-cache" and lm.source.revision == commit


def test_unavailable_device_is_a_clear_error(tiny_dir: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(EngineError, match="no CUDA GPU"):
        load_model(tiny_dir, device="cuda")
