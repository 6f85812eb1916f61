"""Fixtures for the stems tests: no network, empty model caches, a tiny random HTDemucs."""

from __future__ import annotations

import socket
import warnings
from fractions import Fraction
from pathlib import Path

import pytest
import torch

SOURCES = ["drums", "bass", "other", "vocals"]
SIGNATURE = "955717e8"  # htdemucs's real signature, so the packaged bag definition applies


def tiny_htdemucs(seed: int = 0) -> torch.nn.Module:
    """The real HTDemucs class, shrunk to a few thousand random weights (1 s segments)."""
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return HTDemucs(sources=SOURCES, channels=4, depth=2, nfft=512, t_layers=1, t_heads=2,
                        bottom_channels=0, dconv_comp=2, segment=Fraction(1)).eval()


def save_package(model: torch.nn.Module, folder: Path, signature: str = SIGNATURE) -> Path:
    """Save ``model`` as demucs does (``<sig>-<sha256[:8]>.th`` via save_with_checksum)."""
    from demucs.states import get_state, save_with_checksum

    folder.mkdir(parents=True, exist_ok=True)
    args, kwargs = model._init_args_kwargs
    save_with_checksum({"klass": type(model), "args": args, "kwargs": kwargs, "state": get_state(model, None)},
                       folder / f"{signature}.th")
    return next(folder.glob(f"{signature}-*.th"))


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a stems test tried to use the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(autouse=True)
def empty_model_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Expotion's model folder, the torch hub and the Hugging Face cache at empty folders."""
    import huggingface_hub.constants

    monkeypatch.setenv("EXPOTION_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local model folder: ``htdemucs.yaml`` naming one tiny random HTDemucs checkpoint."""
    folder = tmp_path_factory.mktemp("repo")
    save_package(tiny_htdemucs(), folder)
    (folder / "htdemucs.yaml").write_text(f"models: ['{SIGNATURE}']\n", encoding="utf-8")
    return folder
