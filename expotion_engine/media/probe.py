"""Open a video with OpenCV and describe it, failing early with one clear sentence.

Time zero is the first presented video frame: OpenCV's timestamps, the duration and
every analysis time count from it. Where a file's streams start at different times (a
phone file whose video starts at 0.85 s and audio at 0.008 s), :func:`stream_starts`
reads from FFmpeg where that frame and the audio sit in the container's own time, so
exporters can cut the file at the same instants. The same FFmpeg run reads the start timecode
the file carries (a ``timecode`` tag of the container, the video stream or a ``tmcd`` track).
"""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import cv2

from expotion_engine.errors import VideoError
from expotion_engine.media.children import run_child

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    """What OpenCV reports of a video; ``width``/``height`` are as displayed (rotation applied).

    ``duration`` counts from the first presented frame (up to where the file's data ends, for a
    cut-off file); ``video_start`` is that frame's time in the container, ``audio_start`` the first
    audio sample's (None: no audio) and ``audio_streams`` how many audio streams the file has.
    ``timecode`` is the start timecode label the file carries, as written (``01:00:00;00``; ``;``
    marks drop frame), or None. ``stream_fps`` is the video stream's own rate as FFmpeg states it
    (its ``tbr``), which ``fps``, an average, falls below where frames were dropped (a phone's
    variable frame rate); None where FFmpeg states none.
    """

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    rotation: int
    codec: str
    video_start: float = 0.0
    audio_start: float | None = None
    audio_streams: int = 0
    container_duration: float | None = None
    timecode: str | None = None
    stream_fps: float | None = None


def existing_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path when it is a non-empty file, else :class:`VideoError` saying what it is."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: file not found.")
    if not path.is_file():
        raise VideoError(f"{path}: not a file.")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes).")
    return path


def open_capture(path: str | os.PathLike[str]) -> cv2.VideoCapture:
    """A ``VideoCapture`` for ``path`` with container rotation applied, or :class:`VideoError`."""
    path = existing_file(path)
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        if _audio_only(path):
            raise VideoError(f"{path}: the file has audio but no video stream; give a video.")
        raise VideoError(f"{path}: not a video file that can be read (unknown or damaged container, or no video "
                         "stream).")
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return capture


def _audio_only(path: Path) -> bool:
    """Whether FFmpeg reads ``path`` as a file with audio streams and no video stream."""
    import av

    try:
        with av.logging.Capture(), av.open(str(path)) as container:
            return bool(container.streams.audio) and not container.streams.video
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return False


