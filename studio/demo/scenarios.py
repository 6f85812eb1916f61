"""Short synthetic clips with known ground truth, for tests across the project.

Each builder renders the animated astronaut (or a face-less scene) into an MP4 at
``path`` and returns a :class:`Clip`: the path plus what is in it, frame times, fps,
size and the start time of every motion and expression event, so tests can compare
what the analysis finds with what the clip was built with. Builders are deterministic
and take well under a second at their default size (320x240 or 480x270, 25 fps).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from studio.demo.animate import Placement, PortraitAnimator, composite, face_box
from studio.demo.background import backdrop, noise_scene
from studio.demo.timeline import Event, Move, Timeline
from studio.demo.writer import set_display_rotation, stored_orientation, write_mp4, write_vfr_mp4

Size = tuple[int, int]


@dataclass(frozen=True)
class Actor:
    """One animated person: what they do (``timeline``) and where they stand (``placement``)."""

    timeline: Timeline
    placement: Placement = field(default_factory=Placement)
    name: str = "subject"


@dataclass(frozen=True)
class Shot:
    """A stretch of a clip from ``start`` seconds: one backdrop and its actors, back to front.

    ``camera`` is ``(zoom, dx, dy)``: the backdrop magnified ``zoom`` times about the frame
    centre and shifted by ``dx``/``dy`` fractions of the frame width/height, so two shots
    of one scene (same palette and seed) can show it from another camera position.
    """

    start: float
    actors: tuple[Actor, ...]
    palette: str = "studio"
    seed: int = 0
    camera: tuple[float, float, float] = (1.0, 0.0, 0.0)


@dataclass(frozen=True)
class FaceTruth:
    """Ground truth of one face: its timeline, placement, and rest size/position in frame pixels."""

    name: str
    timeline: Timeline
    placement: Placement
    box: tuple[float, float, float, float]
    shot_start: float = 0.0
    shot_end: float | None = None

    @property
    def height_px(self) -> float:
        """Forehead-to-chin height at rest, in frame pixels."""
        return self.box[3] - self.box[1]

    @property
    def center_px(self) -> tuple[float, float]:
        """Centre of the face box at rest, in frame pixels."""
        return (0.5 * (self.box[0] + self.box[2]), 0.5 * (self.box[1] + self.box[3]))


@dataclass(frozen=True)
class Clip:
    """A generated clip and its ground truth.

    ``size`` is ``(width, height)`` as displayed (after rotation), ``stored_size`` as
    encoded; ``fps`` is the nominal rate (frames per second of duration for a
    variable-rate clip, whose true timestamps are ``frame_times``); ``rotation`` is what
    OpenCV reports as ``CAP_PROP_ORIENTATION_META`` (degrees clockwise to turn the stored
    picture upright). ``events`` are the subject's
    moves plus scene events (kind ``cut`` or ``gap``), in time order. ``faces[0]`` is
    the subject (the largest face); ``faces`` is empty for a clip without people.
    """

    path: Path
    fps: float
    duration: float
    size: Size
    frame_times: tuple[float, ...]
    events: tuple[Event, ...]
    faces: tuple[FaceTruth, ...] = ()
    cut_time: float | None = None
    black_gap: tuple[float, float] | None = None
    rotation: int = 0
    stored_size: Size | None = None
    variable_rate: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.stored_size is None:
            object.__setattr__(self, "stored_size", self.size)
        object.__setattr__(self, "path", Path(self.path))

    @property
    def frame_count(self) -> int:
        """Number of frames in the file."""
        return len(self.frame_times)

    @property
    def subject(self) -> FaceTruth | None:
        """The largest face, or ``None`` when the clip has no face."""
        return self.faces[0] if self.faces else None

    def onsets(self, kind: str | None = None) -> tuple[float, ...]:
        """Start times of the events of ``kind`` (``motion``, ``expression``, ``cut``, ``gap``), or of all."""
        return tuple(e.time for e in self.events if kind is None or e.kind == kind)

    def event(self, name: str) -> Event:
        """The first event called ``name``."""
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(f"no event {name!r}; events: {', '.join(e.name for e in self.events)}")

    def face_visible(self, t: float) -> bool:
        """Whether the subject's face is on screen at ``t`` (false in a black gap or a face-less clip)."""
        if not self.faces:
            return False
        return not (self.black_gap and self.black_gap[0] <= t < self.black_gap[1])


