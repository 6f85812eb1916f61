"""A session scored with a relative ``--model`` folder and ``--adapter`` still generates from
another working folder (the app and ``expotion conform`` generate from the saved session)."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest

from expotion_engine.engines.musicgen.checkpoint import new_adapter, save_adapter
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.loading import LoadedModel
from studio import pipeline
from studio.cli import main
from studio.demo.scenarios import Clip
from studio.session import Session
from tests.factories import make_control_track


def test_relative_model_and_adapter_are_kept_as_absolute_paths(
    offline: Path, tiny_dir: Path, fresh_lm: LoadedModel, face_clip: Clip, monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = offline / "work"
    work.mkdir()
    (work / "mymodel").symlink_to(tiny_dir, target_is_directory=True)
    save_adapter(work / "myadapter", new_adapter(AdapterConfig(), fresh_lm, attach=False), fresh_lm)
    monkeypatch.setenv("TORCH_HOME", str(offline / "torch"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(offline / "hf"))
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(offline / "cache"))
    monkeypatch.chdir(work)
    assert main(["score", str(face_clip.path), "-o", "out", "--engine", "musicgen", "--model", "mymodel",
                 "--adapter", "myadapter", "--device", "cpu", "--precision", "fp32", "--start", "1.0",
                 "--end", "1.5", "--no-delivery"]) == 0
    monkeypatch.chdir(offline)
    session = Session.load(next((work / "out").glob("*.expotion")))
    record, take = pipeline.generate_take(session, make_control_track(0.5), folder=offline / "again")
    assert take.info["model"] == "mymodel" and Path(take.info["adapter"]) == work / "myadapter"
