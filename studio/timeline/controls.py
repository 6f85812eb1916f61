"""Controls of a timeline: each clip's source range analysed (cached per media + range), laid on the sequence.

Every clip's ControlTrack is cut or padded to its record span on one uniform grid at
the analysis control rate; gaps are unknown (masked). The clip's own hits move with
it, and every edit point becomes a hit of its own cause (``edit``), at its exact frame
and with a hard cut's strength, replacing any hit the analysis put within a frame of it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from expotion_engine.controls.resample import uniform_times
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress, sub_progress
from expotion_engine.types import ControlTrack, Marker, VideoSource
from expotion_engine.vision import AnalysisSettings
from studio.analysis import analyze
from studio.timeline.model import Timeline, TimelineClip, TimelineError

log = logging.getLogger(__name__)

#: an edit point is a hard cut: the strongest hit
EDIT_STRENGTH = 1.0


def edit_markers(timeline: Timeline) -> tuple[Marker, ...]:
    """One hit (cause ``edit``) per edit point, at seconds from the in point, named after the incoming shot."""
    incoming = {c.record_in: c for c in timeline.clips}
    return tuple(
        Marker(time=timeline.seconds(frame - timeline.in_frame), name=f"edit {i + 1}: {incoming[frame].name}",
               kind="hit", strength=EDIT_STRENGTH, cause="edit")
        for i, frame in enumerate(timeline.edit_frames)
    )


def _clip_track(clip: TimelineClip, timeline: Timeline, settings: AnalysisSettings, use_cache: bool,
                progress: ProgressFn, cancel: CancelEvent | None) -> ControlTrack | None:
    """The analysis of the part of ``clip`` inside the scored range (None for a gap or nothing inside)."""
    first, last = max(clip.record_in, timeline.in_frame), min(clip.record_out, timeline.range_out)
    if clip.media is None or last <= first:
        return None
    source_in = clip.source_in + first - clip.record_in
    ranged = replace(settings, start=timeline.seconds(source_in), end=timeline.seconds(source_in + last - first))
    return analyze(clip.media, ranged, use_cache=use_cache, progress=progress, cancel=cancel)


def _fit(array: np.ndarray, n: int, fill: float | bool) -> np.ndarray:
    """``array`` cut or padded (with ``fill``) to ``n`` rows."""
    if len(array) >= n:
        return array[:n]
    return np.concatenate([array, np.full((n - len(array), *array.shape[1:]), fill, array.dtype)])


def timeline_controls(timeline: Timeline, settings: AnalysisSettings, *, picture: Path | None = None,
                      use_cache: bool = True, progress: ProgressFn | None = None,
                      cancel: CancelEvent | None = None) -> ControlTrack:
    """One ControlTrack for the timeline's scored range: per-clip analyses on the sequence's time axis."""
    report = progress or no_progress
    spans = [c for c in timeline.clips if min(c.record_out, timeline.range_out) > max(c.record_in, timeline.in_frame)]
    tracks: list[tuple[TimelineClip, ControlTrack | None]] = []
    for index, clip in enumerate(spans):
        check_cancel(cancel)
        part = sub_progress(report, index / len(spans), (index + 1) / len(spans))
        tracks.append((clip, _clip_track(clip, timeline, settings, use_cache, part, cancel)))
    analysed = [t for _, t in tracks if t is not None]
    if not analysed:
        raise TimelineError(f"{timeline.path.name}: the scored range shows no media, only gaps.")
    channels = tuple(dict.fromkeys(name for t in analysed for name in t.channels))
    rate = analysed[0].rate
    start, end = timeline.seconds(timeline.in_frame), timeline.seconds(timeline.range_out)
    n = len(uniform_times(end - start, rate))
    values = np.zeros((n, len(channels)), np.float32)
    mask = np.zeros((n, len(channels)), bool)
    edits = edit_markers(timeline)
    frame = 1.0 / timeline.rate.fps
    markers = list(edits)
    for clip, track in tracks:
        offset = timeline.seconds(max(clip.record_in, timeline.in_frame) - timeline.in_frame)
        stop = timeline.seconds(min(clip.record_out, timeline.range_out) - timeline.in_frame)
        k0, k1 = round(offset * rate), min(round(stop * rate), n)
        if track is None or k1 <= k0:
            continue
        for c, name in enumerate(channels):
            if track.has(name):
                values[k0:k1, c] = _fit(track.channel(name), k1 - k0, track.channel(name)[-1])
                mask[k0:k1, c] = _fit(track.valid(name), k1 - k0, False)
        markers += [replace(m, time=m.time + offset) for m in track.markers
                    if m.time + offset < stop and all(abs(m.time + offset - e.time) > frame for e in edits)]
    first = analysed[0].source
    picture_hash = hashlib.sha256(repr(timeline).encode()).hexdigest()[:32]
    source = VideoSource(path=str(picture or timeline.path), content_hash=picture_hash, fps=timeline.rate.fps,
                         width=first.width, height=first.height, duration=timeline.seconds(timeline.duration),
                         start=start, end=end)
    log.info("%s: %d clips analysed, %d edit points, %d hits in all", timeline.path.name, len(analysed),
             len(edits), sum(m.kind == "hit" for m in markers))
    report(1.0, f"{len(analysed)} clips analysed")
    return ControlTrack(rate=rate, channels=channels, values=values, mask=mask, source=source,
                        markers=tuple(markers), settings={**settings.to_dict(), "timeline": str(timeline.path)},
                        versions=analysed[0].versions)


__all__ = ["EDIT_STRENGTH", "edit_markers", "timeline_controls"]