@functools.lru_cache(maxsize=1)
def _animator() -> PortraitAnimator:
    return PortraitAnimator()


def render_shots(shots: Sequence[Shot], size: Size, times: Sequence[float]) -> Iterator[np.ndarray]:
    """Frames (uint8 RGB) of ``shots`` at ``times``: the shot that started last is on screen."""
    ordered = sorted(shots, key=lambda s: s.start)
    animator = _animator()
    backdrops = {id(s): _framed(backdrop(size, palette=s.palette, seed=s.seed), s.camera) for s in ordered}
    for t in times:
        shot = [s for s in ordered if s.start <= t + 1e-9][-1] if t >= ordered[0].start else ordered[0]
        layers = [animator.layer(a.timeline.at(t), size, a.placement) for a in shot.actors]
        yield composite(backdrops[id(shot)], layers)


def _framed(image: np.ndarray, camera: tuple[float, float, float]) -> np.ndarray:
    """``image`` as seen by a camera zoomed ``camera[0]`` times and moved by ``camera[1:]``."""
    zoom, dx, dy = camera
    if (zoom, dx, dy) == (1.0, 0.0, 0.0):
        return image
    height, width = image.shape[:2]
    cx, cy = width / 2.0, height / 2.0
    matrix = np.array([[zoom, 0.0, cx - zoom * cx - dx * width], [0.0, zoom, cy - zoom * cy - dy * height]])
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _uniform_times(duration: float, fps: float) -> tuple[float, ...]:
    if not (duration > 0 and fps > 0):
        raise ValueError(f"duration {duration!r} and fps {fps!r} must be > 0.")
    return tuple(i / fps for i in range(int(round(duration * fps))))


def _face_truths(shots: Sequence[Shot], size: Size, duration: float) -> tuple[FaceTruth, ...]:
    """Every actor's truth, the largest face of the first shot first."""
    ordered = sorted(shots, key=lambda s: s.start)
    out = []
    for i, shot in enumerate(ordered):
        shot_end = ordered[i + 1].start if i + 1 < len(ordered) else duration
        for actor in shot.actors:
            box = face_box(actor.timeline.rest, size, actor.placement)
            out.append(FaceTruth(actor.name, actor.timeline, actor.placement, box, shot.start, shot_end))
    first = [f for f in out if f.shot_start == ordered[0].start]
    rest = [f for f in out if f.shot_start != ordered[0].start]
    first.sort(key=lambda f: -f.height_px)
    return tuple(first + rest)


def _subject_events(timeline: Timeline, start: float, end: float) -> list[Event]:
    return [e for e in timeline.events() if start <= e.time < end]


# --------------------------------------------------------------------------- builders


def face_timeline() -> Timeline:
    """The single-face test performance (5 s): still, sway, mouth open/close, nod, brow raise."""
    return Timeline((
        Move(1.0, 0.3, {"x": 0.12}, "sway right", "out"),
        Move(2.0, 0.2, {"mouth_open": 1.0}, "mouth open", "out"),
        Move(2.8, 0.2, {"mouth_open": 0.0}, "mouth close", "out"),
        Move(3.4, 0.3, {"pitch": 0.8, "roll": 6.0}, "nod", "out"),
        Move(4.2, 0.25, {"brow": 1.0}, "brow raise", "out"),
    ))


def face_clip(path: str | os.PathLike[str], *, size: Size = (320, 240), fps: float = 25.0,
              duration: float = 5.0) -> Clip:
    """One face, still for 1 s, then head moves at 1.0 and 3.4 s, mouth open 2.0-2.8 s, brow raise at 4.2 s."""
    timeline = face_timeline()
    shots = (Shot(0.0, (Actor(timeline, Placement(0.30, (0.5, 0.40))),)),)
    times = _uniform_times(duration, fps)
    write_mp4(path, render_shots(shots, size, times), fps=fps)
    return Clip(Path(path), fps, duration, size, times, tuple(_subject_events(timeline, 0.0, duration)),
                _face_truths(shots, size, duration), description="one face with head moves and a mouth opening")


