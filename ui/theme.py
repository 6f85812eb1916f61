"""The dark theme: Fusion style, a dark palette and the colours the timeline draws with."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QApplication

WINDOW = "#1e1f22"
BASE = "#16171a"
ALT_BASE = "#24262b"
PANEL = "#2b2d31"
TEXT = "#dcdde0"
DIM_TEXT = "#8b8e96"
ACCENT = "#4c9bf0"

#: Curve and marker colours used by the timeline, waveform and mixer.
COLORS: dict[str, str] = {
    "face": "#f2b45a",
    "motion": "#5ad1c6",
    "energy": "#f0605d",
    "valence": "#9f8cf2",
    "hit": "#f0605d",
    "section": "#6fcf6a",
    "cue": "#f2d05a",
    "user": "#f2d05a",
    "playhead": "#ffffff",
    "inout": "#4c9bf0",
    "waveform": "#7fb4f5",
    "beat": "#3a3d44",
    "bar": "#5d616b",
    "grid": "#2f3238",
    "lane": "#1a1b1f",
    "missing": "#2a1e22",
}

STYLESHEET = f"""
QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid #444; }}
QLabel#secondary {{ color: {DIM_TEXT}; }}
QLabel#title {{ font-weight: 600; }}
QLabel#warning {{ color: #f2b45a; font-weight: 600; }}
QGroupBox {{ border: 1px solid #3a3d44; border-radius: 4px; margin-top: 1.2em; padding-top: 4px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {DIM_TEXT}; }}
QPushButton:checked {{ background: {ACCENT}; color: #10141a; }}
QPushButton#generate {{ background: {ACCENT}; color: #10141a; font-weight: 600; padding: 6px 14px; }}
QPushButton#generate:disabled {{ background: #3a3d44; color: {DIM_TEXT}; }}
QToolButton:checked {{ background: {ACCENT}; color: #10141a; }}
QListWidget::item:selected {{ background: #34496a; color: #ffffff; }}
"""


def dark_palette() -> QPalette:
    """A dark QPalette that keeps disabled text readable."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: ALT_BASE,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: DIM_TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#10141a",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#5f626a"))
    return p


def apply_dark_theme(app: QApplication) -> None:
    """Switch ``app`` to Fusion with the dark palette and the small stylesheet above."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)


def color(name: str) -> QColor:
    """The theme colour called ``name`` (see :data:`COLORS`)."""
    return QColor(COLORS[name])


ICON_SIZE = QSize(20, 20)


def tinted_icon(icon: QIcon, name: str = "", size: QSize = ICON_SIZE) -> QIcon:
    """``icon`` redrawn in the text colour (or theme colour ``name``): Fusion's grey media icons look disabled
    on the dark palette."""
    pixmap = icon.pixmap(size)
    painter = QPainter(pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(pixmap.rect(), color(name) if name else QColor(TEXT))
    painter.end()
    return QIcon(pixmap)
