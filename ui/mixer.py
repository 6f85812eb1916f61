"""The stem mixer: one strip per stem of the current take with mute, solo, gain and a level meter."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from expotion_engine.types import Take
from ui.mixdown import MAX_GAIN_DB, METER_FLOOR_DB, MIN_GAIN_DB, MixerState, meter_shade, stem_levels


class MixerPanel(QWidget):
    """Emits ``stateChanged(MixerState)`` whenever a strip changes."""

    stateChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = MixerState()
        self._rows: dict[str, tuple[QPushButton, QPushButton, QSlider, QLabel, QProgressBar]] = {}
        self._take: Take | None = None
        self._position = 0.0
        self._levels: dict[str, float] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("Stems of the current take appear here.")
        self._empty.setObjectName("secondary")
        outer.addWidget(self._empty)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._grid_host)
        outer.addStretch(1)

    @property
    def state(self) -> MixerState:
        return self._state

    def set_take(self, take: Take | None, state: MixerState | None = None) -> None:
        """Rebuild the strips for ``take``'s stems, showing ``state`` (unity when None)."""
        self._state = state or MixerState()
        self._take = take
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._rows.clear()
        stems = take.stems if take is not None else ()
        self._empty.setVisible(not stems)
        for row, stem in enumerate(stems):
            name = QLabel(stem.name)
            name.setObjectName("title")
            name.setToolTip(f"{stem.name}: {stem.origin} stem" + (f", {len(stem.notes)} notes" if stem.notes else ""))
            mute = QPushButton("M")
            mute.setCheckable(True)
            mute.setFixedWidth(28)
            mute.setToolTip(f"Mute {stem.name}")
            solo = QPushButton("S")
            solo.setCheckable(True)
            solo.setFixedWidth(28)
            solo.setToolTip(f"Solo {stem.name}")
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(int(MIN_GAIN_DB * 2), int(MAX_GAIN_DB * 2))  # half-dB steps
            slider.setToolTip(f"{stem.name} gain (dB); double-click the value to reset")
            value = QLabel()
            value.setMinimumWidth(54)
            setting = self._state.setting(stem.name)
            mute.setChecked(setting.mute)
            solo.setChecked(setting.solo)
            slider.setValue(int(round(setting.gain_db * 2)))
            value.setText(f"{setting.gain_db:+.1f} dB")
            meter = QProgressBar()
            meter.setRange(int(METER_FLOOR_DB * 10), 0)  # tenths of a dB
            meter.setValue(int(METER_FLOOR_DB * 10))
            meter.setTextVisible(False)
            meter.setFixedSize(64, 8)
            meter.setToolTip(f"{stem.name} level at the playhead (peak dBFS, after the strip)")
            mute.toggled.connect(lambda on, n=stem.name: self._change(n, mute=on))
            solo.toggled.connect(lambda on, n=stem.name: self._change(n, solo=on))
            slider.valueChanged.connect(lambda v, n=stem.name: self._change(n, gain_db=v / 2.0))
            # the stem's origin is in the name's tooltip: a column for it left the gain slider no room
            for col, widget in enumerate((name, mute, solo, slider, value, meter)):
                self._grid.addWidget(widget, row, col)
            self._rows[stem.name] = (mute, solo, slider, value, meter)
        self._grid.setColumnStretch(3, 1)

    @property
    def levels(self) -> dict[str, float]:
        """Each stem's level (peak dBFS, after its strip) at the last position shown."""
        return dict(self._levels)

    def stem_names(self) -> list[str]:
        """The stems that have a strip, top to bottom."""
        return list(self._rows)

    def mute_button(self, stem: str) -> QPushButton:
        return self._rows[stem][0]

    def solo_button(self, stem: str) -> QPushButton:
        return self._rows[stem][1]

    def gain_slider(self, stem: str) -> QSlider:
        return self._rows[stem][2]

    def meter(self, stem: str) -> QProgressBar:
        return self._rows[stem][4]

    def set_position(self, seconds: float) -> None:
        """Show each stem's level at music time ``seconds`` (the playhead) on its meter."""
        self._position = float(seconds)
        if self._take is None or not self._rows:
            self._levels = {}
            return
        self._levels = stem_levels(self._take, self._state, seconds)
        for name, level in self._levels.items():
            if name in self._rows:
                meter = self._rows[name][4]
                meter.setValue(int(round(level * 10)))
                shade = meter_shade(level)
                if meter.property("shade") != shade:  # restyled only when the colour changes, not every frame
                    meter.setProperty("shade", shade)
                    meter.setStyleSheet(f"QProgressBar {{ background: #15161a; border: none; border-radius: 2px; }}"
                                        f"QProgressBar::chunk {{ background: {shade}; border-radius: 2px; }}")

    def _change(self, name: str, **changes: float | bool) -> None:
        self._state = self._state.with_stem(name, **changes)
        self._rows[name][3].setText(f"{self._state.setting(name).gain_db:+.1f} dB")
        self.set_position(self._position)
        self.stateChanged.emit(self._state)
