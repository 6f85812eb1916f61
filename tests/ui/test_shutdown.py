"""Quitting while workers run: every thread is cancelled and joined, none destroyed running, exit status 0."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.demo.scenarios import Clip

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

#: opens the clip in the real window, starts its analysis and a job that reaches no cancellation check
#: for 1.5 s (like an import), then closes the window (Ctrl+Q's path) while both run; after the event
#: loop has ended, one more such job is left running when the script exits (only the exit hook joins it)
SCRIPT = textwrap.dedent("""
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from pathlib import Path
    from PySide6.QtCore import QSettings, QTimer
    from ui.app import application, open_window
    from ui.workers import Worker

    def stubborn(*, progress, cancel):
        time.sleep(1.5)
        print("stubborn job done", flush=True)

    app = application()
    window = open_window(Path(sys.argv[1]), QSettings(sys.argv[2], QSettings.Format.IniFormat))
    first = Worker(stubborn, name="stubborn")
    analysis = []

    def when_analysing():
        if window.jobs.busy and window.jobs.worker.name == "Analysing the video":
            analysis.append(window.jobs.worker)
            first.start()
            QTimer.singleShot(100, window.close)
            return
        if window.document.has_video and not window.jobs.busy:
            window.analyse()
        QTimer.singleShot(20, when_analysing)

    QTimer.singleShot(0, when_analysing)
    app.exec()
    print("event loop left; analysis aborted:", analysis[0].abort_requested, flush=True)
    Worker(stubborn, name="left running").start()
    sys.exit(0)
""")


def test_quitting_during_a_job_exits_cleanly(face_clip: Clip, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-X", "faulthandler", "-c", SCRIPT, str(face_clip.path),
                             str(tmp_path / "settings.ini")], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**__import__("os").environ, "EXPOTION_CACHE_DIR": str(tmp_path / "cache")})
    assert "event loop left; analysis aborted: True" in result.stdout, result.stderr[-3000:]
    assert result.stdout.count("stubborn job done") == 2  # both joined, none destroyed running
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Destroyed while thread" not in result.stderr


def test_closing_releases_the_players_without_stopping_them(opened, qtbot, monkeypatch) -> None:
    """QMediaPlayer.stop() rebuilds the FFmpeg backend's decoders on the GUI thread; closing never calls it."""
    window = opened
    window.transport.play()
    qtbot.waitUntil(lambda: window.transport.video.position() > 0, timeout=10_000)
    window.transport.seek(0.5)
    stopped: list[str] = []
    for name in ("video", "take"):
        monkeypatch.setattr(getattr(window.transport, name), "stop", lambda n=name: stopped.append(n))
    window.close()
    assert stopped == []
    assert window.transport.video.source().isEmpty() and window.transport.take.source().isEmpty()
    assert not window.transport.playing
