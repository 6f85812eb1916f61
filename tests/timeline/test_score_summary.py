"""``expotion score TIMELINE``'s closing summary names the sequence as its editor shows it, not as Python repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cli import main
from tests.timeline.build import build_timeline, write_timeline

NAME = 'it\'s a "clip" #1'


def test_the_summary_names_a_sequence_with_quotes_as_written(tmp_path: Path, shots_25: list[Path],
                                                             capfd: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    timeline = build_timeline(shots_25, 25.0)
    timeline.name = NAME
    built = write_timeline(timeline, shots_25[0].parent, "otio_json", 25.0)
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["score", str(built.path), "-o", str(tmp_path / "out"), "--format", "midi"]) == 0
    said = [line for line in capfd.readouterr().err.splitlines() if line.startswith("sequence: ")]
    assert len(said) == 1 and f" is “{NAME}” with the mix and 4 stems " in said[0], said
