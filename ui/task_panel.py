"""The running job in the status bar: title, stage, bar, an honest time left, Cancel; never modal.

The window stays usable while a job runs (play, mark, edit settings): the worker has its
own copy of the session, and the actions that would start a second job are disabled.
"""

from __future__ import annotations

import statistics
import time
from collections import deque

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ui.workers import Worker

#: the estimate is shown only once this many successive ones agree within :data:`STABLE_SPREAD`
STABLE_COUNT = 4
STABLE_SPREAD = 0.25


def format_eta(seconds: float | None) -> str:
    """``"about 1 min 05 s left"`` style text; ``"estimating…"`` when unknown."""
    if seconds is None:
        return "estimating time left…"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {seconds // 60} min {seconds % 60:02d} s left"


class EtaEstimator:
    """Time left from elapsed time and fraction done (linear), shown only once it has settled.

    A job's first stages (start-up, model loading) run at another pace than the rest, so an
    early estimate can be off by minutes; no estimate is better than a wrong one.
    """

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._start = clock()
        self._recent: deque[float] = deque(maxlen=STABLE_COUNT)

    def estimate(self, fraction: float) -> float | None:
        """Seconds left, or None while there is too little to go on or the estimates still move."""
        elapsed = self._clock() - self._start
        if fraction < 0.02 or elapsed < 0.5:
            return None
        left = elapsed * (1.0 - fraction) / fraction
        total = elapsed + left
        self._recent.append(total)
        if len(self._recent) < STABLE_COUNT:
            return None
        middle = statistics.median(self._recent)
        if max(abs(t - middle) for t in self._recent) > STABLE_SPREAD * middle:
            return None
        return left


class TaskPanel(QWidget):
    """Shows one worker's stage and progress with an ETA; Cancel aborts it cooperatively.

    It hides itself when the worker finishes (returned, aborted or errored).
    """

    def __init__(self, worker: Worker, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("task")
        self._worker = worker
        self._eta = EtaEstimator()
        self.title_label = QLabel(f"<b>{title}</b>")
        self.stage_label = QLabel("Starting…")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the first report: a bar that sits empty looks stuck
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.eta_label = QLabel(format_eta(None))
        self.eta_label.setObjectName("secondary")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job at its next check; nothing it made is kept")
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        for widget in (self.title_label, self.stage_label, self.bar, self.eta_label, self.cancel_button):
            layout.addWidget(widget)
        worker.progressed.connect(self._on_progress)
        worker.finished.connect(self._on_finished)

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1000)
        self.bar.setValue(int(round(fraction * 1000)))
        if message and self.cancel_button.isEnabled():
            self.stage_label.setText(message[:1].upper() + message[1:])
        self.eta_label.setText(format_eta(self._eta.estimate(fraction)))

    @Slot()
    def cancel(self) -> None:
        """Abort the worker; the panel stays until the worker has actually stopped."""
        self._worker.abort()
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("Cancelling…")

    @Slot()
    def _on_finished(self) -> None:
        self.hide()
        self.deleteLater()
