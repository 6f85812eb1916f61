"""Stream frames of a video at an analysis rate, by the container's timestamps.

Frames are decoded one at a time on a background thread (bounded queue), so memory stays
flat however long the video is; only the frames picked for analysis are converted to RGB
and downscaled. Variable frame rate is honoured: a frame is picked when its presentation
time reaches the next analysis instant, and reported with that presentation time.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

from expotion_engine.errors import VideoError
from expotion_engine.media.probe import open_capture


@dataclass(frozen=True, eq=False)
class Frame:
    """One analysed frame: presentation time in seconds (in the file) and RGB pixels."""

    time: float
    rgb: np.ndarray


_END = object()


def _scaled(frame: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(int(round(width * scale)), 2), max(int(round(height * scale)), 2))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def iter_frames(
    path: str | os.PathLike[str],
    *,
    start: float = 0.0,
    end: float | None = None,
    rate: float = 10.0,
    max_side: int = 640,
    nominal_fps: float = 25.0,
) -> Iterator[Frame]:
    """Yield frames with ``start <= time < end`` at most ``rate`` per second.

    ``nominal_fps`` is used only where the container gives no timestamps.
    """
    if rate <= 0:
        raise VideoError(f"Analysis rate must be positive, got {rate:g} frames/s.")
    frames: queue.Queue[object] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decode() -> None:
        capture = open_capture(path)
        try:
            if start > 0:
                capture.set(cv2.CAP_PROP_POS_MSEC, max(start - 1.0, 0.0) * 1000.0)
            index = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
            previous = -1.0
            next_pick = start
            while not stop.is_set() and capture.grab():
                stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if stamp <= previous:
                    stamp = previous + 1.0 / nominal_fps if previous >= 0 else index / nominal_fps
                previous = stamp
                index += 1
                if end is not None and stamp >= end:
                    break
                if stamp + 1e-6 < next_pick:
                    continue
                ok, image = capture.retrieve()
                if not ok or image is None:
                    continue
                if not put(Frame(stamp, _scaled(image, max_side))):
                    return
                next_pick = start + (np.floor((stamp - start) * rate + 1e-6) + 1.0) / rate
        except Exception as exc:  # handed to the consumer, which re-raises it
            put(exc)
        finally:
            capture.release()
            put(_END)

    worker = threading.Thread(target=decode, name="expotion-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = frames.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield cast(Frame, item)
    finally:
        stop.set()
        worker.join(timeout=5.0)
