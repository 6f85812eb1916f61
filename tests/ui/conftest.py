"""Fixtures for the desktop app tests: offscreen Qt, a private analysis cache, a scored session.

``scored_session`` is made once per test session through studio's real pipeline (the
face clip analysed, two procedural takes with different seeds) so the takes, mixer and
export tests open a real session file instead of generating again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from studio import pipeline  # noqa: E402
from studio.demo.scenarios import Clip  # noqa: E402
from studio.session import Session  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Analyses go to a temporary cache, never the user's."""
    folder = tmp_path_factory.mktemp("cache")
    before = os.environ.get("EXPOTION_CACHE_DIR")
    os.environ["EXPOTION_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("EXPOTION_CACHE_DIR", None)
    else:
        os.environ["EXPOTION_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def scored_session(tmp_path_factory: pytest.TempPathFactory, face_clip: Clip) -> Path:
    """A saved session of the face clip with two procedural takes (seeds 1 and 2) and one user marker."""
    folder = tmp_path_factory.mktemp("scored")
    session = Session.for_video(face_clip.path)
    session.add_marker(1.2, "door")
    session.save(folder / "face.expotion")
    controls = pipeline.analyze_session(session)
    for seed in (1, 2):
        session.seed = seed
        pipeline.generate_take(session, controls)
    session.save()
    return session.path


@pytest.fixture
def session_copy(scored_session: Path, tmp_path: Path) -> Path:
    """A private copy of the scored session folder (tests may edit and save it)."""
    target = tmp_path / "project"
    shutil.copytree(scored_session.parent, target)
    return target / scored_session.name


@pytest.fixture
def window(qapp, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A main window with its own settings file; closing it never asks to save."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from ui.main_window import MainWindow
    from ui.theme import apply_dark_theme

    apply_dark_theme(qapp)
    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), autosave_ms=3_600_000)
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.fixture
def wait_job(qtbot) -> Callable:
    """Wait for a worker to finish (up to ``timeout`` ms) and return it."""

    def wait(worker, timeout: int = 60_000):
        assert worker is not None, "the window did not start the job"
        qtbot.waitUntil(worker.is_finished, timeout=timeout)
        return worker

    return wait


def activate(window, qtbot) -> None:
    """Make ``window`` the active window again (offscreen, closing a dialog leaves none active)."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)


@pytest.fixture
def opened(window, qtbot, face_clip: Clip):
    """The window with the face clip open and its first frame shown."""
    window.open_path(face_clip.path)
    qtbot.waitUntil(lambda: window.document.has_video and window.transport.duration > 0, timeout=20_000)
    return window


@pytest.fixture
def loaded(window, qtbot, session_copy: Path):
    """The window with the scored session open, its analysis shown and the chosen take's audio ready."""
    window.open_session(session_copy)
    qtbot.waitUntil(lambda: not window.jobs.busy and window.document.controls is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.take_audio.current_path is not None, timeout=20_000)
    activate(window, qtbot)
    return window
