"""Video analysis: stream a video's range, measure face, body and flow per analysed frame,
and turn the measurements into a :class:`ControlTrack`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from expotion_engine.controls.build import ControlSettings, build_control_track
from expotion_engine.controls.channels import BODY_JOINTS, FACE_CHANNELS
from expotion_engine.errors import ControlError, VideoError
from expotion_engine.media.hashing import content_hash
from expotion_engine.media.probe import probe_video
from expotion_engine.media.reader import iter_frames
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress
from expotion_engine.types import ControlTrack, VideoSource
from expotion_engine.vision.changes import ChangeMeter
from expotion_engine.vision.face import FaceAnalyzer
from expotion_engine.vision.features import RawFeatures
from expotion_engine.vision.flow import MotionEnergy
from expotion_engine.vision.pose import PoseAnalyzer

log = logging.getLogger(__name__)

#: bump when analysis output changes for the same input and settings (invalidates caches).
ANALYSIS_VERSION = 6


@dataclass(frozen=True)
class AnalysisSettings:
    """What to analyse and how; ``start``/``end`` are seconds in the file (None = whole)."""

    analysis_fps: float = 10.0
    start: float | None = None
    end: float | None = None
    control_rate: float = 50.0
    smoothing: float = 0.12
    max_gap: float = 0.5
    hit_threshold: float = 1.0
    hit_min_spacing: float = 0.1
    max_side: int = 640
    flow_width: int = 320

    def __post_init__(self) -> None:
        if not 0.5 <= self.analysis_fps <= 120.0:
            raise ControlError(f"Analysis rate {self.analysis_fps:g} frames/s is outside 0.5..120.")
        if self.start is not None and self.start < 0:
            raise ControlError(f"Start time {self.start:g} s is negative.")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ControlError(f"Empty range: end ({self.end:g} s) is not after start ({self.start:g} s).")
        if not 64 <= self.max_side <= 4096 or not 64 <= self.flow_width <= 1920:
            raise ControlError("Analysis sizes must be 64..4096 (frame) and 64..1920 (flow) pixels.")
        self.control_settings()

    def control_settings(self) -> ControlSettings:
        return ControlSettings(
            rate=self.control_rate,
            smoothing=self.smoothing,
            max_gap=self.max_gap,
            hit_threshold=self.hit_threshold,
            hit_min_spacing=self.hit_min_spacing,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose output the analysis depends on."""
    import av
    import cv2
    import mediapipe

    return {
        "expotion_analysis": str(ANALYSIS_VERSION),
        "mediapipe": mediapipe.__version__,
        "opencv": cv2.__version__,
        "pyav": av.__version__,
        "numpy": np.__version__,
    }


def resolve_range(path: str | os.PathLike[str], settings: AnalysisSettings) -> tuple[VideoSource, float]:
    """Probe ``path`` and fix the analysed range; returns the source and nominal fps.

    The in/out points are seconds from the first presented frame (OpenCV's timestamps
    count from it too); the source records where that frame sits in the container
    (``video_start``), which maps them to container time for cutting the file.
    """
    info = probe_video(path)
    start = settings.start or 0.0
    end = info.duration if settings.end is None else min(settings.end, info.duration)
    if start >= info.duration:
        raise VideoError(f"{info.path}: start {start:g} s is past the end of the video ({info.duration:.2f} s).")
    if end - start < 1.0 / info.fps:
        raise VideoError(f"{info.path}: the range {start:g}-{end:g} s holds no frames.")
    source = VideoSource(
        path=str(Path(path)),
        content_hash=content_hash(path),
        fps=info.fps,
        width=info.width,
        height=info.height,
        duration=info.duration,
        start=start,
        end=end,
        rotation=info.rotation,
        video_start=info.video_start,
    )
    if info.video_start or info.audio_start:
        log.info(
            "%s: video starts at %.3f s and audio at %s in the container; times count from the first frame",
            info.path, info.video_start, "none" if info.audio_start is None else f"{info.audio_start:.3f} s",
        )
    return source, info.fps


