"""Analysis settings (smoothing, hit threshold, frames analysed per second) and Re-analyse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from expotion_engine.types import ControlTrack

#: setting name -> (label, minimum, maximum, step, decimals, suffix, help)
FIELDS: dict[str, tuple[str, float, float, float, int, str, str]] = {
    "smoothing": ("Smoothing", 0.0, 2.0, 0.02, 2, " s",
                  "Gaussian smoothing of the curves (seconds); more smoothing, calmer music."),
    "hit_threshold": ("Hit threshold", 0.2, 5.0, 0.1, 2, "",
                      "How sudden a change must be to count as a hit point; higher, fewer hits."),
    "analysis_fps": ("Frames analysed", 1.0, 30.0, 1.0, 0, " /s",
                     "Video frames analysed per second; more is slower and catches quicker moves."),
}


class AnalysisPanel(QWidget):
    """Edits analysis settings (``settingEdited(name, value)``) and asks to re-analyse."""

    settingEdited = Signal(str, object)
    analyseRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spins: dict[str, QDoubleSpinBox] = {}
        form = QFormLayout()
        for name, (label, lo, hi, step, decimals, suffix, help_text) in FIELDS.items():
            spin = QDoubleSpinBox()
            spin.setRange(lo, hi)
            spin.setSingleStep(step)
            spin.setDecimals(decimals)
            spin.setSuffix(suffix)
            spin.setToolTip(help_text)
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda value, n=name: self.settingEdited.emit(n, float(value)))
            form.addRow(label, spin)
            self.spins[name] = spin
        self.analyse_button = QPushButton("Analyse video")
        self.analyse_button.setToolTip("Analyse faces, bodies and motion of the in–out range with these settings")
        self.analyse_button.clicked.connect(self.analyseRequested)
        self.summary = QLabel("Not analysed yet.")
        self.summary.setObjectName("secondary")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.analyse_button)
        layout.addWidget(self.summary)
        layout.addStretch(1)

    def show_settings(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` without emitting edits."""
        for name, spin in self.spins.items():
            if name in values and values[name] is not None:
                spin.blockSignals(True)
                spin.setValue(float(values[name]))
                spin.blockSignals(False)

    def commit_pending(self) -> None:
        """Report values typed into the boxes but not yet committed (Enter or focus-out)."""
        for spin in self.spins.values():
            spin.interpretText()

    def show_analysis(self, track: ControlTrack | None, stale: bool = False) -> None:
        """Summarise the current analysis; ``stale`` when settings or range changed since."""
        self.analyse_button.setText("Re-analyse" if track is not None else "Analyse video")
        if track is None:
            self.summary.setText("Not analysed yet.")
            return
        faces = track.settings.get("max_faces_seen")
        valid = float(track.mask[:, track.index("energy")].mean()) if track.has("energy") else 0.0
        parts = [
            f"{track.duration:.1f} s analysed at {track.rate:g} Hz",
            f"{len(track.markers)} hit points",
            f"people seen {valid:.0%} of the time",
        ]
        if faces is not None:
            parts.append(f"up to {faces} face{'' if faces == 1 else 's'} in frame")
        text = "; ".join(parts) + "."
        if stale:
            text += " Settings or range changed: press Re-analyse."
        self.summary.setText(text)
