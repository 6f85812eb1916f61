"""A modal-looking progress dialog for one :class:`~ui.workers.Worker`: stage, bar, ETA, Cancel."""

from __future__ import annotations

import time

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from ui.workers import Worker


def format_eta(seconds: float | None) -> str:
    """``"about 1 min 05 s left"`` style text; ``"estimating…"`` when unknown."""
    if seconds is None:
        return "estimating time left…"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {seconds // 60} min {seconds % 60:02d} s left"


class EtaEstimator:
    """Time left from elapsed time and fraction done (linear), once there is enough to go on."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._start = clock()

    def estimate(self, fraction: float) -> float | None:
        elapsed = self._clock() - self._start
        if fraction < 0.02 or elapsed < 0.5:
            return None
        return elapsed * (1.0 - fraction) / fraction


class ProgressDialog(QDialog):
    """Shows a worker's stage and progress with an ETA; Cancel aborts it cooperatively.

    The dialog closes itself when the worker finishes (returned, aborted or errored).
    """

    def __init__(self, worker: Worker, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(420)
        self._worker = worker
        self._eta = EtaEstimator()
        self.stage_label = QLabel("Starting…")
        self.stage_label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.eta_label = QLabel(format_eta(None))
        self.eta_label.setObjectName("secondary")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{title}</b>"))
        layout.addWidget(self.stage_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.eta_label)
        layout.addWidget(self.buttons)
        worker.progressed.connect(self._on_progress)
        worker.finished.connect(self._on_finished)

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(int(round(fraction * 1000)))
        if message:
            self.stage_label.setText(message[:1].upper() + message[1:])
        self.eta_label.setText(format_eta(self._eta.estimate(fraction)))

    @Slot()
    def cancel(self) -> None:
        """Abort the worker; the dialog stays until the worker has actually stopped."""
        self._worker.abort()
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("Cancelling…")

    @Slot()
    def _on_finished(self) -> None:
        self.done(QDialog.DialogCode.Rejected if self._worker.abort_requested else QDialog.DialogCode.Accepted)

    def reject(self) -> None:
        """Escape or the window's close button cancel the job rather than hide the dialog."""
        if self._worker.is_running():
            self.cancel()
        else:
            super().reject()