def no_face_clip(path: str | os.PathLike[str], *, size: Size = (320, 240), fps: float = 25.0,
                 duration: float = 4.0, blob_start: float = 1.0) -> Clip:
    """No person at all: a grainy backdrop and a soft disc that starts drifting right at ``blob_start``."""
    times = _uniform_times(duration, fps)
    write_mp4(path, (_to_uint8(noise_scene(size, t, blob_start=blob_start)) for t in times), fps=fps)
    event = Event(blob_start, duration, "disc moves", "motion", (), blob_start)
    return Clip(Path(path), fps, duration, size, times, (event,), (), description="no face, a moving disc")


def two_faces_clip(path: str | os.PathLike[str], *, size: Size = (480, 270), fps: float = 25.0,
                   duration: float = 4.0) -> Clip:
    """Two astronauts: the subject (face 36% of the frame height, left) opens her mouth at
    1.0 s; the smaller one (18%, right, behind) sways at 2.0 s and opens her mouth at 2.8 s."""
    subject = Timeline((Move(1.0, 0.2, {"mouth_open": 1.0}, "mouth open", "out"),
                        Move(3.2, 0.2, {"mouth_open": 0.0}, "mouth close", "out")))
    other = Timeline((Move(2.0, 0.3, {"x": -0.06, "roll": -8.0}, "sway left", "out"),
                      Move(2.8, 0.2, {"mouth_open": 1.0}, "mouth open", "out")))
    actors = (Actor(other, Placement(0.18, (0.80, 0.40)), "small"),
              Actor(subject, Placement(0.36, (0.30, 0.42)), "subject"))
    shots = (Shot(0.0, actors, palette="green", seed=3),)
    times = _uniform_times(duration, fps)
    write_mp4(path, render_shots(shots, size, times), fps=fps)
    return Clip(Path(path), fps, duration, size, times, tuple(_subject_events(subject, 0.0, duration)),
                _face_truths(shots, size, duration), description="a large subject face and a small second face")


def cut_clip(path: str | os.PathLike[str], *, size: Size = (320, 240), fps: float = 25.0,
             duration: float = 5.0, cut_time: float = 2.4) -> Clip:
    """A medium shot on a slate backdrop, then at ``cut_time`` a hard cut to a close-up,
    further left, on a warm backdrop. Head sway at 1.0 s; mouth opens 1.2 s after the cut."""
    if not 0.5 <= cut_time <= duration - 0.5:
        raise ValueError(f"cut_time {cut_time!r} must leave 0.5 s on both sides within {duration} s.")
    first = Timeline((Move(1.0, 0.3, {"x": 0.1}, "sway right", "out"),))
    second = Timeline((Move(cut_time + 1.2, 0.2, {"mouth_open": 1.0}, "mouth open", "out"),))
    shots = (Shot(0.0, (Actor(first, Placement(0.26, (0.5, 0.38))),), "studio", 0),
             Shot(cut_time, (Actor(second, Placement(0.46, (0.38, 0.45)), "subject"),), "warm", 1))
    times = _uniform_times(duration, fps)
    write_mp4(path, render_shots(shots, size, times), fps=fps)
    events = _subject_events(first, 0.0, cut_time) + _subject_events(second, cut_time, duration)
    events.append(Event(cut_time, cut_time, "cut", "cut"))
    return Clip(Path(path), fps, duration, size, times, tuple(sorted(events, key=lambda e: e.time)),
                _face_truths(shots, size, duration), cut_time=cut_time,
                description="hard cut from a medium shot to a close-up")


