"""Start-up: a command imports what it needs, not every command's stack (torch above all)."""

from __future__ import annotations

import subprocess
import sys

from studio.cli import chosen_command, get_parser
from studio.commands import COMMANDS


def _imports_torch(code: str) -> bool:
    """Whether running ``code`` in a fresh interpreter leaves torch imported."""
    probe = f"{code}\nimport sys\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1] == "True"


def test_chosen_command_is_the_first_token_that_is_not_an_option() -> None:
    assert chosen_command(["-v", "demo", "-o", "out"]) == "demo"
    assert chosen_command(["score", "stems"]) == "score"
    assert chosen_command(["--help"]) is None
    assert chosen_command(["nonsense"]) is None


def test_parser_for_one_command_builds_only_that_one() -> None:
    help_text = get_parser(["demo"]).format_help()
    assert "demo" in help_text and "stems" not in help_text
    assert all(c in get_parser([]).format_help() for c in COMMANDS)


def test_demo_and_score_parsers_do_not_import_torch() -> None:
    assert not _imports_torch("from studio.cli import get_parser; get_parser(['demo']); get_parser(['score'])")
    assert _imports_torch("from studio.cli import get_parser; get_parser([])")  # stems, train: torch is needed


def test_finding_a_soundfont_does_not_import_torch() -> None:
    assert not _imports_torch("from expotion_engine.engines.procedural.render.soundfont import models_folder; "
                              "models_folder()")
