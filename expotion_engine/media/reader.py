"""Stream frames of a video at an analysis rate, by the container's timestamps.

Frames are decoded one at a time on a background thread (bounded queue), so memory stays
flat however long the video is; only the frames picked for analysis are converted to RGB
and downscaled. Variable frame rate is honoured: a frame is picked when its presentation
time reaches the next analysis instant, and reported with that presentation time.

On request every decoded frame, picked or not, also leaves a :class:`FrameSignature` (a
gray thumbnail and a colour histogram, a few kilobytes), so that cuts and the onsets of
changes can be placed at the exact frame although only some frames are analysed.
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

#: width in pixels of a signature's gray thumbnail (its height keeps the aspect ratio).
SIGNATURE_WIDTH = 64


@dataclass(frozen=True, eq=False)
class FrameSignature:
    """A cheap fingerprint of one decoded frame: presentation time (s, in the file), a
    gray thumbnail ``SIGNATURE_WIDTH`` pixels wide (uint8) and a hue-saturation + luma
    histogram (float32, each part summing to 1)."""

    time: float
    gray: np.ndarray
    hist: np.ndarray


@dataclass(frozen=True, eq=False)
class Frame:
    """One analysed frame: presentation time in seconds (in the file) and RGB pixels.

    ``signatures`` holds every decoded frame since the previous analysed frame, this one
    included, in time order (empty unless asked for).
    """

    time: float
    rgb: np.ndarray
    signatures: tuple[FrameSignature, ...] = ()


_END = object()


def _scaled(frame: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(int(round(width * scale)), 2), max(int(round(height * scale)), 2))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def signature(image: np.ndarray, time: float) -> FrameSignature:
    """The :class:`FrameSignature` of a decoded BGR ``image`` shown at ``time``."""
    height, width = image.shape[:2]
    size = (SIGNATURE_WIDTH, max(int(round(height * SIGNATURE_WIDTH / width)), 4))
    if width > 8 * size[0]:  # bilinear to 4x first: area averaging all of a 1080p frame costs ten times more
        image = cv2.resize(image, (4 * size[0], 4 * size[1]), interpolation=cv2.INTER_LINEAR)
    thumb = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY)
    hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
    colour = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).ravel()
    luma = cv2.calcHist([gray], [0], None, [16], [0, 256]).ravel()
    hist = np.concatenate([colour / max(colour.sum(), 1.0), luma / max(luma.sum(), 1.0)]).astype(np.float32)
    return FrameSignature(time, gray, hist)


def iter_frames(
    path: str | os.PathLike[str],
    *,
    start: float = 0.0,
    end: float | None = None,
    rate: float = 10.0,
    max_side: int = 640,
    nominal_fps: float = 25.0,
    signatures: bool = False,
) -> Iterator[Frame]:
    """Yield frames with ``start <= time < end`` at most ``rate`` per second.

    ``nominal_fps`` is used only where the container gives no timestamps. With
    ``signatures``, each frame carries the signatures of the decoded frames since the
    previous one, and the range's last decoded frame is yielded too (off the rate's grid
    where it falls between two picks) so that every frame's signature is reported.
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
            buffer: np.ndarray | None = None
            pending: list[FrameSignature] = []
            while not stop.is_set() and capture.grab():
                stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if stamp <= previous:
                    stamp = previous + 1.0 / nominal_fps if previous >= 0 else index / nominal_fps
                previous = stamp
                index += 1
                if end is not None and stamp >= end:
                    break
                if stamp + 1e-6 < start or (not signatures and stamp + 1e-6 < next_pick):
                    continue
                ok, image = capture.retrieve(buffer)
                if not ok or image is None:
                    continue
                buffer = image
                if signatures:
                    pending.append(signature(image, stamp))
                    if stamp + 1e-6 < next_pick:
                        continue
                if not put(Frame(stamp, _scaled(image, max_side), tuple(pending))):
                    return
                pending.clear()
                next_pick = start + (np.floor((stamp - start) * rate + 1e-6) + 1.0) / rate
            if pending and buffer is not None and not stop.is_set():  # the range's last frames: one more frame
                put(Frame(pending[-1].time, _scaled(buffer, max_side), tuple(pending)))
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
