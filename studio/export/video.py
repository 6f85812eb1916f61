"""The video re-muxed with its new score: the picture's range, the score, and the source's own audio.

Time zero is the first presented video frame: music time 0 is ``video_in`` seconds after
it, wherever the streams start in the container (a phone file whose video starts at
0.85 s and audio at 0.008 s is cut at container time 0.85 s + ``video_in``). FFmpeg runs
with the file's own timestamps (``-copyts``) and every cut is made at those times, so
the output's first frame and its audio start at 0 together, with no edit list to hide
anything and exactly the source's frames of the range:

- picture: stream-copied (``-c:v copy``, untouched) when the range is the whole video;
  otherwise re-encoded (H.264, CRF 16) from the frame nearest the in point, keeping every
  frame that starts within the score's length, because a stream copy can only start on a
  keyframe and cannot end exactly on a frame;
- audio (``ExportSettings.video_tracks``): ``keep`` (default) puts the score first (the
  default stream), then every audio stream of the source (dialogue, production sound) cut
  at the same instants; ``mix`` adds before them a pre-mixed "Score + source audio" stream
  (the score plus the source's first stream, peak-limited) as the default; ``score``
  carries the score alone. Each in AAC, or PCM at the delivery bit depth in a MOV.

Progress comes from ffmpeg's ``-progress pipe:1``; cancelling kills ffmpeg and removes
the temporary file.
"""

from __future__ import annotations

import logging
import math
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

from expotion_engine.audio_io import is_lazy
from expotion_engine.errors import Cancelled, ExportError, VideoError
from expotion_engine.media.children import die_with_parent as die_with_parent  # re-exported: timeline, app
from expotion_engine.media.children import kill_group, popen_child
from expotion_engine.media.probe import VideoInfo, probe_video
from expotion_engine.progress import CancelEvent, ProgressFn, no_progress
from studio.export.bwf import resampled
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.source_timecode import counts_at
from studio.timecode import format_timecode

log = logging.getLogger(__name__)

AAC_BITRATE = "320k"
VIDEO_CRF = "16"
#: input suffix -> (output suffix, ffmpeg muxer); anything else goes into a MOV, which takes most codecs ...
_CONTAINERS = {".mp4": (".mp4", "mp4"), ".m4v": (".mp4", "mp4")}
#: ... but not these (OpenCV's fourcc, lower case), as WebM holds: VP9 and AV1 go into an MP4, VP8 (or PCM audio
#: beside them) into a Matroska file
_NOT_IN_MOV = {"vp80", "vp90", "vp09", "av01"}
_PCM_CODECS = {16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_f32le"}


def _container(job: ExportJob) -> tuple[str, str]:
    """(output suffix, ffmpeg muxer) for the job's video and audio codec."""
    suffix, muxer = _CONTAINERS.get(job.video.suffix.lower() if job.video else "", (".mov", "mov"))
    if job.settings.video_audio == "pcm" and muxer == "mp4":
        suffix, muxer = ".mov", "mov"
    codec = _codec(job.video) if muxer == "mov" and job.video is not None else ""
    if codec in _NOT_IN_MOV:
        return (".mkv", "matroska") if codec == "vp80" or job.settings.video_audio == "pcm" else (".mp4", "mp4")
    return suffix, muxer


def _codec(video: Path) -> str:
    """The video's codec as OpenCV names it, lower case ('' when it cannot be probed: the export says why later)."""
    try:
        return probe_video(video).codec.lower()
    except VideoError:
        return ""


def video_files(job: ExportJob) -> list[str]:
    """Relative paths :func:`write_video` writes: ``<title>_scored.<ext>`` (none without a video)."""
    return [job.file(f"_scored{_container(job)[0]}")] if job.video is not None else []


def _check_video(job: ExportJob) -> tuple[Path, VideoInfo]:
    if job.video is None:
        raise ExportError("This export has no video to re-mux the score into; choose a session with a video.")
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
    return job.video, info


def _seconds(value: float) -> str:
    return f"{value:.9f}"


def copies_picture(job: ExportJob, info: VideoInfo) -> bool:
    """Whether the picture is stream-copied: the range is the whole video, first frame to last."""
    half = 0.5 / info.fps
    return job.video_in < half and job.video_in + job.take.duration > info.duration - half


def in_frame(job: ExportJob, info: VideoInfo) -> int:
    """The frame the re-muxed picture starts on: the one nearest the in point (halves up)."""
    return math.floor(job.video_in * info.fps + 0.5 + 1e-9)


def _audio(job: ExportJob, info: VideoInfo, cut: float) -> tuple[list[str], list[tuple[str, str]]]:
    """Filter chains and ``(output label, stream title)`` per audio stream, in order, for ``video_tracks``.

    The score is input 1; the source's streams come from input 2, each cut at container time
    ``cut`` and padded to the score's length so that every stream starts and ends with the picture.
    """
    duration = job.take.duration
    tracks = job.settings.video_tracks
    count = 0 if tracks == "score" else info.audio_streams
    if tracks == "mix" and not count:
        log.warning("%s has no audio of its own; the video carries the score only", job.video)
    filters: list[str] = []
    for index in range(count):
        filters.append(
            f"[2:a:{index}]atrim=start={_seconds(cut)},asetpts=PTS-{_seconds(cut)}/TB,"
            f"aresample=async=1:first_pts=0,apad=whole_dur={_seconds(duration)}[source{index}]"
        )
    streams = [("[score]", "Score")] + [(f"[source{i}]", f"Source audio {i + 1}") for i in range(count)]
    if tracks == "mix" and count:
        filters[0] = filters[0].replace("[source0]", ",asplit=2[source0][dialogue]")
        filters.append("[1:a:0]asplit=2[score][score_mix]")
        filters.append("[score_mix][dialogue]amix=inputs=2:normalize=0:duration=first,"
                       "alimiter=limit=0.98:level=disabled:latency=1[premix]")
        streams.insert(0, ("[premix]", "Score + source audio"))
    else:
        filters.append("[1:a:0]anull[score]")
    return filters, streams


def _command(job: ExportJob, video: Path, info: VideoInfo, audio: Path, output: Path) -> list[str]:
    import imageio_ffmpeg

    settings = job.settings
    duration = job.take.duration
    cut = info.video_start + in_frame(job, info) / info.fps  # the in point's frame in the container's own time
    slack = min(1e-4, 0.25 / info.fps)  # below any frame interval, above timestamp rounding
    filters: list[str] = []
    if copies_picture(job, info):
        picture = ["-itsoffset", _seconds(-info.video_start), "-i", str(video)]
        video_map, video_codec = "0:v:0", ["-c:v", "copy"]
    else:
        picture = ["-i", str(video)]
        filters.append(f"[0:v:0]trim=start={_seconds(cut - slack)}:end={_seconds(cut + duration - slack)},"
                       "setpts=PTS-STARTPTS[picture]")
        video_map, video_codec = "[picture]", ["-c:v", "libx264", "-crf", VIDEO_CRF, "-preset", "medium"]
    audio_filters, streams = _audio(job, info, cut)
    filters += audio_filters
    sources = ["-i", str(video)] if len(streams) > 1 else []
    if settings.video_audio == "pcm":
        codec = ["-c:a", _PCM_CODECS[settings.bit_depth]]
    else:
        codec = ["-c:a", "aac", "-b:a", AAC_BITRATE]
    maps, labels = ["-map", video_map], []
    if counts_at(info.fps, job.tc):  # the picture's first frame carries the music's start timecode
        labels += ["-timecode", format_timecode(job.start_seconds, job.tc)]
    for index, (label, title) in enumerate(streams):
        maps += ["-map", label]
        labels += [f"-metadata:s:a:{index}", f"title={title}", f"-metadata:s:a:{index}", f"handler_name={title}",
                   f"-disposition:a:{index}", "default" if index == 0 else "0"]
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-copyts",
        *picture, "-i", str(audio), *sources, "-filter_complex", ";".join(filters), *maps,
        "-t", _seconds(duration), *video_codec, *codec, "-ar", str(settings.sample_rate), *labels,
        "-movflags", "+faststart", "-metadata", f"title={job.title}", "-f", _container(job)[1],
        "-progress", "pipe:1", "-nostats", str(output),
    ]


