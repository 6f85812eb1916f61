"""Errors as dialogs: the one-sentence message up front, the details (traceback) on request."""

from __future__ import annotations

import logging
import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from expotion_engine.errors import ExpotionError

log = logging.getLogger(__name__)


def error_summary(exc: BaseException) -> str:
    """The sentence to show: the ExpotionError message as written, or a plain bug notice."""
    if isinstance(exc, ExpotionError):
        return str(exc) or type(exc).__name__
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"Something went wrong inside Expotion Studio ({type(exc).__name__}{': ' + first if first else ''})."


def error_details(exc: BaseException) -> str:
    """The full traceback text for the dialog's details area."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def build_error_box(title: str, exc: BaseException, parent: QWidget | None = None) -> QMessageBox:
    """A warning box with the summary as text and the traceback behind "Show Details…"."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if isinstance(exc, ExpotionError) else QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(error_summary(exc))
    box.setDetailedText(error_details(exc))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_error(title: str, exc: BaseException, parent: QWidget | None = None) -> QMessageBox:
    """Log the error and open its dialog without blocking the event loop; returns the box."""
    if isinstance(exc, ExpotionError):
        log.info("%s: %s", title, exc)
    else:
        log.error("%s", title, exc_info=(type(exc), exc, exc.__traceback__))
    box = build_error_box(title, exc, parent)
    box.open()
    return box
