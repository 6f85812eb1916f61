"""``expotion score`` of a sequence that lies in the delivery folder it would replace is refused, file kept.

Scoring a delivered ``<title>_sequence.otio`` again with ``-o`` its own output folder and ``--force``
removed the sequence with the previous delivery and then failed reading it back for the round-trip
file: the editor's sequence was lost and the new delivery had none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cli import main
from tests.timeline.build import build_timeline, write_timeline

FPS = 25.0


def test_a_delivered_sequence_scored_into_its_own_folder_is_refused_and_kept(
        shots_25: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    built = write_timeline(build_timeline(shots_25, FPS), shots_25[0].parent, "otio_json", FPS)
    out = tmp_path / "out"
    assert main(["score", str(built.path), "-o", str(out), "--format", "midi"]) == 0
    delivered = out / "delivery" / "Scene_12_sequence.otio"
    before = delivered.read_bytes()
    capsys.readouterr()
    assert main(["score", str(delivered), "-o", str(out), "--force", "--format", "midi"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "which this run's delivery replaces; score it into another folder (-o)." in error, error
    assert delivered.read_bytes() == before
