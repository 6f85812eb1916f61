"""Files that look like videos but are not usable ones, for tests of error handling.

``tests/demo`` checks that OpenCV really fails on each: it cannot open the first
four, and opens the last two but decodes no frame.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from studio.demo.writer import run_ffmpeg

BAD_INPUTS = (
    "text_as_mp4",  # a text file renamed .mp4
    "zero_bytes",  # an empty .mp4
    "truncated",  # the first half of an MP4 whose index (moov) is at its end
    "audio_only",  # a valid MP4 with an audio stream and no video stream
    "no_video_frames",  # an MP4 with a video track that holds zero frames
    "unreadable_codec",  # AV1 video, which OpenCV's bundled FFmpeg 5.1 cannot decode without dav1d
)


def _boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """Top-level ISO-BMFF boxes of ``data`` as ``(type, bytes)``."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if size < 8:
            raise ValueError(f"unexpected box size {size} at byte {i}.")
        out.append((kind, data[i:i + size]))
        i += size
    return out


def _tiny_h264(path: Path, *, fragmented: bool = False, faststart: bool = False) -> None:
    flags = ["-movflags", "frag_keyframe+empty_moov"] if fragmented else (
        ["-movflags", "+faststart"] if faststart else [])
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1", "-c:v", "libx264",
                "-preset", "ultrafast", "-pix_fmt", "yuv420p", *flags, "-f", "mp4", str(path)])


def make_bad_inputs(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every bad input into ``folder``; returns name -> path (names as in ``BAD_INPUTS``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    out["text_as_mp4"] = folder / "shopping_list.mp4"
    out["text_as_mp4"].write_text("eggs\nmilk\nflour\nthis is not a video\n" * 20, encoding="utf-8")

    out["zero_bytes"] = folder / "empty.mp4"
    out["zero_bytes"].write_bytes(b"")

    full = folder / ".full.mp4"
    _tiny_h264(full)
    data = full.read_bytes()
    full.unlink()
    if _boxes(data)[-1][0] != b"moov":
        raise RuntimeError("expected ffmpeg to write the moov box last without +faststart.")
    out["truncated"] = folder / "truncated.mp4"
    out["truncated"].write_bytes(data[: len(data) // 2])

    out["audio_only"] = folder / "audio_only.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=1", "-c:a", "aac",
                "-f", "mp4", str(out["audio_only"])])

    # A fragmented MP4 declares its tracks up front (moov with an empty sample table) and keeps
    # the frames in later moof/mdat fragments; keeping only ftyp+moov leaves a track of 0 frames.
    fragmented = folder / ".fragmented.mp4"
    _tiny_h264(fragmented, fragmented=True)
    boxes = _boxes(fragmented.read_bytes())
    fragmented.unlink()
    out["no_video_frames"] = folder / "no_video_frames.mp4"
    out["no_video_frames"].write_bytes(b"".join(raw for kind, raw in boxes if kind in (b"ftyp", b"moov")))

    out["unreadable_codec"] = folder / "av1_video.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1", "-c:v", "libaom-av1",
                "-cpu-used", "8", "-pix_fmt", "yuv420p", "-f", "mp4", str(out["unreadable_codec"])])
    return out
