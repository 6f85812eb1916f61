"""The one OpenTimelineIO timeline every editor format is written from.

Record time: the timeline's ``global_start_time`` is ``job.start_seconds`` (the timecode
of music time 0) at the job's timecode rate (:attr:`ExportJob.tc`; 29.97 is 30000/1001,
and a 10 fps video is counted at its declared or chosen SMPTE rate), and it lasts
as long as the music; every time is a whole frame, as editors place them. Tracks: one video
track holding the scored range of the source video (its media starts at the video's
first-frame timecode, so source time equals record timecode), then the audio that
``ExportSettings.timeline_audio`` asks for, each track a clip of the delivered BWF file (whose own
timecode is ``start_seconds``): by default the mix on the one enabled audio track and every stem
on a disabled track beneath it, so an editor plays the music once and the stems are there to
switch on (``mix``: the mix alone; ``stems``: the stems alone, enabled). Media URLs are relative
to the delivery folder (the video too when it lies inside it; a source video elsewhere keeps its
absolute ``file://`` URL, so a moved folder still finds it). Markers carry the cue's name,
a colour by kind and, for sections, a duration; they go on the timeline's stack
(``markers_on="timeline"``: sequence markers) or on the video clip in source time
(``markers_on="clip"``: the only place the EDL and FCPXML adapters write them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Literal

import opentimelineio as otio

from expotion_engine.media.probe import probe_video
from studio.export.cues import Cue, cues
from studio.export.job import ExportJob
from studio.export.text import clean_line
from studio.timecode import TimecodeRate, to_frame

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
MEDIA_METADATA = "expotion"


def timeline_rate(job: ExportJob) -> float:
    """The job's timecode rate as OpenTimelineIO takes it (30000/1001 for 29.97)."""
    return job.tc.fps


def audio_files(job: ExportJob) -> list[tuple[str, str]]:
    """``(track name, relative BWF path)`` for every stem, then the mix."""
    return [(stem.name, job.stem_file(stem.name)) for stem in job.take.stems] + [("Mix", job.mix_file)]


def timeline_audio(job: ExportJob) -> list[tuple[str, str, bool]]:
    """``(track name, relative BWF path, enabled)`` of the editor timelines' audio tracks, the mix first.

    Exactly what plays is enabled: the mix, or (``timeline_audio="stems"``) the stems, never both.
    """
    mode = job.settings.timeline_audio
    mix = [("Mix", job.mix_file, True)] if mode != "stems" else []
    stems = [(stem.name, job.stem_file(stem.name), mode == "stems") for stem in job.take.stems] if mode != "mix" else []
    return mix + stems


def reel_name(name: str) -> str:
    """A CMX3600 reel for a media file name: its stem's ASCII letters and digits, at most 8 (``my clip.mp4``
    -> ``myclip``), or ``AX`` (an auxiliary source) when none is left; a space would split the event line."""
    stem = PurePosixPath(name.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem.strip(".") else stem
    return re.sub(r"[^A-Za-z0-9]+", "", stem)[:8] or "AX"


def video_url(video: Path, root: Path | None) -> str:
    """A video's URL: relative to the delivery folder ``root`` when inside it, else absolute ``file://``."""
    video = Path(video).resolve()
    if root is not None and root.resolve() in video.parents:
        return video.relative_to(root.resolve()).as_posix()
    return video.as_uri()


def frames(seconds: float, tc: TimecodeRate, rate: float | None = None) -> otio.opentime.RationalTime:
    """``seconds`` as the whole frame :func:`studio.timecode.to_frame` gives at timecode rate ``tc``, labelled
    with ``rate`` (how an adapter spells that rate; default the exact one): editors place everything on frames."""
    return RT(to_frame(seconds, tc), tc.fps if rate is None else rate)


def _marker(cue: Cue, origin: float, tc: TimecodeRate, rate: float, *, relative: bool) -> otio.schema.Marker:
    """A marker on the frame of its record timecode (``origin`` + music time), counted from the
    sequence start when ``relative``: every format rounds the same absolute time, so one marker
    lands on one frame everywhere."""
    start = frames(origin + cue.start, tc, rate)
    base = frames(origin, tc, rate) if relative else RT(0, rate)
    marker = otio.schema.Marker(
        name=cue.label,
        marked_range=TR(start - base, frames(origin + cue.end, tc, rate) - start),
        color=cue.color_name,
        metadata={
            MEDIA_METADATA: {
                "kind": cue.marker.kind, "seconds": cue.start, "strength": cue.marker.strength, "rgb": cue.hex,
            }
        },
    )
    marker.comment = cue.marker.comment or cue.marker.kind  # the user's comment where there is one
    return marker


def build_timeline(
    job: ExportJob,
    *,
    audio_url: Callable[[str], str] | None,
    markers_on: Literal["timeline", "clip"] = "timeline",
    rate: float | None = None,
    root: Path | None = None,
) -> otio.schema.Timeline:
    """The job as a Timeline; ``audio_url`` maps a delivery-relative path to a media URL (None: no audio tracks).

    ``rate`` defaults to the job's exact timecode rate (:func:`timeline_rate`); ``root`` is the
    delivery folder the video's URL is made relative to when the video lies inside it.
    """
    rate = timeline_rate(job) if rate is None else rate
    length = RT(max(to_frame(job.take.duration, job.tc), 1), rate)
    tc = job.tc
    start = frames(job.start_seconds, tc, rate)
    timeline = otio.schema.Timeline(name=job.title, global_start_time=start)
    timeline.metadata[MEDIA_METADATA] = {
        "engine": job.take.engine, "seed": job.take.seed, "video_fps": job.fps,
        "timecode_rate": job.tc.label, "timecode_note": job.timecode.note,
    }
    items = cues(job)

    video_clip = None
    if job.video is not None:
        video = Path(job.video).resolve()
        info = probe_video(video)
        media = otio.schema.ExternalReference(
            target_url=video_url(video, root),
            available_range=TR(frames(job.timecode_start, tc, rate), frames(info.duration, tc, rate)),
        )
        media.name = clean_line(video.name)
        video_clip = otio.schema.Clip(name=clean_line(video.stem), media_reference=media,
                                      source_range=TR(start, length))
        track = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
        track.append(video_clip)
        timeline.tracks.append(track)

    if audio_url is not None:
        for index, (name, relative, enabled) in enumerate(timeline_audio(job), start=1):
            media = otio.schema.ExternalReference(target_url=audio_url(relative), available_range=TR(start, length))
            media.name = Path(relative).name
            clip = otio.schema.Clip(name=name, media_reference=media, source_range=TR(start, length))
            clip.enabled = enabled
            track = otio.schema.Track(name=f"A{index} {name}", kind=otio.schema.TrackKind.Audio)
            track.enabled = enabled
            track.append(clip)
            timeline.tracks.append(track)

    if markers_on == "clip" and video_clip is not None:
        video_clip.markers.extend(_marker(cue, job.start_seconds, tc, rate, relative=False) for cue in items)
    else:
        timeline.tracks.markers.extend(_marker(cue, job.start_seconds, tc, rate, relative=True) for cue in items)
    return timeline
