"""The bar under the picture: shuttle buttons, timecode of the playhead, in and out points."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from studio.timecode import TimecodeRate, choose_rate
from ui.theme import tinted_icon
from ui.timecode import format_timecode
from ui.transport import Transport


class TransportBar(QWidget):
    """Buttons that drive a :class:`Transport` and a readout of where it is."""

    def __init__(self, transport: Transport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._transport = transport
        self._in = 0.0
        self._out: float | None = None
        self._tc_start = 0.0
        self._rate: TimecodeRate | None = None
        style = self.style()
        pixmaps = QStyle.StandardPixmap
        buttons = (
            ("in", pixmaps.SP_MediaSkipBackward, "Go to the in point (Home)", self._go_in),
            ("back", pixmaps.SP_MediaSeekBackward, "Play backward; again for faster (J)", transport.shuttle_backward),
            ("play", pixmaps.SP_MediaPlay, "Play / pause (Space)", transport.toggle),
            ("forward", pixmaps.SP_MediaSeekForward, "Play forward; again for faster (L)", transport.shuttle_forward),
            ("out", pixmaps.SP_MediaSkipForward, "Go to the out point (End)", self._go_out),
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.buttons: dict[str, QToolButton] = {}
        for name, pixmap, tip, slot in buttons:
            button = QToolButton()
            button.setIcon(tinted_icon(style.standardIcon(pixmap)))
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(slot)
            layout.addWidget(button)
            self.buttons[name] = button
        self.play_button = self.buttons["play"]
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.timecode = QLabel()
        self.timecode.setFont(mono)
        self.timecode.setToolTip("Playhead timecode (HH:MM:SS:FF, from the video's first frame)")
        self.range_label = QLabel()
        self.range_label.setObjectName("secondary")
        self.range_label.setFont(mono)
        self.range_label.setToolTip("In and out points of the scored range (I / O)")
        layout.addSpacing(10)
        layout.addWidget(self.timecode)
        layout.addStretch(1)
        layout.addWidget(self.range_label)
        transport.positionChanged.connect(self._show_position)
        transport.playingChanged.connect(lambda on: self.play_button.setIcon(
            tinted_icon(style.standardIcon(pixmaps.SP_MediaPause if on else pixmaps.SP_MediaPlay))))
        self._show_position(0.0)

    def set_range(self, start: float, end: float | None, timecode_start: float = 0.0,
                  rate: TimecodeRate | None = None) -> None:
        """Show the in and out points (video time, s; ``end`` None: the end of the video) as timecode
        counted from ``timecode_start`` (the first frame's timecode, s) at ``rate`` (None: the video's)."""
        self._in, self._out, self._tc_start, self._rate = start, end, timecode_start, rate
        self._show_position(self._transport.position)

    @property
    def rate(self) -> TimecodeRate:
        """The timecode rate the readouts count at."""
        return self._rate if self._rate is not None else choose_rate(self._transport.fps).rate

    def _show_range(self) -> None:
        fps = self.rate
        end = self._out if self._out is not None else self._transport.duration
        tc = self._tc_start
        self.range_label.setText(f"IN {format_timecode(tc + self._in, fps)}   OUT {format_timecode(tc + end, fps)}")

    @Slot(float)
    def _show_position(self, seconds: float) -> None:
        fps = self.rate
        tc = self._tc_start
        self.timecode.setText(f"{format_timecode(tc + seconds, fps)}  /  "
                              f"{format_timecode(tc + self._transport.duration, fps)}")
        self._show_range()

    def _go_in(self) -> None:
        self._transport.seek(self._in)

    def _go_out(self) -> None:
        self._transport.seek(self._out if self._out is not None else self._transport.duration)
