"""The sequence's picture as one video file: every clip's source frames in record order, gaps black.

The delivery's re-muxed video, the desktop app and ``expotion export`` all need one
picture file; ffmpeg (imageio-ffmpeg's binary) trims each clip's exact source frames,
scales them to the first clip's size and concatenates them at the sequence rate. ffmpeg
runs in its own process group and dies with its parent (as the delivery's re-mux does), so a
stopped or killed run leaves no encoder behind; it reports its frames as progress and is
killed when the run is cancelled.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import imageio_ffmpeg

from expotion_engine.media.probe import probe_video
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress
from studio.export.video import die_with_parent, kill_group
from studio.timeline.model import Timeline, TimelineError

log = logging.getLogger(__name__)

#: x264 quality of the rendered picture (a reference for the music, not a master)
CRF = "18"
#: how often (s) the render checks for a cancel and reports its frames
POLL_S = 0.1


def _even(value: int) -> int:
    return value + value % 2


def _count_frames(lines: Iterable[str] | None, written: list[int]) -> None:
    """Keep ``written[0]`` at the last frame count ffmpeg's ``-progress`` lines report."""
    for line in lines or ():
        key, _, value = line.strip().partition("=")
        if key == "frame" and value.isdigit():
            written[0] = int(value)


def _run(command: list[str], frames: int, progress: ProgressFn, cancel: CancelEvent | None) -> tuple[int, str]:
    """Run ffmpeg in its own process group, dying with its parent, reporting the frames it has written;
    killed with its group when ``cancel`` is set or this run stops."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                   text=True, start_new_session=True, preexec_fn=die_with_parent)
        written = [0]
        reader = threading.Thread(target=_count_frames, args=(process.stdout, written), daemon=True)
        reader.start()
        try:
            while True:  # waits in short steps on this thread, so Ctrl-C and cancel act at once
                try:
                    code = process.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    check_cancel(cancel)
                    progress(min(written[0] / max(frames, 1), 1.0), "rendering the sequence")
        finally:
            if process.poll() is None:
                kill_group(process)
            reader.join()
        check_cancel(cancel)
        progress(min(written[0] / max(frames, 1), 1.0), "rendering the sequence")
        errors.seek(0)
        return code, errors.read().decode(errors="replace")


def render_picture(timeline: Timeline, output: Path, *, progress: ProgressFn | None = None,
                   cancel: CancelEvent | None = None) -> Path:
    """Write the whole sequence's picture to ``output`` (H.264 MP4, no audio) and return it."""
    media = timeline.media
    if not media:
        raise TimelineError(f"{timeline.path.name}: the sequence shows no media, only gaps.")
    first = probe_video(media[0])
    width, height = _even(first.width), _even(first.height)
    rate = f"{timeline.rate.rate.numerator}/{timeline.rate.rate.denominator}"
    inputs: list[str] = []
    filters: list[str] = []
    for index, clip in enumerate(timeline.clips):
        label = f"[v{index}]"
        if clip.media is None:
            filters.append(f"color=black:size={width}x{height}:rate={rate}:duration={timeline.seconds(clip.duration)},"
                           f"format=yuv420p,trim=end_frame={clip.duration}{label}")
            continue
        source = len(inputs) // 2
        inputs += ["-i", str(clip.media)]
        fps = probe_video(clip.media).fps
        if abs(fps - timeline.rate.fps) < 0.01:
            trim = f"trim=start_frame={clip.source_in}:end_frame={clip.source_out}"
        else:
            trim = f"trim=start={timeline.seconds(clip.source_in)}:end={timeline.seconds(clip.source_out)}"
        filters.append(f"[{source}:v:0]{trim},setpts=PTS-STARTPTS,fps={rate},"
                       f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                       f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
                       f"tpad=stop_mode=clone:stop={clip.duration},trim=end_frame={clip.duration}{label}")
    joined = "".join(f"[v{i}]" for i in range(len(timeline.clips)))
    filters.append(f"{joined}concat=n={len(timeline.clips)}:v=1:a=0[picture]")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    os.close(fd)
    partial = Path(name)  # the picture appears whole or not at all; a crash's leftover is removed next run
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *inputs,
               "-filter_complex", ";".join(filters), "-map", "[picture]", "-r", rate, "-c:v", "libx264",
               "-preset", "veryfast", "-crf", CRF, "-pix_fmt", "yuv420p", "-movflags", "+faststart",
               "-progress", "pipe:1", "-nostats", "-f", "mp4", str(partial)]
    try:
        code, errors = _run(command, timeline.duration, progress or no_progress, cancel)
        if code != 0:
            tail = " | ".join(errors.strip().splitlines()[-2:])
            raise TimelineError(f"{timeline.path.name}: ffmpeg could not render the sequence's picture ({tail}).")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    log.info("rendered the sequence's picture (%d frames at %s) to %s", timeline.duration, timeline.rate.label, output)
    return output


__all__ = ["render_picture"]
