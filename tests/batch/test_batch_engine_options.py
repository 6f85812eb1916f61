"""``expotion batch --engine musicgen --model/--adapter/--precision``: every musicgen clip's session
carries them (a batch could only use the auto-chosen model), other engines' clips do not, and a
re-run with another model scores the clips again."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.batch.jobs import changed_choices, session_for
from studio.cli import get_parser
from studio.commands.batch import jobs_from_args
from studio.demo.scenarios import Clip


def test_musicgen_options_reach_each_musicgen_clips_session(face_clip: Clip, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run" / "adapter").mkdir(parents=True)
    manifest = tmp_path / "clips.csv"
    manifest.write_text(f"path,engine,name\n{face_clip.path},musicgen,mg\n{face_clip.path},procedural,proc\n")

    def jobs(*options: str):
        argv = ["batch", str(manifest), "-o", "out", "--engine", "musicgen", *options]
        return {job.name: job for job in jobs_from_args(get_parser(argv).parse_args(argv))}

    first = jobs("--model", "musicgen-small", "--adapter", "run/adapter", "--precision", "int8")
    session = session_for(first["mg"])
    assert session.engine_options == {"model": "musicgen-small", "adapter": str(tmp_path / "run" / "adapter"),
                                      "precision": "int8"}
    assert session_for(first["proc"]).engine_options == {}
    assert changed_choices(session, first["mg"]) == []
    assert changed_choices(session, jobs("--model", "musicgen-medium")["mg"]) == ["engine options"]
