"""The ``expotion`` CLI: help on every command, one-sentence errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from studio.cli import get_parser, main
from studio.commands import COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: expotion" in capsys.readouterr().out


def test_parser_lists_every_command() -> None:
    help_text = get_parser().format_help()
    for command in COMMANDS:
        assert command in help_text


def _one_sentence_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("expotion: error: ")
    return lines[0]


def test_missing_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "c.npz")]) == 2
    assert "nope.mp4: file not found" in _one_sentence_error(capsys.readouterr().err)


def test_text_file_renamed_mp4(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is a shopping list, not a video\n" * 20)
    assert main(["analyze", str(fake), "-o", str(tmp_path / "c.npz")]) == 2
    assert "not a video file" in _one_sentence_error(capsys.readouterr().err)
    assert not (tmp_path / "c.npz").exists()


def test_zero_length_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["analyze", str(empty), "-o", str(tmp_path / "c.npz")]) == 2
    assert "empty" in _one_sentence_error(capsys.readouterr().err)


def test_bad_range_is_a_usage_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "x.mp4", "--start", "3", "--end", "2", "-o", str(tmp_path / "c.npz")]) == 2
    assert "Empty range" in _one_sentence_error(capsys.readouterr().err)


def test_runs_as_a_module_subprocess(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "studio", "analyze", str(tmp_path / "missing.mp4")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert _one_sentence_error(result.stderr).endswith("file not found.")
