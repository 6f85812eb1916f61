"""The musicgen engine from the command line: ``expotion models list|pull`` (where each
model is installed; one clear error, exit code 2, when a download cannot happen) and
``expotion score --engine musicgen`` (with ``--preview``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import huggingface_hub.constants
import pytest

from expotion_engine.types import Take
from studio.cli import main
from studio.demo.scenarios import Clip


def test_list_shows_where_each_musicgen_model_is_installed(offline: Path, tiny_dir: Path,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(tiny_dir, offline / "models" / "musicgen" / "musicgen-small")
    assert main(["models", "list", "--family", "musicgen"]) == 0
    lines = capfd.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines if line and not line.startswith(" ")}
    assert len(rows) == 10 and all(" musicgen " in row for row in rows.values())
    assert rows["musicgen-small"].endswith(str(offline / "models" / "musicgen" / "musicgen-small"))
    assert rows["musicgen-melody"].endswith("not installed")
    assert any("facebook/musicgen-stereo-melody-large" in line for line in lines)


def test_pull_offline_is_one_clear_sentence(offline: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "pull", "musicgen-small"]) == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("expotion: error: Cannot download musicgen-small: HF_HUB_OFFLINE is set")
    assert not (offline / "models" / "musicgen" / "musicgen-small").exists()


def test_score_with_the_musicgen_engine_delivers_like_any_engine(
    offline: Path, tiny_dir: Path, face_clip: Clip, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """`expotion score --engine musicgen` picks the installed model and writes take, session and delivery."""
    shutil.copytree(tiny_dir, offline / "models" / "musicgen" / "musicgen-small")
    monkeypatch.setenv("TORCH_HOME", str(offline / "torch"))  # no Demucs weights: the DSP stems
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(offline / "hf"))
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(offline / "cache"))
    out = offline / "scored"
    assert main(["score", str(face_clip.path), "-o", str(out), "--engine", "musicgen", "--prompt", "soft piano",
                 "--model", "musicgen-small", "--device", "cpu", "--start", "1.0", "--end", "2.5", "--preview"]) == 0
    take = Take.load(out)
    assert take.engine == "musicgen" and take.info["model"] == "musicgen-small"
    assert take.n_samples == round(1.5 * take.sample_rate)
    assert take.info["prompts"][0].startswith("soft piano") and len(take.stems) == 3
    err = capfd.readouterr().err
    assert any((out / "delivery").rglob("*.mid")) and "delivery:" in err
    # --preview: the take's audio was heard (or written, without an audio output) before the take was written,
    # and mix.wav has replaced preview.wav
    said = f"preview: the first 1.5 s are in {out / 'preview.wav'}"
    assert said in err and err.index(said) < err.index(f"wrote {out}")
    assert not (out / "preview.wav").exists()


def test_pull_without_a_reachable_hub_is_one_line(tmp_path: Path) -> None:
    """Online but the Hub cannot be reached (here: nothing listens at its address): one line, exit 2."""
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "EXPOTION_MODELS_DIR": str(tmp_path / "models"),
           "HF_HUB_CACHE": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"}
    done = subprocess.run([sys.executable, "-m", "studio", "models", "pull", "musicgen-small"], env=env,
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "Could not download facebook/musicgen-small (" in done.stderr
    assert "run `expotion models pull musicgen-small` again" in done.stderr
