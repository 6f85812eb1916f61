"""Dialogs of the timeline workflow: the media a timeline misses, and what a conform did."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.theme import COLORS
from ui.timeline_media import MissingMediaError

#: the missing rows' text colour
MISSING = "#f0605d"


class MissingMediaDialog(QDialog):
    """Every media file of a timeline, where it was found or that it was not, and how to fix it."""

    def __init__(self, error: MissingMediaError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missing-media")
        self.setWindowTitle("Media not found")
        missing = error.missing
        summary = QLabel(f"{len(missing)} of the {len(error.media)} media files this timeline uses "
                         f"{'is' if len(missing) == 1 else 'are'} not found. Put "
                         f"{'it' if len(missing) == 1 else 'them'} next to the timeline file or in a folder below "
                         "it (the names must match), then open the timeline again.")
        summary.setWordWrap(True)
        self.table = QTableWidget(len(error.media), 3)
        self.table.setHorizontalHeaderLabels(["Media file", "First clip", "Found at"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        ordered = sorted(error.media, key=lambda m: m.found is not None)  # the missing ones first
        for row, media in enumerate(ordered):
            where = QTableWidgetItem("not found" if media.found is None else str(media.found))
            cells = (QTableWidgetItem(media.name), QTableWidgetItem(media.clip), where)
            for column, cell in enumerate(cells):
                if media.found is None:
                    cell.setForeground(QColor(MISSING))
                self.table.setItem(row, column, cell)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(720, 320)

    def missing_names(self) -> list[str]:
        """The file names shown as not found, top to bottom."""
        return [self.table.item(r, 0).text() for r in range(self.table.rowCount())
                if self.table.item(r, 2).text() == "not found"]


class ConformReportDialog(QDialog):
    """What a conform did: the picture's changes, the music's, and each hit's fate (the command's tables)."""

    def __init__(self, title: str, lines: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conform-report")
        self.setWindowTitle("Conform report")
        heading = QLabel(title)
        heading.setWordWrap(True)
        self.text = QPlainTextEdit("\n".join(lines))
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setStyleSheet(f"background: {COLORS['lane']};")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(760, 420)
