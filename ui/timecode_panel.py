"""The Session panel's timecode fields: the source's start timecode and the rate it is counted at.

Deliveries (BWF TimeReference, EDL record times, MIDI SMPTE offset, marker lists) place the
music at the source's timecode, so material that starts at 01:00:00:00 must say so here.
Labels are parsed and written by :mod:`studio.timecode` (drop frame included).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from expotion_engine.errors import ExpotionError
from studio.timecode import RateChoice, TimecodeRate, parse_rate, parse_timecode
from ui.timecode import format_timecode

#: declared rates offered (the session's ``timecode_rate`` text); None: the one chosen for the video
RATE_CHOICES: tuple[str, ...] = ("23.976", "24", "25", "29.97df", "29.97ndf", "30", "50", "59.94df", "59.94ndf",
                                 "60")


class TimecodePanel(QWidget):
    """Edits ``timecode_start`` (s) and ``timecode_rate`` (text or None); ``invalid`` for a label it cannot read."""

    settingEdited = Signal(str, object)
    invalid = Signal(object)  # ExpotionError

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rate = TimecodeRate(25)
        self._start = 0.0
        self.rate = QComboBox()
        self.rate.addItem("From the video", None)
        for text in RATE_CHOICES:
            self.rate.addItem(parse_rate(text).label, text)
        self.rate.setToolTip("The rate the source's timecode counts at (29.97 and 59.94: drop frame or not)")
        self.rate.currentIndexChanged.connect(self._on_rate)
        self.start = QLineEdit()
        self.start.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.start.setPlaceholderText("00:00:00:00")
        self.start.setToolTip("Timecode of the video's first frame (HH:MM:SS:FF), e.g. 01:00:00:00")
        self.start.editingFinished.connect(self.commit_pending)
        self.note = QLabel()
        self.note.setObjectName("secondary")
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Start timecode", self.start)
        form.addRow("Timecode rate", self.rate)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def show_settings(self, start: float, declared: str | None, choice: RateChoice) -> None:
        """Show the session's values without emitting edits."""
        self._rate, self._start = choice.rate, float(start)
        self.rate.blockSignals(True)
        index = self.rate.findData(declared) if declared else 0
        if declared and index < 0:
            index = self.rate.findData(_canonical(declared))
        self.rate.setCurrentIndex(max(index, 0))
        self.rate.setItemText(0, f"From the video ({choice.rate.label})" if not choice.declared else "From the video")
        self.rate.blockSignals(False)
        self.start.setText(format_timecode(self._start, self._rate))
        self.start.setModified(False)
        self.note.setText(choice.note[0].upper() + choice.note[1:] + ".")

    def commit_pending(self) -> None:
        """Report a start timecode typed but not yet committed (the window's actions call this first)."""
        if not self.start.isModified():
            return
        self.start.setModified(False)
        try:
            seconds = parse_timecode(self.start.text(), self._rate)
        except ExpotionError as exc:
            self.start.setText(format_timecode(self._start, self._rate))
            self.invalid.emit(exc)
            return
        self.settingEdited.emit("timecode_start", seconds)

    def _on_rate(self, _index: int) -> None:
        self.commit_pending()
        self.settingEdited.emit("timecode_rate", self.rate.currentData())


def _canonical(declared: str) -> str | None:
    """The offered choice that means the same rate as ``declared`` (``"29.97"`` is ``"29.97df"``)."""
    try:
        rate = parse_rate(declared)
    except ExpotionError:
        return None
    return next((text for text in RATE_CHOICES if parse_rate(text) == rate), None)
