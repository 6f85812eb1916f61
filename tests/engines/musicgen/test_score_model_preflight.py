"""``expotion score --engine musicgen --model X`` stops on a model folder that cannot load, or an
unknown name, before the video is analysed (it used to say so only after the whole analysis)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cli import main
from studio.demo.scenarios import Clip


@pytest.mark.parametrize("model, said", [
    ("nofolder/tiny", "does not exist"),
    ("notes", "is incomplete: missing config.json, model.safetensors, tokenizer.json"),
    ("musicgen-tiny", "Unknown MusicGen model 'musicgen-tiny'"),
])
def test_a_bad_model_stops_before_the_analysis(offline: Path, face_clip: Clip, model: str, said: str,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(offline)
    (offline / "notes").mkdir()
    (offline / "notes" / "readme.txt").write_text("not a model\n")
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(offline / "cache"))
    assert main(["score", str(face_clip.path), "-o", "out", "--engine", "musicgen", "--model", model,
                 "--start", "1.0", "--end", "3.0"]) == 2
    assert said in capfd.readouterr().err
    assert not (offline / "cache").exists() or not any((offline / "cache").rglob("*.npz"))  # nothing analysed
    assert not (offline / "out").exists()
