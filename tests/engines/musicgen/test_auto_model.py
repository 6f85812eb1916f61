"""Which MusicGen model the engine takes when none is named (``--model auto``, the default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from expotion_engine.engines.musicgen.engine import MusicgenEngine
from expotion_engine.errors import ModelNotFoundError


def _install(offline: Path, tiny_dir: Path, name: str) -> None:
    folder = offline / "models" / "musicgen"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(tiny_dir, target_is_directory=True)


def test_auto_takes_the_only_installed_model_even_if_not_a_preferred_one(offline: Path, tiny_dir: Path) -> None:
    """`expotion models list` shows musicgen-medium installed, so a plain score uses it."""
    _install(offline, tiny_dir, "musicgen-medium")
    lm, adapter = MusicgenEngine(device="cpu", precision="fp32").load()
    assert lm.source.name == "musicgen-medium" and adapter is None


def test_auto_prefers_melody_then_small_over_other_installed_models(offline: Path, tiny_dir: Path) -> None:
    for name in ("musicgen-medium", "musicgen-small"):
        _install(offline, tiny_dir, name)
    assert MusicgenEngine(device="cpu", precision="fp32").load()[0].source.name == "musicgen-small"


def test_auto_with_nothing_installed_says_what_to_fetch(offline: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="No MusicGen model is installed; fetch one with"):
        MusicgenEngine(device="cpu").load()
