"""The current take's audio as the mixer plays it, rendered to a WAV off the GUI thread.

Why a file per mixer change: QMediaPlayer plays it through the same clock and device
logic as the video, so sync, seeking and playback rate behave identically with or without
a sound card (offscreen, tests and CI have none), and the bytes the user hears can be
checked. Changes are debounced (``DEBOUNCE_MS``) so dragging a gain slider renders once
when it settles; a 16-second take renders in a few milliseconds. The WAV is written block by
block (:func:`studio.stem_mix.write_mixdown`), so a long take's stems on disk are never loaded
whole and the render's memory does not grow with the take.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import Take
from studio.stem_mix import write_mixdown
from ui.mixdown import MixerState
from ui.transport import Transport
from ui.workers import Worker

log = logging.getLogger(__name__)

DEBOUNCE_MS = 120


def write_mix_wav(take: Take, state: MixerState, path: Path, *, progress: ProgressFn | None = None,
                  cancel: CancelEvent | None = None) -> Path:
    """Render ``take`` through the mixer ``state`` into a 16-bit WAV at ``path``, block by block."""
    names = tuple(s.name for s in take.stems)
    gains = None if not names or state.is_neutral(names) else state.gains(names)
    write_mixdown(take, gains, path, "PCM_16", progress=progress, cancel=cancel)
    if progress is not None:
        progress(1.0, "mix rendered")
    return path


class TakeAudio(QObject):
    """Feeds the transport a WAV of the current take with the current mixer state."""

    rendered = Signal(Path)
    failed = Signal(object)

    def __init__(self, transport: Transport, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._transport = transport
        self._folder = Path(tempfile.mkdtemp(prefix="expotion-mix-"))
        self._counter = itertools.count(1)
        self._take: Take | None = None
        self._start = 0.0
        self._state = MixerState()
        self._worker: Worker | None = None
        self._pending = False
        self._current: Path | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._render)

    @property
    def current_path(self) -> Path | None:
        """The WAV the transport is playing now."""
        return self._current

    @property
    def take(self) -> Take | None:
        """The take being played."""
        return self._take

    @property
    def state(self) -> MixerState:
        return self._state

    def set_take(self, take: Take | None, start: float = 0.0, state: MixerState | None = None) -> None:
        """Switch to ``take`` placed at video time ``start``; renders at once."""
        self._take = take
        self._start = float(start)
        self._state = state or MixerState()
        self._debounce.stop()
        if take is None:
            self._transport.set_take_audio(None)
            self._current = None
            return
        self._render()

    def set_state(self, state: MixerState) -> None:
        """New mixer settings; rendered after the debounce interval."""
        self._state = state
        if self._take is not None:
            self._debounce.start()

    def is_busy(self) -> bool:
        return self._debounce.isActive() or self._worker is not None

    @Slot()
    def _render(self) -> None:
        if self._take is None:
            return
        if self._worker is not None:
            self._pending = True
            return
        take, state = self._take, self._state
        path = self._folder / f"mix-{next(self._counter):04d}.wav"
        worker = Worker(write_mix_wav, take, state, path, name="mixdown")
        worker.returned.connect(lambda p, t=take: self._on_rendered(t, p))
        worker.errored.connect(self.failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker.start()

    def _on_rendered(self, take: Take, path: Path) -> None:
        if take is not self._take:
            return
        previous = self._current
        self._current = path
        self._transport.set_take_audio(path, self._start, take.duration)
        if previous is not None and previous != path:
            previous.unlink(missing_ok=True)
        self.rendered.emit(path)

    @Slot()
    def _on_finished(self) -> None:
        self._worker = None
        if self._pending:
            self._pending = False
            self._render()

    def close(self) -> None:
        """Stop rendering and delete the temporary WAVs."""
        self._debounce.stop()
        if self._worker is not None:
            self._worker.abort()
            self._worker.wait()
        self._transport.set_take_audio(None)
        shutil.rmtree(self._folder, ignore_errors=True)
