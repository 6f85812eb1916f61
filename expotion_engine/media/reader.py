"""Stream frames of a video at an analysis rate, by the container's timestamps.

Frames are decoded with FFmpeg (PyAV) one at a time as the caller asks for them, so memory
stays flat however long the video is. (On a thread of its own the decoder was no faster
for the analysis, whose face and pose models keep the cores busy, and its hand-offs of the
interpreter lock cost a twentieth more CPU.) Variable frame rate is honoured:
a frame is picked when its presentation time reaches the next analysis instant, and
reported with that presentation time, counted from the first presented frame as OpenCV's
``CAP_PROP_POS_MSEC`` counts it (see :mod:`expotion_engine.media.probe`). The display
matrix's rotation is applied, as OpenCV does.

Only the frames picked for analysis become RGB pictures, scaled down straight from the
decoder's YUV planes; a full-size colour picture is never made for the common YUV 4:2:0
formats. On request every decoded frame, picked or not, also leaves a
:class:`FrameSignature` (a gray thumbnail and a colour histogram, a few kilobytes, made
from the planes too), so that cuts and the onsets of changes can be placed at the exact
frame although only some frames are analysed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from expotion_engine.errors import VideoError
from expotion_engine.media.probe import existing_file

if TYPE_CHECKING:
    import av

log = logging.getLogger(__name__)

#: width in pixels of a signature's gray thumbnail (its height keeps the aspect ratio).
SIGNATURE_WIDTH = 64

#: decoded pixel formats whose planes are scaled and converted here (limited and full range);
#: any other format goes through one full-size BGR conversion by FFmpeg.
_PLANAR_420 = {"yuv420p": False, "yuvj420p": True}

#: clockwise turn (degrees, OpenCV's ``CAP_PROP_ORIENTATION_META``) to the OpenCV rotation showing the frame upright.
_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}

# full-range (JPEG) luma and chroma codes mapped to limited-range (BT.601 video) codes
_FULL_TO_LIMITED_LUMA = np.round(16.0 + np.arange(256) * 219.0 / 255.0).astype(np.uint8)
_FULL_TO_LIMITED_CHROMA = np.round(128.0 + (np.arange(256) - 128.0) * 224.0 / 255.0).astype(np.uint8)
# limited-range luma codes to gray levels, as a BT.601 conversion to BGR and back to gray gives them
# (OpenCV's FFmpeg reader gave about one level less: its conversion truncates)
_LIMITED_LUMA_TO_GRAY = np.round(np.clip((np.arange(256) - 16.0) * 255.0 / 219.0, 0, 255)).astype(np.uint8)


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



def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(width, height)`` scaled down so that the longer side is at most ``max_side``."""
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return width, height
    return max(int(round(width * scale)), 2), max(int(round(height * scale)), 2)


def _scaled(frame: np.ndarray, max_side: int) -> np.ndarray:
    """A BGR picture scaled down to ``max_side`` (area averaging) and turned to RGB."""
    height, width = frame.shape[:2]
    size = _scaled_size(width, height, max_side)
    if size != (width, height):
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _thumbnail_size(width: int, height: int) -> tuple[int, int]:
    return SIGNATURE_WIDTH, max(int(round(height * SIGNATURE_WIDTH / width)), 4)


