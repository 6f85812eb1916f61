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


def test_demo_and_score_and_finding_a_soundfont_do_not_import_torch() -> None:
    assert not _imports_torch("from studio.cli import get_parser; get_parser(['demo']); get_parser(['score'])\n"
                              "from expotion_engine.engines.procedural.render.soundfont import models_folder\n"
                              "models_folder()")


def test_warm_up_imports_the_renderer_and_mediapipe_and_musicgens_stack_on_a_background_thread() -> None:
    code = ("import sys\nfrom studio.warmup import warm_up\n"
            "assert warm_up('models') is None and warm_up('models', 'musicgen') is None\n"
            "thread = warm_up('demo')\nassert thread.daemon\nthread.join()\n"
            "print(all(m in sys.modules for m in ('expotion_engine.engines.procedural.render', 'mediapipe')),"
            " 'torch' in sys.modules)\n"
            "warm_up('score', 'musicgen').join()\nprint('transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-2:] == ["True False", "True"]


def test_a_video_is_probed_once_until_it_changes(face_clip, tmp_path, monkeypatch) -> None:
    import os
    import shutil

    from expotion_engine.media import probe

    video = shutil.copy(face_clip.path, tmp_path / "clip.mp4")
    opened: list[str] = []
    real = probe.open_capture
    monkeypatch.setattr(probe, "open_capture", lambda path: opened.append(str(path)) or real(path))
    first = probe.probe_video(video)
    assert probe.probe_video(video) == first and len(opened) == 1
    stat = os.stat(video)
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert probe.probe_video(video) == first and len(opened) == 2  # touched: probed again