def _fourcc(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else f"0x{code:08x}"


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Open ``path``, decode its first frame and return its :class:`VideoInfo`.

    Raises :class:`VideoError` for a missing or empty file, a file that is not a video,
    a codec that cannot be decoded, or a video without frames. A file probed before with
    the same size, modification time and inode is not opened again (one scoring run asks
    about its video about ten times).
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is not None and path.is_file() and stat.st_size > 0:
        info = _probe_file(str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        return info if info.path == path else replace(info, path=path)
    return _probe(path)  # the missing, empty or odd file's one sentence


@functools.lru_cache(maxsize=64)
def _probe_file(path: str, size: int, mtime_ns: int, inode: int) -> VideoInfo:
    """The probe of one state of a file (by its absolute path, however it is named), its truncation warning
    given once (not at every question)."""
    return _probe(Path(path))


def _probe(path: Path) -> VideoInfo:
    capture = open_capture(path)
    starts = stream_starts(path)
    if _is_image(starts.container):
        capture.release()
        raise VideoError(f"{path}: not a video file (it holds a single {starts.container.removesuffix('_pipe')} "
                         "image); give a video.")
    if starts.cover:
        capture.release()
        raise VideoError(f"{path}: the file holds audio and a cover picture but no video; give a video.")
    try:
        codec = _fourcc(capture)
        ok, frame = capture.read()
        if not ok or frame is None:
            frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            if frames <= 0:
                raise VideoError(f"{path}: the video has no frames.")
            raise VideoError(f"{path}: cannot decode the video stream (codec {codec!r} is unreadable).")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        if not 0.5 < fps < 1000.0:
            raise VideoError(f"{path}: the container reports an invalid frame rate ({fps:g}).")
        frame_count = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 1)
        duration = _duration(capture, frame_count, fps)
        if starts.container == "mov":  # MP4/MOV: an index at the front outlives a cut-off tail
            data_end, edited = _mov_video_ends(path)
            duration = min(duration, data_end or duration)
            if edited is not None and edited < duration - 0.5 / fps:
                duration = max(edited, 1.0 / fps)
        rotation = int(capture.get(cv2.CAP_PROP_ORIENTATION_META)) % 360
        height, width = frame.shape[:2]
    finally:
        capture.release()
    _warn_if_truncated(path, duration, frame_count / fps, starts.duration)
    return VideoInfo(
        path, fps, frame_count, width, height, duration, rotation, codec, starts.video, starts.audio,
        starts.audio_streams, starts.duration, starts.timecode, starts.stream_fps,
    )


def _is_image(container: str) -> bool:
    """Whether FFmpeg's demuxer name is a still-image reader (``png_pipe``, ``jpeg_pipe``, ``image2``...)."""
    return container.endswith("_pipe") or container in ("image2", "image2pipe")


def _warn_if_truncated(path: Path, decoded: float, indexed: float, container: float | None) -> None:
    """Warn when the frames end well before the duration the file states (a cut-off download or copy).

    The stated duration is the smaller of the video stream's frame count over its rate and the
    container's duration, so an audio track that runs on after the picture is not mistaken for one.
    """
    if container is None:
        return
    container = min(container, indexed)
    if container - decoded > max(1.0, 0.05 * container):
        log.warning("%s: the container says the video lasts %.2f s but its frames end at %.2f s; the file looks "
                    "truncated (an incomplete copy or download), so only %.2f s will be scored",
                    path, container, decoded, decoded)


_FIRST = re.compile(r"\[Parsed_(a?)showinfo_\d+ @ [^\]]*\] n:\s*0 pts:\s*(-?\d+) pts_time:\s*(\S+)")
_TIME_BASE = re.compile(r"\[Parsed_showinfo_\d+ @ [^\]]*\] config in time_base: (\d+)/(\d+)")
_AUDIO_STREAM = re.compile(r"^\s*Stream #0:\d+.*?: Audio: ", re.MULTILINE)
_VIDEO_STREAM = re.compile(r"^\s*Stream #0:\d+.*?: Video: (.*)$", re.MULTILINE)
_TBR = re.compile(r"(\d+(?:\.\d+)?)(k?) tbr")
_INPUT = re.compile(r"^Input #0, ([^,\s]+)", re.MULTILINE)
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
#: a ``timecode`` tag (container, video stream or ``tmcd`` track; the container's is listed first)
_TIMECODE = re.compile(r"^\s+timecode\s*: (\d{1,2}[:;.]\d\d[:;.]\d\d[:;.,]\d{2,3})\s*$", re.MULTILINE)


@dataclass(frozen=True)
class StreamStarts:
    """Container times (s) of the first presented video frame and first audio sample, how many audio
    streams, the demuxer's name, the container's duration, the start timecode tag (None: none) and whether the
    first video stream is a cover picture (a song's artwork, ``attached pic``), not a video, and its stated
    rate (``tbr``)."""

    video: float = 0.0
    audio: float | None = None
    audio_streams: int = 0
    container: str = ""
    duration: float | None = None
    timecode: str | None = None
    cover: bool = False
    stream_fps: float | None = None


@functools.lru_cache(maxsize=64)
def _stream_starts(path: str, size: int, mtime_ns: int) -> StreamStarts:
    import imageio_ffmpeg

    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-copyts", "-i", path,
        "-map", "0:v:0", "-map", "0:a:0?", "-frames:v", "1", "-frames:a", "1",
        "-filter:v", "showinfo", "-filter:a", "ashowinfo", "-f", "null", "-",
    ]
    result = run_child(command, text=True, errors="replace", timeout=60)  # its own group, dies with us
    text = result.stderr
    starts: dict[str, float] = {}
    base = _TIME_BASE.search(text)
    for audio, pts, seconds in _FIRST.findall(text):
        if audio:
            starts.setdefault("audio", float(seconds))
        elif base is not None and int(base.group(2)):
            starts.setdefault("video", int(pts) * int(base.group(1)) / int(base.group(2)))
    if "video" not in starts:
        log.warning("%s: FFmpeg gave no first-frame time (exit %d); taking the container's zero",
                    path, result.returncode)
    header = text.split("Stream mapping:")[0]
    count = len(_AUDIO_STREAM.findall(header))
    container = _INPUT.search(header)
    duration = _DURATION.search(header)
    seconds = None if duration is None else (
        int(duration.group(1)) * 3600 + int(duration.group(2)) * 60 + float(duration.group(3)))
    timecode = _TIMECODE.search(header)
    video = _VIDEO_STREAM.search(header)
    return StreamStarts(starts.get("video", 0.0), starts.get("audio"), count,
                        container.group(1) if container else "", seconds,
                        timecode.group(1) if timecode else None,
                        video is not None and "(attached pic)" in video.group(1), _stated_rate(video))


