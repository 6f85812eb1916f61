"""The video re-muxed with its new score: picture copied untouched, the mix as AAC or PCM.

Runs the ffmpeg binary that ships in ``imageio-ffmpeg``: the range ``video_in`` to
``video_in + take duration`` is stream-copied (``-c:v copy``; MP4 and MOV start exactly
at the in point through an edit list), the mix goes in at the delivery sample rate,
AAC by default or PCM at the delivery bit depth in a MOV or MKV. Progress comes from
ffmpeg's ``-progress pipe:1``; cancelling kills ffmpeg and removes the temporary file.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

from expotion_engine.errors import Cancelled, ExportError, VideoError
from expotion_engine.progress import CancelEvent, ProgressFn, no_progress
from studio.export.bwf import resample
from studio.export.job import DeliveryFolder, ExportJob

log = logging.getLogger(__name__)

AAC_BITRATE = "320k"
#: input suffix -> (output suffix, ffmpeg muxer); anything else goes into a MOV, because a stream copy can
#: only start on a keyframe and MP4/MOV edit lists are what make playback start exactly at the in point
_CONTAINERS = {".mp4": (".mp4", "mp4"), ".m4v": (".mp4", "mp4")}
_PCM_CODECS = {16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_f32le"}


def _container(job: ExportJob) -> tuple[str, str]:
    """(output suffix, ffmpeg muxer) for the job's video and audio codec."""
    suffix, muxer = _CONTAINERS.get(job.video.suffix.lower() if job.video else "", (".mov", "mov"))
    if job.settings.video_audio == "pcm" and muxer == "mp4":
        return ".mov", "mov"
    return suffix, muxer


def video_files(job: ExportJob) -> list[str]:
    """Relative paths :func:`write_video` writes: ``<title>_scored.<ext>`` (none without a video)."""
    return [job.file(f"_scored{_container(job)[0]}")] if job.video is not None else []


def _check_video(job: ExportJob) -> Path:
    if job.video is None:
        raise ExportError("This export has no video to re-mux the score into; choose a session with a video.")
    from expotion_engine.media.probe import probe_video

    try:
        info = probe_video(job.video)
    except VideoError as exc:
        raise ExportError(f"Cannot re-mux the score: {exc}") from None
    end = job.video_in + job.take.duration
    if end > info.duration + 1.0 / info.fps:
        raise ExportError(
            f"{job.video}: the video is {info.duration:.3f} s long, but the score runs from {job.video_in:.3f} s "
            f"to {end:.3f} s."
        )
    return job.video


def _command(job: ExportJob, video: Path, audio: Path, output: Path) -> list[str]:
    import imageio_ffmpeg

    muxer = _container(job)[1]
    settings = job.settings
    if settings.video_audio == "pcm":
        codec = ["-c:a", _PCM_CODECS[settings.bit_depth]]
    else:
        codec = ["-c:a", "aac", "-b:a", AAC_BITRATE]
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-ss", f"{job.video_in:.6f}", "-i", str(video), "-i", str(audio),
        "-t", f"{job.take.duration:.6f}", "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "copy", *codec, "-ar", str(settings.sample_rate), "-movflags", "+faststart",
        "-metadata", f"title={job.title}", "-f", muxer, "-progress", "pipe:1", "-nostats", str(output),
    ]


def _run(command: list[str], duration: float, progress: ProgressFn, cancel: CancelEvent | None) -> None:
    """Run ffmpeg, reporting its progress; kill it when ``cancel`` is set."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            for line in process.stdout or ():
                if cancel is not None and cancel.is_set():
                    raise Cancelled("Cancelled by the user.")
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit():
                    progress(min(max(int(value) / 1e6 / duration, 0.0), 1.0), "Muxing video")
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if cancel is not None and cancel.is_set():
            raise Cancelled("Cancelled by the user.")
        if code != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
            raise ExportError(f"ffmpeg could not re-mux the video ({code}): {' | '.join(tail) or 'no message'}.")


def write_video(
    job: ExportJob, folder: DeliveryFolder, *, progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
) -> list[Path]:
    """Write ``<title>_scored.<ext>``: the video's range with the mix as its only audio."""
    report = progress or no_progress
    video = _check_video(job)
    relative = video_files(job)[0]
    folder.check([relative])
    rate = job.settings.sample_rate
    mix = resample(job.take.mix, job.take.sample_rate, rate)
    with tempfile.TemporaryDirectory(prefix="expotion-mux-") as scratch:
        audio = Path(scratch) / "mix.wav"
        sf.write(audio, mix.T, rate, subtype="FLOAT")
        report(0.0, "Muxing video")
        with folder.open_temp(relative) as tmp:
            _run(_command(job, video, audio, tmp), job.take.duration, report, cancel)
    log.info("wrote %s", folder.written[-1])
    report(1.0, "Video written")
    return [folder.written[-1]]
