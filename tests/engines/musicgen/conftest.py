"""Tiny random MusicGen models, built once per session and saved in the Hugging Face
folder layout, so every test goes through the real loading code."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from expotion_engine.engines.musicgen.architectures import build_random_model, save_model_folder
from expotion_engine.engines.musicgen.catalog import TINY, ArchitectureSpec
from expotion_engine.engines.musicgen.loading import LoadedModel, load_model


@pytest.fixture(autouse=True, scope="package")
def _tiny_model_settings() -> Iterator[None]:
    """One torch thread: the tiny models' kernels are too small to gain from more, and on a
    shared 2-core machine spinning worker threads slow them tenfold. Also quiet the warning
    transformers gives on every load because the start token sits one past the codebook
    (as in the real checkpoints)."""
    threads = torch.get_num_threads()
    logger = logging.getLogger("transformers")
    level = logger.level
    omp = os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"  # the engine keeps the user's thread count instead of taking every core
    logger.setLevel(logging.ERROR)
    yield
    torch.set_num_threads(threads)
    if omp is None:
        os.environ.pop("OMP_NUM_THREADS")
    else:
        os.environ["OMP_NUM_THREADS"] = omp
    logger.setLevel(level)


def _build(root: Path, name: str, spec: ArchitectureSpec) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return save_model_folder(build_random_model(spec, seed=0), root / name)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mono tiny MusicGen (2 decoder layers of width 64, 4 codebooks of 64, 32 kHz EnCodec)."""
    return _build(tmp_path_factory.mktemp("models"), "tiny", TINY)


@pytest.fixture(scope="session")
def tiny_melody_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny MusicGen-melody (chroma + text prefix instead of cross-attention)."""
    return _build(tmp_path_factory.mktemp("models"), "tiny-melody", dataclasses.replace(TINY, melody=True))


@pytest.fixture(scope="session")
def tiny_stereo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny stereo MusicGen (8 interleaved codebooks)."""
    spec = dataclasses.replace(TINY, num_codebooks=8, audio_channels=2)
    return _build(tmp_path_factory.mktemp("models"), "tiny-stereo", spec)


@pytest.fixture(scope="session")
def tiny_wide_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model of another shape (3 layers), for adapter compatibility checks."""
    return _build(tmp_path_factory.mktemp("models"), "tiny-wide", dataclasses.replace(TINY, num_layers=3))


@pytest.fixture(scope="session")
def _shared_lm(tiny_dir: Path) -> LoadedModel:
    return load_model(tiny_dir, device="cpu")


@pytest.fixture
def lm(_shared_lm: LoadedModel) -> Iterator[LoadedModel]:
    """The tiny model, loaded once; adapter hooks a test attaches are removed after it."""
    yield _shared_lm
    for layer in _shared_lm.decoder_layers:
        layer.self_attn.q_proj._forward_hooks.clear()
        layer.self_attn.out_proj._forward_pre_hooks.clear()


@pytest.fixture
def fresh_lm(tiny_dir: Path) -> LoadedModel:
    """A fresh load of the tiny model, for tests that inject LoRA into it."""
    return load_model(tiny_dir, device="cpu")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No network, an empty HF cache and an empty Expotion model folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("EXPOTION_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path
