"""An adapter trained on a local model folder records the folder, so ``--adapter`` alone finds its base
from any working folder (the folder's name alone was looked up as a catalogue name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from expotion_engine.engines.musicgen.checkpoint import new_adapter, read_meta, save_adapter
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.engine import MusicgenEngine
from expotion_engine.engines.musicgen.loading import LoadedModel


def test_adapter_alone_loads_the_folder_it_was_trained_on(offline: Path, tiny_dir: Path, fresh_lm: LoadedModel,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = save_adapter(offline / "adapter", new_adapter(AdapterConfig(dim=8), fresh_lm, attach=False), fresh_lm)
    assert read_meta(folder)["base"]["path"] == str(tiny_dir.resolve())
    monkeypatch.chdir(offline)  # no ./tiny here
    lm, adapter = MusicgenEngine(adapter=str(folder), device="cpu", precision="fp32").load()
    assert lm.source.path.resolve() == tiny_dir.resolve() and adapter is not None
