"""Write frames to H.264 MP4 with the ffmpeg binary that ships in ``imageio-ffmpeg``.

Constant-rate clips pipe raw RGB frames into ffmpeg; variable-rate clips go through
ffmpeg's concat demuxer with one duration per frame, so the container's timestamps are
exactly the ones asked for (to the millisecond); rotation is stored as a display matrix
by remuxing without re-encoding. OpenCV's ``VideoWriter`` (MPEG-4 Part 2, ``mp4v``) is
offered for constant-rate clips as an alternative that needs no ffmpeg binary.
Every file is written under a temporary name in the target folder, then renamed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from expotion_engine.media.children import kill_group, popen_child, run_child

log = logging.getLogger(__name__)

ENCODERS = ("ffmpeg", "opencv")
ROTATIONS = (0, 90, 180, 270)


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with ``imageio-ffmpeg``."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: Sequence[str], *, stdin: bytes | None = None) -> None:
    """Run ffmpeg with ``args``; raise ``RuntimeError`` with its last error lines if it fails."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *(["-nostdin"] if stdin is None else []), *args]
    result = run_child(cmd, input=stdin)  # its own group, dies with us
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"ffmpeg failed ({result.returncode}): {' | '.join(tail)}")


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) that replaces ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".mp4", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; videos are meant to be shared
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _check_frame(frame: np.ndarray, size: tuple[int, int] | None) -> tuple[int, int]:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frames must be uint8 RGB (height, width, 3), got {frame.dtype} {frame.shape}.")
    height, width = frame.shape[:2]
    if size is None:
        if width % 2 or height % 2:
            raise ValueError(f"frame size {width}x{height} must be even in both directions for yuv420p.")
        return width, height
    if (width, height) != size:
        raise ValueError(f"frame size {width}x{height} differs from the first frame's {size[0]}x{size[1]}.")
    return size


KEYFRAME_INTERVAL = 10.0
"""Seconds between forced keyframes. Long, so that still stretches of a short clip stay
free of the quality jump a keyframe brings; x264 still starts a keyframe at a hard cut."""


def _x264_args(crf: int, preset: str, fps: float) -> list[str]:
    # fixed thread count: x264's output then depends only on the input and these settings
    return ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-g", str(max(1, round(KEYFRAME_INTERVAL * fps))), "-threads", "2", "-movflags", "+faststart"]


def write_mp4(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float,
    crf: int = 20,
    preset: str = "veryfast",
    encoder: str = "ffmpeg",
) -> Path:
    """Write RGB uint8 ``frames`` as a constant-rate MP4 at ``fps``; returns the path.

    ``encoder="ffmpeg"`` gives H.264 (libx264, yuv420p); ``"opencv"`` gives MPEG-4 Part 2.
    """
    path = Path(path)
    if not fps > 0:
        raise ValueError(f"fps {fps!r} must be > 0.")
    if encoder not in ENCODERS:
        raise ValueError(f"encoder {encoder!r} is not one of {', '.join(ENCODERS)}.")
    with _atomic_target(path) as tmp:
        if encoder == "opencv":
            count = _write_opencv(tmp, frames, fps)
        else:
            count = _write_ffmpeg(tmp, frames, fps, crf, preset)
        if count == 0:
            raise ValueError(f"{path}: no frames to write.")
    log.info("wrote %s (%d frames at %g fps)", path, count, fps)
    return path