def _thumbnail(image: np.ndarray, size: tuple[int, int], first: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``image`` area-averaged to ``size``; resampled by ``first`` to 4x the size before where
    it is much larger (area averaging all of a 1080p frame costs ten times more)."""
    if image.shape[1] > 8 * size[0]:
        image = cv2.resize(image, (4 * size[0], 4 * size[1]), interpolation=first)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _signature_of(gray: np.ndarray, colour: np.ndarray, time: float) -> FrameSignature:
    """The signature of a frame from its gray thumbnail and a BGR thumbnail of about the same size."""
    hsv = cv2.cvtColor(colour, cv2.COLOR_BGR2HSV)
    hue_sat = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).ravel()
    luma = cv2.calcHist([gray], [0], None, [16], [0, 256]).ravel()
    hist = np.concatenate([hue_sat / max(hue_sat.sum(), 1.0), luma / max(luma.sum(), 1.0)]).astype(np.float32)
    return FrameSignature(time, gray, hist)


def signature(image: np.ndarray, time: float) -> FrameSignature:
    """The :class:`FrameSignature` of a decoded BGR ``image`` shown at ``time``."""
    height, width = image.shape[:2]
    thumb = _thumbnail(image, _thumbnail_size(width, height))
    return _signature_of(cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY), thumb, time)


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    """A view (no copy) of one plane of a decoded frame, without its row padding."""
    plane = frame.planes[index]
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]


class _Picture:
    """One decoded frame, converted only as far as asked: a signature, an RGB picture, or both.

    For YUV 4:2:0 each plane is scaled down to the size asked for, and only then turned to
    BGR/RGB (BT.601, as OpenCV's FFmpeg reader converts) and rotated upright.
    """

    def __init__(self, frame: av.VideoFrame, turn: int) -> None:
        self._frame = frame
        self._turn = turn
        self._full_range = _PLANAR_420.get(frame.format.name)
        self._bgr: np.ndarray | None = None
        sideways = turn in (90, 270)
        self.width = frame.height if sideways else frame.width
        self.height = frame.width if sideways else frame.height

    def _full_bgr(self) -> np.ndarray:
        """The whole frame as upright BGR (formats other than YUV 4:2:0)."""
        if self._bgr is None:
            bgr = self._frame.to_ndarray(format="bgr24")
            self._bgr = cv2.rotate(bgr, _TURNS[self._turn]) if self._turn else bgr
        return self._bgr

    def _stored(self, size: tuple[int, int]) -> tuple[int, int]:
        """A displayed ``(width, height)`` in the stored orientation."""
        return (size[1], size[0]) if self._turn in (90, 270) else size

    def _upright(self, image: np.ndarray) -> np.ndarray:
        return cv2.rotate(image, _TURNS[self._turn]) if self._turn else image

    def _i420(self, size: tuple[int, int]) -> np.ndarray:
        """The frame area-averaged to ``size`` (even, stored orientation) as limited-range I420."""
        i420 = np.empty((size[1] * 3 // 2, size[0]), np.uint8)
        i420[:size[1]] = _area(_plane(self._frame, 0), size)
        chroma = i420[size[1]:].reshape(2, -1)
        half = (size[0] // 2, size[1] // 2)
        chroma[0] = _area(_plane(self._frame, 1), half).ravel()
        chroma[1] = _area(_plane(self._frame, 2), half).ravel()
        if self._full_range:
            cv2.LUT(i420[:size[1]], _FULL_TO_LIMITED_LUMA, dst=i420[:size[1]])
            cv2.LUT(chroma, _FULL_TO_LIMITED_CHROMA, dst=chroma)
        return i420

    def signature(self, time: float) -> FrameSignature:
        """The frame's :class:`FrameSignature`: gray from the luma plane, colours from all three planes."""
        if self._full_range is None:
            return signature(self._full_bgr(), time)
        size = self._stored(_thumbnail_size(self.width, self.height))
        luma = _thumbnail(_plane(self._frame, 0), size)
        # colour at every thumbnail pixel, as when shrinking a BGR picture; chroma only feeds the
        # histogram, so nearest-neighbour sampling before the area averaging is enough for it
        height, width = luma.shape
        i420 = np.empty((3 * height, 2 * width), np.uint8)  # 2x the thumbnail, each pixel's YUV repeated 2x2 ...
        i420[:2 * height] = cv2.resize(luma, (2 * width, 2 * height), interpolation=cv2.INTER_NEAREST)
        chroma = i420[2 * height:].reshape(2, height, width)
        chroma[0] = _thumbnail(_plane(self._frame, 1), size, cv2.INTER_NEAREST)
        chroma[1] = _thumbnail(_plane(self._frame, 2), size, cv2.INTER_NEAREST)
        if self._full_range:
            gray = luma
            cv2.LUT(i420[:2 * height], _FULL_TO_LIMITED_LUMA, dst=i420[:2 * height])
            cv2.LUT(chroma, _FULL_TO_LIMITED_CHROMA, dst=chroma)
        else:
            gray = cv2.LUT(luma, _LIMITED_LUMA_TO_GRAY)
        # ... so that halving the BGR picture gives each thumbnail pixel's own colour
        colour = cv2.resize(cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420), (width, height), interpolation=cv2.INTER_AREA)
        return _signature_of(self._upright(gray), colour, time)

    def rgb(self, max_side: int) -> np.ndarray:
        """The frame upright as RGB, its longer side scaled down to at most ``max_side`` (area averaging)."""
        if self._full_range is None:
            return _scaled(self._full_bgr(), max_side)
        size = self._stored(_scaled_size(self.width, self.height, max_side))
        even = _even(size)
        image = cv2.cvtColor(self._i420(even), cv2.COLOR_YUV2RGB_I420)
        if even != size:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return self._upright(image)


def _even(size: tuple[int, int]) -> tuple[int, int]:
    return size[0] + size[0] % 2, size[1] + size[1] % 2


def _area(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` area-averaged to ``size`` (returned as is when it has that size)."""
    if image.shape[1::-1] == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _open(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """The file opened for decoding its first video stream, or :class:`VideoError`."""
    path = existing_file(path)
    import av  # here, not at the top: importing PyAV takes a twentieth of a second

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"{path}: not a video file that can be read (unknown or damaged container).") from exc
    if not container.streams.video:
        audio = bool(container.streams.audio)
        container.close()
        if audio:
            raise VideoError(f"{path}: the file has audio but no video stream; give a video.")
        raise VideoError(f"{path}: not a video file (it has no video stream).")
    # Slice threads only (FFmpeg's default, cores as needed): they cost nothing on streams of
    # one slice a frame; frame threads cost a fifth more CPU at 720p, and the analysis keeps
    # the other cores busy anyway.
    container.streams.video[0].thread_type = "SLICE"
    return container


def _decoded(container: av.container.InputContainer, seek: int | None) -> Iterator[av.VideoFrame]:
    """Decoded frames of the first video stream from the keyframe at or before ``seek``
    (stream time units; None: from the start). A packet the decoder rejects is skipped and
    a container that breaks off ends the stream, as a player would."""
    from av.error import FFmpegError

    stream = container.streams.video[0]
    if seek is not None:
        container.seek(seek, stream=stream, backward=True)
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except FFmpegError as exc:
            log.warning("%s: stopped reading at a damaged part of the file (%s)", container.name, exc)
            packet = None
        try:
            yield from stream.decode(packet)
        except FFmpegError as exc:
            log.debug("%s: a damaged packet was skipped (%s)", container.name, exc)
        if packet is None:
            return


def _timed_frames(
    path: str | os.PathLike[str], start: float, nominal_fps: float
) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decoded frames from about ``start`` with their presentation times (s from the first
    presented frame, as OpenCV's ``CAP_PROP_POS_MSEC``); ``nominal_fps`` spaces frames that
    carry no timestamp or one that does not increase."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        origin = stream.start_time
        base = stream.time_base.numerator / stream.time_base.denominator
        # from a keyframe a second before the start where there are timestamps to seek by
        seek = origin + int((start - 1.0) / base) if start > 1.0 and origin is not None else None
        frames = _decoded(container, seek)
        if seek is not None:
            first = next(frames, None)
            first_ts = None if first is None else (first.pts if first.pts is not None else first.dts)
            if first_ts is not None and (first_ts - origin) * base + 1e-6 < start:
                frames = itertools.chain([first], frames)
            else:  # the seek landed past the start (or nowhere): read from the top instead
                frames.close()
                container.close()
                container = _open(path)
                frames = _decoded(container, None)
        previous, index = -1.0, 0
        for frame in frames:
            ts = frame.pts if frame.pts is not None else frame.dts
            # in milliseconds and back, as OpenCV computes it, so the two give the same float
            stamp = None if ts is None else (ts - (origin or 0)) * base * 1000.0 / 1000.0
            if stamp is None or stamp <= previous:
                stamp = previous + 1.0 / nominal_fps if previous >= 0 else index / nominal_fps
            previous = stamp
            index += 1
            yield stamp, frame
    finally:
        container.close()


def _turn_of(frame: av.VideoFrame) -> int:
    """Clockwise degrees that show ``frame`` upright, from its display matrix (0, 90, 180, 270)."""
    turn = (-int(round(frame.rotation))) % 360
    return turn if turn in _TURNS else 0


def iter_frames(
    path: str | os.PathLike[str],
    *,
    start: float = 0.0,
    end: float | None = None,
    rate: float = 10.0,
    max_side: int = 640,
    nominal_fps: float = 25.0,
    signatures: bool = False,
) -> Generator[Frame, None, None]:
    """Yield frames with ``start <= time < end`` at most ``rate`` per second.

    ``nominal_fps`` is used only where the container gives no timestamps. With
    ``signatures``, each frame carries the signatures of the decoded frames since the
    previous one, and the range's last decoded frame is yielded too (off the rate's grid
    where it falls between two picks) so that every frame's signature is reported.
    """
    if rate <= 0:
        raise VideoError(f"Analysis rate must be positive, got {rate:g} frames/s.")
    next_pick = start
    turn: int | None = None
    last: _Picture | None = None
    pending: list[FrameSignature] = []
    with contextlib.closing(_timed_frames(path, start, nominal_fps)) as timed:
        for stamp, decoded in timed:
            if end is not None and stamp >= end:
                break
            if stamp + 1e-6 < start or (not signatures and stamp + 1e-6 < next_pick):
                continue
            turn = _turn_of(decoded) if turn is None else turn
            last = _Picture(decoded, turn)
            if signatures:
                pending.append(last.signature(stamp))
                if stamp + 1e-6 < next_pick:
                    continue
            yield Frame(stamp, last.rgb(max_side), tuple(pending))
            pending.clear()
            next_pick = start + (np.floor((stamp - start) * rate + 1e-6) + 1.0) / rate
    if pending and last is not None:  # the range's last frames: one more frame
        yield Frame(pending[-1].time, last.rgb(max_side), tuple(pending))
