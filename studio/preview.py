"""``--preview``: hear a take's first seconds while the rest is generated.

A :class:`Preview` is an engine's ``on_audio(start, block)`` callback. It keeps the
blocks in order, rewrites ``preview.wav`` in the output folder whenever the audio has
grown by a quarter (written to a temporary file and renamed over the old one, so a
player never opens half a file, and the total written stays proportional to the take),
and plays the blocks through the default audio output as they come where there is one
(``sounddevice``); without one it says where the file is. When the take is complete its
``mix.wav`` replaces the preview, which is removed without a word; a run that stops before
(cancelled or failed) keeps it and says once where it is and how many seconds it holds.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)

PREVIEW_NAME = "preview.wav"
#: rewrite the file once the audio has grown by this share of what the file holds (and at the end)
GROWTH = 0.25


class Player:
    """Plays blocks through the default output device as they arrive; silence while it waits for more."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        import sounddevice

        self._lock = threading.Lock()
        self._blocks: list[np.ndarray] = []
        self._offset = 0
        self.device = str(sounddevice.query_devices(kind="output")["name"])
        self._stream = sounddevice.OutputStream(samplerate=sample_rate, channels=channels, dtype="float32",
                                                callback=self._fill)
        self._stream.start()

    def add(self, block: np.ndarray) -> None:
        with self._lock:
            self._blocks.append(np.ascontiguousarray(block.T, dtype=np.float32))

    def _fill(self, out: np.ndarray, frames: int, time: Any, status: Any) -> None:
        written = 0
        with self._lock:
            while written < frames and self._blocks:
                block = self._blocks[0]
                take = min(frames - written, len(block) - self._offset)
                out[written : written + take] = block[self._offset : self._offset + take]
                written += take
                self._offset += take
                if self._offset == len(block):
                    self._blocks.pop(0)
                    self._offset = 0
        out[written:] = 0.0

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def open_player(sample_rate: int, channels: int) -> Player | None:
    """A :class:`Player` on the default output, or None where this machine has no audio output."""
    try:
        return Player(sample_rate, channels)
    except Exception as exc:  # no PortAudio library, no device, a device that refuses the format
        log.info("no audio output for the preview: %s", exc)
        return None


def stale_preview(folder: Path) -> list[Path]:
    """The ``preview.wav`` a stopped run kept in ``folder`` (a finished run removes its own); the next run drops it."""
    path = folder / PREVIEW_NAME
    return [path] if path.is_file() and not path.is_symlink() else []


def kept_sentence(path: Path) -> str | None:
    """The one sentence a stopped run says of the preview it keeps at ``path`` (None when there is none)."""
    if not path.is_file():
        return None
    return (f"preview: {path} stays, with the first {sf.info(str(path)).duration:.1f} s of the take "
            "(the next run into this folder replaces it)")


def _say(message: str) -> None:
    """One line on stderr, above a progress bar if one is drawn."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


class Preview:
    """The ``on_audio`` callback of one run: ``preview.wav`` in ``folder``, played where a device exists."""

    def __init__(self, folder: str | os.PathLike[str], sample_rate: int, *, play: bool = True,
                 say: Callable[[str], None] = _say, player_factory: Callable[[int, int], Player | None] = open_player
                 ) -> None:
        self.path = Path(folder) / PREVIEW_NAME
        self.sample_rate = sample_rate
        self._say = say
        self._play = play
        self._player_factory = player_factory
        self._player: Player | None = None
        self._blocks: list[np.ndarray] = []
        self._samples = 0
        self._written = 0
        self._announced = False
        self._closed = False

    @property
    def seconds(self) -> float:
        """Seconds of audio received so far."""
        return self._samples / self.sample_rate

    def __call__(self, start: int, block: np.ndarray) -> None:
        """Take the next block (``start`` must be where the last one ended)."""
        if start != self._samples:
            raise ValueError(f"preview block starts at sample {start}, expected {self._samples}")
        block = np.asarray(block, np.float32)
        if block.shape[1] == 0:
            return
        self._blocks.append(block)
        self._samples += block.shape[1]
        if not self._announced:
            self._start(block.shape[0])
        if self._player is not None:
            self._player.add(block)
        if self._samples >= self._written * (1.0 + GROWTH):
            self._write()

    def _start(self, channels: int) -> None:
        self._announced = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write()
        if self._play:
            self._player = self._player_factory(self.sample_rate, channels)
        where = f"playing on {self._player.device}" if self._player is not None else "no audio output here; open it"
        self._say(f"preview: the first {self.seconds:.1f} s are in {self.path} ({where})")

    def _write(self) -> None:
        """Replace ``preview.wav`` with everything received so far, atomically."""
        audio = np.concatenate(self._blocks, axis=1)
        handle, name = tempfile.mkstemp(prefix=f".{PREVIEW_NAME}.", suffix=".part", dir=self.path.parent)
        os.close(handle)
        try:
            sf.write(name, audio.T, self.sample_rate, subtype="FLOAT", format="WAV")
            os.replace(name, self.path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        self._blocks = [audio]
        self._written = self._samples

    def close(self, *, complete: bool, announce: bool = True) -> None:
        """Stop playing; a complete take removes the preview silently, an unfinished one keeps it whole and says so
        (unless ``announce`` is False: the caller says it, e.g. the app's window for its child process).

        A second call does nothing. The sentence is said even when a second Ctrl-C interrupts the last
        rewrite, with the seconds the file then holds (it is replaced atomically, so it is always whole).
        """
        if self._closed:
            return
        if self._player is not None:
            self._player.close()
            self._player = None
        if complete and self._announced:
            self.path.unlink(missing_ok=True)
        self._closed = True
        if complete or not self._announced:
            return
        try:
            if self._written < self._samples:
                self._write()
        finally:
            sentence = kept_sentence(self.path) if announce else None
            if sentence is not None:
                self._say(sentence)


@contextmanager
def previewing(folder: Path, sample_rate: int, enabled: bool, *, say: Callable[[str], None] = _say,
               announce: bool = True) -> Iterator[Preview | None]:
    """The :class:`Preview` of one run into ``folder`` (None unless ``enabled``): the take is complete when
    the block ends, and the preview is kept (and said so, unless not ``announce``) when it raises: a cancel
    or a failure."""
    listener = Preview(folder, sample_rate, say=say) if enabled else None
    try:
        yield listener
    except BaseException:
        if listener is not None:
            listener.close(complete=False, announce=announce)
        raise
    if listener is not None:
        listener.close(complete=True)