def black_gap_clip(path: str | os.PathLike[str], *, size: Size = (320, 240), fps: float = 25.0,
                   duration: float = 5.0, gap: tuple[float, float] = (2.0, 3.0)) -> Clip:
    """The face clip's performance with pure black frames for ``gap[0] <= t < gap[1]``."""
    t0, t1 = gap
    if not 0.0 < t0 < t1 < duration:
        raise ValueError(f"gap {gap!r} must lie strictly inside 0..{duration} s.")
    timeline = Timeline((Move(1.0, 0.3, {"x": 0.12}, "sway right", "out"),
                         Move(3.6, 0.2, {"mouth_open": 1.0}, "mouth open", "out")))
    shots = (Shot(0.0, (Actor(timeline, Placement(0.30, (0.5, 0.40))),)),)
    times = _uniform_times(duration, fps)
    black = np.zeros((size[1], size[0], 3), np.uint8)
    frames = (black if t0 <= t < t1 else frame for t, frame in zip(times, render_shots(shots, size, times),
                                                                    strict=True))
    write_mp4(path, frames, fps=fps)
    events = [*_subject_events(timeline, 0.0, duration), Event(t0, t1, "black", "gap")]
    return Clip(Path(path), fps, duration, size, times, tuple(sorted(events, key=lambda e: e.time)),
                _face_truths(shots, size, duration), black_gap=(t0, t1),
                description="one face with black frames in between")


def vfr_clip(path: str | os.PathLike[str], *, size: Size = (320, 240),
             segments: Sequence[tuple[float, float, float]] = ((0.0, 2.0, 5.0), (2.0, 5.0, 25.0))) -> Clip:
    """Variable frame rate: ``segments`` of ``(start, end, fps)``; by default 5 fps for 2 s, then
    25 fps. Head sway at 1.0 s (slow part), nod at 3.0 s, mouth open at 3.8 s."""
    times: list[float] = []
    for start, end, rate in segments:
        n = int(round((end - start) * rate))
        times += [round(start + i / rate, 3) for i in range(n)]
    duration = float(segments[-1][1])
    timeline = Timeline((Move(1.0, 0.3, {"x": 0.12}, "sway right", "out"),
                         Move(3.0, 0.3, {"pitch": 0.8, "roll": 6.0}, "nod", "out"),
                         Move(3.8, 0.2, {"mouth_open": 1.0}, "mouth open", "out")))
    shots = (Shot(0.0, (Actor(timeline, Placement(0.30, (0.5, 0.40))),)),)
    stored = write_vfr_mp4(path, render_shots(shots, size, times), times, end=duration)
    mean_fps = len(stored) / duration
    return Clip(Path(path), mean_fps, duration, size, stored, tuple(_subject_events(timeline, 0.0, duration)),
                _face_truths(shots, size, duration), variable_rate=True,
                description="variable frame rate: " + ", ".join(f"{r:g} fps {a:g}-{b:g} s" for a, b, r in segments))


def rotated_clip(path: str | os.PathLike[str], *, rotation: int = 90, size: Size = (320, 240), fps: float = 25.0,
                 duration: float = 4.0) -> Clip:
    """The face performance stored turned so that a player must rotate it ``rotation`` degrees
    clockwise (display matrix in the MP4); ``size`` is the upright picture's size."""
    timeline = Timeline((Move(1.0, 0.3, {"x": 0.12}, "sway right", "out"),
                         Move(2.2, 0.2, {"mouth_open": 1.0}, "mouth open", "out")))
    shots = (Shot(0.0, (Actor(timeline, Placement(0.30, (0.5, 0.40))),)),)
    times = _uniform_times(duration, fps)
    path = Path(path)
    raw = path.with_name(f".{path.stem}.unrotated.mp4")
    try:
        write_mp4(raw, (stored_orientation(f, rotation) for f in render_shots(shots, size, times)), fps=fps)
        set_display_rotation(raw, path, rotation)
    finally:
        raw.unlink(missing_ok=True)
    stored_size = size if rotation in (0, 180) else (size[1], size[0])
    return Clip(path, fps, duration, size, times, tuple(_subject_events(timeline, 0.0, duration)),
                _face_truths(shots, size, duration), rotation=rotation, stored_size=stored_size,
                description=f"stored turned, display matrix says rotate {rotation} degrees clockwise")


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
