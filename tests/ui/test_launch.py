"""``python launch_studio.py [VIDEO|SESSION]``: the parser as a subprocess, the window in-process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from studio.demo.scenarios import Clip
from ui.app import get_parser, open_window

ROOT = Path(__file__).resolve().parents[2]


def test_launch_help_as_a_subprocess() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "launch_studio.py"), "--help"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "a video to score, or a session file (.expotion)" in result.stdout


def test_a_path_on_the_command_line_opens(qapp, qtbot, face_clip: Clip, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    args = get_parser().parse_args([str(face_clip.path)])
    window = open_window(args.path, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.document.has_video and window.transport.duration > 0, timeout=20_000)
    assert window.session.video == face_clip.path.resolve()
    assert window.windowTitle().startswith(face_clip.path.stem)


def test_start_up_offers_to_recover_the_last_session(qapp, qtbot, session_copy: Path, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from studio.session import Session

    session = Session.load(session_copy)
    session.add_marker(3.0, "unsaved")
    session.autosave()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("recent_sessions", [str(session_copy)])
    answered = []

    def answer_yes() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.objectName() == "recover":
            answered.append(box.text())
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            QTimer.singleShot(50, answer_yes)

    QTimer.singleShot(50, answer_yes)
    window = open_window(None, settings)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    assert session_copy.name in answered[0]
    assert [m.name for m in window.session.user_markers] == ["door", "unsaved"]
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30_000)
    window.document.save()  # so that closing the window does not ask


def test_screenshot_tool_writes_the_steps(face_clip: Clip, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    out = tmp_path / "shots"
    result = subprocess.run([sys.executable, "-m", "ui.screenshots", str(out), "--offscreen", "--video",
                             str(face_clip.path)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    names = sorted(p.name for p in out.glob("*.png"))
    steps = [name[3:-4] for name in names]
    # the background analysis and the generating task are caught only when they run long enough
    assert [s for s in steps if s not in ("analysing", "generating")] == [
        "video", "analysis", "markers", "score", "timecode", "shortcuts", "take", "stems"]
    assert [int(name[:2]) for name in names] == list(range(1, len(names) + 1))
    take = QImage(str(out / names[-1]))
    assert (take.width(), take.height()) == (1500, 900)
    assert (out / "session" / f"{face_clip.path.stem}.expotion").is_file()
