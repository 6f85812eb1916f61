"""The takes list with a waveform thumbnail per take, A/B slots, and the stem mixer below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from expotion_engine.types import TempoMap
from ui.mixer import MixerPanel
from ui.theme import color
from ui.waveform import Peaks

THUMB = QSize(120, 30)


def tempo_label(tempo_map: TempoMap) -> str:
    """The take's tempo as the list shows it: ``74.5 BPM``, or ``61–75 BPM`` for one that changes (its first
    tempo alone would say less than the take plays)."""
    bpms = [change.bpm for change in tempo_map.tempos]
    low, high = min(bpms), max(bpms)
    if round(low) == round(high):
        return f"{round(bpms[0], 1):g}\u00a0BPM"  # a wrapped line never leaves the number without its unit
    return f"{low:.0f}–{high:.0f}\u00a0BPM"


@dataclass(frozen=True, eq=False)
class TakeRow:
    """What the list shows of one take."""

    label: str
    detail: str
    peaks: Peaks | None


def waveform_icon(peaks: Peaks | None, size: QSize = THUMB) -> QIcon:
    """A small filled waveform of ``peaks`` (blank when None)."""
    pixmap = QPixmap(size)
    pixmap.fill(QColor("#16171a"))
    if peaks is not None and len(peaks.low):
        width, height = size.width(), size.height()
        edges = np.linspace(0, len(peaks.low), width + 1).astype(int)
        scale = height / 2 / max(float(max(np.abs(peaks.low).max(), np.abs(peaks.high).max())), 1e-3)
        upper, lower = [], []
        for x in range(width):
            a, b = edges[x], max(edges[x + 1], edges[x] + 1)
            upper.append(QPointF(x, height / 2 - float(peaks.high[a:b].max()) * scale))
            lower.append(QPointF(x, height / 2 - float(peaks.low[a:b].min()) * scale))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color("waveform"))
        painter.drawPolygon(QPolygonF(upper + lower[::-1]))
        painter.end()
    return QIcon(pixmap)


class TakesPanel(QWidget):
    """Lists takes; selecting one makes it current; A/B compares two of them."""

    takeActivated = Signal(int)
    slotAssigned = Signal(str, int)  # "A" or "B", take index
    compareRequested = Signal()
    deleteRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setIconSize(THUMB)
        self.list.setMinimumHeight(110)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._on_row)
        self.set_a = QPushButton("Set A")
        self.set_a.setToolTip("Use the selected take as A")
        self.set_a.clicked.connect(lambda: self._assign("A"))
        self.set_b = QPushButton("Set B")
        self.set_b.setToolTip("Use the selected take as B")
        self.set_b.clicked.connect(lambda: self._assign("B"))
        self.compare = QPushButton("A ⇄ B")
        self.compare.setToolTip("Switch between take A and take B at the playhead (T)")
        self.compare.clicked.connect(self.compareRequested)
        self.delete = QPushButton("Delete")
        self.delete.setToolTip("Remove the selected take from the session")
        self.delete.clicked.connect(lambda: self.list.currentRow() >= 0 and self.deleteRequested.emit(
            self.list.currentRow()))
        self.slots = QLabel("A: –   B: –")
        self.slots.setObjectName("secondary")
        buttons = QHBoxLayout()
        for button in (self.set_a, self.set_b, self.compare, self.delete):
            buttons.addWidget(button)
        self.mixer = MixerPanel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.slots)
        layout.addWidget(QLabel("Stem mixer"))
        layout.addWidget(self.mixer, 1)
        self._update_buttons()

    def set_takes(self, rows: Sequence[TakeRow], current: int, slots: dict[str, int | None]) -> None:
        """Show ``rows`` with ``current`` selected and the A/B assignment."""
        self.list.blockSignals(True)
        self.list.clear()
        for i, row in enumerate(rows):
            tags = "".join(f" [{slot}]" for slot, idx in sorted(slots.items()) if idx == i)
            item = QListWidgetItem(waveform_icon(row.peaks), f"{row.label}{tags}\n{row.detail}")
            item.setToolTip(row.detail)
            self.list.addItem(item)
        self.list.setCurrentRow(current)
        self.list.blockSignals(False)
        names = {slot: (rows[idx].label if idx is not None and 0 <= idx < len(rows) else "–")
                 for slot, idx in slots.items()}
        self.slots.setText(f"A: {names.get('A', '–')}   B: {names.get('B', '–')}")
        self._update_buttons()

    def _on_row(self, row: int) -> None:
        self._update_buttons()
        if row >= 0:
            self.takeActivated.emit(row)

    def _assign(self, slot: str) -> None:
        if self.list.currentRow() >= 0:
            self.slotAssigned.emit(slot, self.list.currentRow())

    def _update_buttons(self) -> None:
        has = self.list.currentRow() >= 0
        for button in (self.set_a, self.set_b, self.delete):
            button.setEnabled(has)
        self.compare.setEnabled(self.list.count() >= 2)