def _stated_rate(video: re.Match[str] | None) -> float | None:
    """The ``tbr`` of FFmpeg's line for the first video stream (``29.97 tbr``, ``1k tbr``), or None."""
    found = _TBR.search(video.group(1)) if video is not None else None
    if found is None:
        return None
    return float(found.group(1)) * (1000.0 if found.group(2) else 1.0)


def stream_starts(path: str | os.PathLike[str]) -> StreamStarts:
    """Where the first presented video frame and the first audio sample sit in the container's time.

    Decodes one frame of each with the FFmpeg binary of ``imageio-ffmpeg`` keeping the
    file's own timestamps, so edit lists and stream offsets count as a player shows them.
    """
    stat = Path(path).stat()
    return _stream_starts(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def _duration(capture: cv2.VideoCapture, frame_count: int, fps: float) -> float:
    """Duration from the last frame's timestamp where the container gives one."""
    nominal = frame_count / fps
    if frame_count > 1 and capture.set(cv2.CAP_PROP_POS_FRAMES, frame_count - 1):
        ok = capture.grab()
        last = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if ok and 0.0 < last < 2.0 * nominal:
            return last + 1.0 / fps
    return nominal


def _mov_video_ends(path: Path) -> tuple[float | None, float | None]:
    """Two ends of an MP4/MOV's video (s from the first frame), read in one opening of the file: where its
    data ends when it was cut off after its index (:func:`_data_end`, else None), and its length as its
    edit list presents it (None where the container states none).

    A copy cut off a keyframe (``ffmpeg -ss N -i in.mp4 -c copy``) keeps the frames from the keyframe
    before ``N`` and an edit list that hides them: they count in the stream's frames, and seeking to
    the last of them by index runs past the end, but they are never shown and no decoder returns them.
    """
    import av

    with av.logging.Capture(), av.open(str(path)) as container:  # keeps FFmpeg's "partial file" lines quiet
        if not container.streams.video:
            return None, None
        stream = container.streams.video[0]
        if not stream.duration or stream.time_base is None:
            return None, None
        return _data_end(container, stream, path.stat().st_size), float(stream.duration * stream.time_base)


def _data_end(container, stream, size: int) -> float | None:
    """Where the video's data ends (s from the first frame) when the file was cut off after its index, else None.

    A file with its index at the front (``+faststart``) that lost its tail still lists every frame,
    and seeking to the last one succeeds from the index alone. Here the packets from the last
    keyframe on are read (not decoded): when those wholly inside the file's ``size`` bytes stop more
    than two frames before the index's end, the file is cut off, and the packets are read again from
    the start (only then) to find the last whole one. A cut-off file ends where its whole packets end in
    decoding order too: frames shown before the last one whose data was lost make the copied picture
    track shorter (a stream copy lasted 1.88 s where the last whole frame ended at 2.00 s).
    """
    import av

    if not stream.average_rate:
        return None
    first = stream.start_time or 0
    index_end = first + stream.duration
    slack = 2 / (stream.average_rate * stream.time_base)  # two frames, in the stream's time base
    try:
        ends = _last_whole_packet(container, stream, index_end, size)
        if ends is not None and ends[0] >= index_end - slack:
            return None
        ends = _last_whole_packet(container, stream, first, size) if ends is None else ends
    except av.error.FFmpegError:
        return None
    return None if ends is None else float((min(ends) - first) * stream.time_base)


def _last_whole_packet(container, stream, target: int, size: int) -> tuple[int, int] | None:
    """From the keyframe at or before ``target`` on, the latest end of a packet of ``stream`` whose data
    lies wholly inside the file's ``size`` bytes, as presented (pts + duration) and in decoding order (dts +
    duration + the keyframe's decoding delay, in presentation time); None when there is none."""
    container.seek(target, stream=stream, backward=True, any_frame=False)
    end = decoded = delay = None
    for packet in container.demux(stream):
        if packet.size and packet.pts is not None and packet.pos is not None and packet.pos + packet.size <= size:
            stop = packet.pts + (packet.duration or 0)
            end = stop if end is None else max(end, stop)
            delay = packet.pts - (packet.dts if packet.dts is not None else packet.pts) if delay is None else delay
            step = (packet.dts if packet.dts is not None else packet.pts) + (packet.duration or 0) + delay
            decoded = step if decoded is None else max(decoded, step)
    return None if end is None or decoded is None else (end, decoded)
