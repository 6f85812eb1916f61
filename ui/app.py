"""Start the desktop app: ``python launch_studio.py [VIDEO|SESSION]``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from ui.main_window import APP_NAME, MainWindow
from ui.theme import apply_dark_theme


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="launch_studio.py", description=f"{APP_NAME}: score a video's timeline.")
    parser.add_argument("path", nargs="?", type=Path, help="a video to score, or a session file (.expotion)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    return parser


def application(argv: Sequence[str] = ()) -> QApplication:
    """The QApplication (made once) with the app's name and the dark theme."""
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("Expotion")
    apply_dark_theme(app)
    return app


def open_window(path: Path | None = None, settings: QSettings | None = None) -> MainWindow:
    """Show a main window and, once the event loop runs, open ``path`` (a video or a session) or,
    with no path, offer to recover the last session's unsaved work."""
    window = MainWindow(settings)
    window.show()
    if path is not None:
        QTimer.singleShot(0, lambda: window.open_path(path))
    else:
        QTimer.singleShot(0, window.offer_recovery)
    return window


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until its window closes; returns the exit code."""
    args = get_parser().parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    app = application()
    window = open_window(args.path)
    code = app.exec()
    del window
    return int(code)
