"""Issue 13 item 10: one writer per output folder. A second run into a folder another run holds
stops at once with one sentence; two runs started together leave one whole take and delivery from
one run; the emptiness check runs again when the take is committed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from expotion_engine.errors import ExportError
from expotion_engine.types import Take
from studio.cli import main
from studio.demo.scenarios import Clip
from studio.lock import LOCK_NAME, FolderLock
from studio.pipeline import commit_take

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_run_into_a_held_folder_is_one_sentence(face_clip: Clip, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    with FolderLock(out):
        assert main(["score", str(face_clip.path), "-o", str(out), "--end", "2.2"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("expotion:")]
    assert "Traceback" not in err and len(lines) == 1
    assert "in use by another Expotion run" in lines[0] and f"process {os.getpid()}" in lines[0]
    assert not out.exists()  # nothing written; the holder's lock file went with it
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_two_runs_started_together_leave_one_runs_take_and_delivery(face_clip: Clip, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "EXPOTION_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    runs = [subprocess.Popen([sys.executable, "-m", "studio", "score", str(face_clip.path), "-o", str(out),
                              "--end", "2.2", "--seed", str(seed), "--format", "audio", "midi"],
                             cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
            for seed in (1, 2)]
    results = [(run.wait(180), run.stderr.read() if run.stderr else "") for run in runs]
    codes = sorted(code for code, _ in results)
    assert "Traceback" not in "".join(err for _, err in results)
    assert codes == [0, 2], results
    winner = [seed for seed, (code, _) in zip((1, 2), results, strict=True) if code == 0][0]
    loser_err = [err for code, err in results if code == 2][0]
    assert "in use by another Expotion run" in loser_err or "is not empty" in loser_err
    assert json.loads((out / "take.json").read_text())["seed"] == winner
    session = json.loads((out / "face.expotion").read_text())
    assert session["seed"] == winner and [t["seed"] for t in session["takes"]] == [winner]
    assert not (out / LOCK_NAME).exists()


def test_a_file_that_appears_before_commit_stops_it_without_force(tmp_path: Path, face_clip: Clip,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    first = tmp_path / "first"
    assert main(["score", str(face_clip.path), "-o", str(first), "--end", "2.2", "--no-delivery"]) == 0
    take = Take.load(first)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mix.wav").write_bytes(b"written by someone else meanwhile")
    with pytest.raises(ExportError, match="appeared while this run was working"):
        commit_take(take, out, force=False)
    assert (out / "mix.wav").read_bytes() == b"written by someone else meanwhile"
    assert sorted(p.name for p in out.iterdir()) == ["mix.wav"]  # no staging left
    commit_take(take, out, force=True)
    assert Take.load(out).seed == take.seed
