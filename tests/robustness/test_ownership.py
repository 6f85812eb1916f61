"""Issue 13 item 1: the output folder belongs to the user. ``score --force`` replaces only the files
the previous take recorded writing (its take.json), never a user's own file; a link where the take
wants its ``stems/`` folder is refused with one sentence before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.cli import main
from studio.demo.scenarios import Clip


def score(clip: Clip, out: Path, *extra: str) -> int:
    """``expotion score`` of the clip's first 2.2 s into ``out`` (take and session only)."""
    return main(["score", str(clip.path), "-o", str(out), "--end", "2.2", "--no-delivery", *extra])


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("expotion:")]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


def test_force_keeps_the_users_files_and_drops_only_the_previous_takes_own(
        face_clip: Clip, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert score(face_clip, out) == 0
    assert (tmp_path / "cache").is_dir()  # a run analyses into the cache (the refusal below does not)
    (out / "stems" / "my_vocals.wav").write_bytes(b"the singer's take")
    (out / "notes.txt").write_text("mine")
    # the previous take also wrote a stem this take will not write again: it is the program's to remove
    meta = json.loads((out / "take.json").read_text())
    meta["stems"].append({**meta["stems"][0], "name": "old_pad", "file": "stems/old_pad.wav"})
    (out / "take.json").write_text(json.dumps(meta))
    (out / "stems" / "old_pad.wav").write_bytes(b"old")

    assert score(face_clip, out, "--force", "--seed", "5") == 0
    assert (out / "stems" / "my_vocals.wav").read_bytes() == b"the singer's take"
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "stems" / "old_pad.wav").exists()
    meta = json.loads((out / "take.json").read_text())
    assert meta["seed"] == 5
    assert sorted(p.name for p in (out / "stems").iterdir()) == sorted(
        [Path(s["file"]).name for s in meta["stems"]] + ["my_vocals.wav"])


def test_a_linked_stems_folder_is_refused_before_any_work(face_clip: Clip, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.wav").write_bytes(b"keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / "stems").symlink_to(elsewhere, target_is_directory=True)

    assert score(face_clip, out, "--force") == 2
    line = one_error_line(capsys.readouterr().err)
    assert "symbolic link" in line and "stems" in line
    assert [p.name for p in elsewhere.iterdir()] == ["keep.wav"]
    assert not (out / "take.json").exists()
    assert not (tmp_path / "cache").exists()  # refused before the analysis