def _run(command: list[str], duration: float, progress: ProgressFn, cancel: CancelEvent | None) -> None:
    """Run ffmpeg, reporting its progress; kill it when ``cancel`` is set."""
    with tempfile.TemporaryFile() as errors:
        process = popen_child(command, stdout=subprocess.PIPE, stderr=errors, text=True)
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
                kill_group(process)
        if cancel is not None and cancel.is_set():
            raise Cancelled("Cancelled by the user.")
        if code != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
            raise ExportError(f"ffmpeg could not re-mux the video ({code}): {' | '.join(tail) or 'no message'}.")


def write_video(
    job: ExportJob, folder: DeliveryFolder, *, progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
) -> list[Path]:
    """Write ``<title>_scored.<ext>``: the video's range from its in point, the score, then the source's audio."""
    report = progress or no_progress
    video, info = _check_video(job)
    relative = video_files(job)[0]
    folder.check([relative])
    rate = job.settings.sample_rate
    if info.video_start or info.audio_start:
        log.info("%s: video starts at %.3f s in the container; cutting at %.3f s (music time 0)",
                 video, info.video_start, info.video_start + job.video_in)
    offset = job.video_in - in_frame(job, info) / info.fps
    if abs(offset) > 1e-6:
        log.warning("%s: the in point %.4f s is not on a frame; the picture starts on the nearest frame, "
                    "%.1f ms from the music's start", video, job.video_in, offset * 1000)
    with resampled(job.take.mix, job.take.sample_rate, rate, folder.root, cancel) as mix, \
            tempfile.TemporaryDirectory(prefix="expotion-mux-") as scratch:
        if is_lazy(mix):  # a long take's mix is a WAV already: ffmpeg reads it from disk
            audio = mix.path
        else:
            audio = Path(scratch) / "mix.wav"
            sf.write(audio, mix.T, rate, subtype="FLOAT")
        report(0.0, "Muxing video")
        with folder.open_temp(relative) as tmp:
            _run(_command(job, video, info, audio, tmp), job.take.duration, report, cancel)
    log.info("wrote %s", folder.written[-1])
    report(1.0, "Video written")
    return [folder.written[-1]]