@contextmanager
def _opencv_on_one_thread() -> Iterator[None]:
    """Run OpenCV's own calls on one thread each while the analysis runs (restored after).

    The decoder, face and pose threads already keep the cores busy; OpenCV's worker pool on
    top of them mostly spins: a few per cent more CPU for the same frames, no faster.
    """
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def measure_frames(
    path: str | os.PathLike[str],
    source: VideoSource,
    settings: AnalysisSettings,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> RawFeatures:
    """Run face mesh, pose and optical flow on each analysed frame of the range.

    The pose graph (the slowest) runs on a worker thread while this thread runs the face
    graph and the flow and decodes the next frame (mediapipe releases the GIL); on two
    cores this beats running face and pose on two workers, or decoding on a third thread,
    whose thread switching costs more than it overlaps. Frames stay in time order for each
    graph's tracker. Every decoded frame, analysed or not, is compared with the one before
    it through the reader's signatures, so that cuts and onsets can later be placed at the
    exact frame.
    """
    progress = progress or no_progress
    keys = ("t", "face", "fv", "fc", "j", "jv", "bs", "bv", "fl", "flv", "blk")
    rows: dict[str, list[Any]] = {k: [] for k in keys}
    empty_face = np.zeros(len(FACE_CHANNELS), np.float32)
    empty_joints = np.zeros((len(BODY_JOINTS), 2), np.float32)
    span = source.range_duration
    started = time.monotonic()
    changes: dict[str, list[Any]] = {"t": [], "grid": [], "hist": [], "res": []}
    progress(0.0, "starting the face and pose models")
    with (
        _opencv_on_one_thread(),
        FaceAnalyzer() as face,
        PoseAnalyzer() as pose,
        ThreadPoolExecutor(1, "expotion-pose") as pool,
        closing(iter_frames(
            path, start=source.start, end=source.end, rate=settings.analysis_fps,
            max_side=settings.max_side, nominal_fps=source.fps, signatures=True,
        )) as frames,
    ):
        motion = MotionEnergy(settings.flow_width)
        meter = ChangeMeter()
        frame = next(frames, None)
        while frame is not None:
            check_cancel(cancel)
            pose_job = pool.submit(pose, frame.rgb)
            for change in map(meter, frame.signatures):
                changes["t"].append(change.time)
                changes["grid"].append(change.grid.astype(np.float16))
                changes["hist"].append(change.hist)
                changes["res"].append(change.residual)
            descriptors, count = face(frame.rgb)
            flow = motion(frame.rgb, frame.time)
            following = next(frames, None)  # decoded while the pose model still runs
            body = pose_job.result()
            rows["t"].append(frame.time)
            rows["face"].append(empty_face if descriptors is None else descriptors)
            rows["fv"].append(descriptors is not None)
            rows["fc"].append(count)
            rows["j"].append(empty_joints if body is None else body[0])
            rows["jv"].append(np.zeros(len(BODY_JOINTS), bool) if body is None else body[1])
            rows["bs"].append(0.0 if body is None else body[2])
            rows["bv"].append(body is not None)
            rows["fl"].append(0.0 if flow.energy is None else flow.energy)
            rows["flv"].append(flow.energy is not None or flow.black)
            rows["blk"].append(flow.black)
            done = (frame.time - source.start) / span
            elapsed = time.monotonic() - started
            speed = (frame.time - source.start) / elapsed if elapsed > 0 else 0.0
            progress(done, f"analysing video {frame.time:6.1f} s ({speed:.1f}x real time)")
            frame = following
    if not rows["t"]:
        raise VideoError(f"{source.path}: no frame could be decoded in {source.start:g}-{source.end:g} s.")
    if rows["flv"]:
        rows["flv"][0] = rows["flv"][1] if len(rows["flv"]) > 1 else False
        rows["fl"][0] = rows["fl"][1] if len(rows["fl"]) > 1 else 0.0
    return RawFeatures(
        times=np.asarray(rows["t"], np.float64),
        face=np.asarray(rows["face"], np.float32).reshape(-1, len(FACE_CHANNELS)),
        face_valid=np.asarray(rows["fv"], bool),
        face_count=np.asarray(rows["fc"], np.int32),
        joints=np.asarray(rows["j"], np.float32).reshape(-1, len(BODY_JOINTS), 2),
        joint_valid=np.asarray(rows["jv"], bool).reshape(-1, len(BODY_JOINTS)),
        body_scale=np.asarray(rows["bs"], np.float32),
        body_valid=np.asarray(rows["bv"], bool),
        flow=np.asarray(rows["fl"], np.float32),
        flow_valid=np.asarray(rows["flv"], bool),
        black=np.asarray(rows["blk"], bool),
        frame_times=np.asarray(changes["t"], np.float64),
        frame_grid=np.asarray(changes["grid"], np.float16) if changes["grid"] else np.zeros((0, 1, 1), np.float16),
        frame_hist=np.asarray(changes["hist"], np.float32),
        frame_residual=np.asarray(changes["res"], np.float32),
    )


def analyze_video(
    path: str | os.PathLike[str],
    settings: AnalysisSettings | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
    source: VideoSource | None = None,
) -> ControlTrack:
    """Analyse ``path`` into a ControlTrack at ``settings.control_rate`` Hz.

    The subject is the largest face in each frame; frames without a face (or body) are
    masked in those channels, never zero-filled as if observed. ``source`` is the result
    of :func:`resolve_range` when the caller has it already.
    """
    settings = settings or AnalysisSettings()
    if source is None:
        source, _ = resolve_range(path, settings)
    raw = measure_frames(path, source, settings, progress, cancel)
    log.info(
        "%s: %d analysed of %d decoded frames, face in %d, body in %d",
        source.path, raw.n_frames, len(raw.frame_times), int(raw.face_valid.sum()), int(raw.body_valid.sum()),
    )
    track = build_control_track(
        raw,
        source,
        settings.control_settings(),
        analysis_rate=settings.analysis_fps,
        extra_settings={
            **{f"analysis.{k}": v for k, v in settings.to_dict().items()},
            "max_faces_seen": int(raw.face_count.max(initial=0)),
        },
        versions=library_versions(),
    )
    if progress is not None:
        progress(1.0, "analysis done")
    return track