def _write_ffmpeg(tmp: Path, frames: Iterable[np.ndarray], fps: float, crf: int, preset: str) -> int:
    it = iter(frames)
    first = next(it, None)
    if first is None:
        return 0
    size = _check_frame(first, None)
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{size[0]}x{size[1]}", "-framerate", f"{fps:.6g}", "-i", "pipe:0",
           *_x264_args(crf, preset, fps), "-f", "mp4", str(tmp)]
    count = 0
    with tempfile.TemporaryFile() as errors:
        proc = popen_child(cmd, stdin=subprocess.PIPE, stderr=errors)  # its own group, dies with us
        try:
            for frame in _chain(first, it):
                _check_frame(frame, size)
                proc.stdin.write(np.ascontiguousarray(frame).tobytes())
                count += 1
        except BrokenPipeError:
            pass
        except BaseException:
            kill_group(proc)
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"ffmpeg failed ({code}) writing {tmp.name}: {' | '.join(tail)}")
    return count


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _write_opencv(tmp: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    writer: cv2.VideoWriter | None = None
    size: tuple[int, int] | None = None
    count = 0
    try:
        for frame in frames:
            size = _check_frame(frame, size)
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
                if not writer.isOpened():
                    raise RuntimeError(f"OpenCV cannot write MPEG-4 video to {tmp}.")
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count


def write_vfr_mp4(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    times: Sequence[float],
    *,
    end: float | None = None,
    crf: int = 20,
    preset: str = "veryfast",
) -> tuple[float, ...]:
    """Write ``frames`` shown at ``times`` (seconds, increasing, from 0) as a variable-rate MP4.

    The last frame lasts until ``end`` (default: one median frame interval). Timestamps
    are stored in milliseconds; returns the times as stored.
    """
    path = Path(path)
    stamps = tuple(round(float(t), 3) for t in times)
    if not stamps or stamps[0] != 0.0:
        raise ValueError("variable-rate clips need at least one frame and must start at t=0.")
    if any(b <= a for a, b in zip(stamps, stamps[1:], strict=False)):
        raise ValueError("frame times must be strictly increasing (after rounding to milliseconds).")
    step = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 0.04
    last_end = round(stamps[-1] + step if end is None else float(end), 3)
    if last_end <= stamps[-1]:
        raise ValueError(f"end {end!r} must be after the last frame time {stamps[-1]}.")
    bounds = (*stamps[1:], last_end)
    with tempfile.TemporaryDirectory(prefix="expotion-vfr-") as folder, _atomic_target(path) as tmp:
        lines = ["ffconcat version 1.0"]
        count, size = 0, None
        for i, frame in enumerate(frames):
            if i >= len(stamps):
                raise ValueError(f"more frames than the {len(stamps)} frame times given.")
            size = _check_frame(frame, size)
            name = Path(folder) / f"f{i:06d}.bmp"
            cv2.imwrite(str(name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            lines += [f"file '{name.name}'", "option framerate 1000", f"duration {bounds[i] - stamps[i]:.3f}"]
            count += 1
        if count != len(stamps):
            raise ValueError(f"{count} frames given for {len(stamps)} frame times.")
        # the concat demuxer ignores the last entry's duration unless the file is listed again
        lines += [f"file '{name.name}'", "option framerate 1000"]
        listing = Path(folder) / "frames.ffconcat"
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        fps = 1.0 / step
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-frames:v", str(count), "-fps_mode", "vfr",
                    "-enc_time_base", "1:1000", *_x264_args(crf, preset, fps), "-f", "mp4", str(tmp)])
    log.info("wrote %s (%d frames, variable rate)", path, count)
    return stamps


def set_display_rotation(src: str | os.PathLike[str], dst: str | os.PathLike[str], rotation: int) -> Path:
    """Copy ``src`` to ``dst`` with a display matrix saying the stored picture must be turned
    ``rotation`` degrees clockwise to be upright (what OpenCV reports as ``CAP_PROP_ORIENTATION_META``).

    No re-encoding: the packets are copied.
    """
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation {rotation!r} is not one of {ROTATIONS}.")
    dst = Path(dst)
    with _atomic_target(dst) as tmp:
        # ffmpeg's display rotation is counter-clockwise
        run_ffmpeg(["-display_rotation:v:0", str((360 - rotation) % 360), "-i", str(src), "-map", "0",
                    "-c", "copy", "-f", "mp4", str(tmp)])
    return dst


def shift_video_stream(src: str | os.PathLike[str], dst: str | os.PathLike[str], offset: float) -> Path:
    """Copy ``src`` to ``dst`` with its streams starting ``offset`` s into the container, as
    phone and camera files often do (no re-encoding: the packets are copied)."""
    dst = Path(dst)
    with _atomic_target(dst) as tmp:
        run_ffmpeg(["-itsoffset", f"{offset:.3f}", "-i", str(src), "-map", "0", "-c", "copy", "-f", "mp4", str(tmp)])
    return dst


def stored_orientation(upright: np.ndarray, rotation: int) -> np.ndarray:
    """The frame as it must be stored so that turning it ``rotation`` degrees clockwise shows ``upright``."""
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation {rotation!r} is not one of {ROTATIONS}.")
    turn = {0: None, 90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}[rotation]
    return upright if turn is None else cv2.rotate(upright, turn)


def read_frame_times(path: str | os.PathLike[str]) -> list[float]:
    """Presentation time (seconds) of every frame as OpenCV reports it (``CAP_PROP_POS_MSEC``)."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    times: list[float] = []
    try:
        while capture.grab():
            times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    finally:
        capture.release()
    return times
