"""A generated test set for hit timing: clips whose events fall on known, irregular frames.

Two kinds of clip, each at any frame rate and from a seed:

* :func:`performance_clip`: one astronaut jolts, turns, nods, leans in, opens her mouth,
  smiles and raises her brows, one thing at a time, at irregular moments;
* :func:`scene_cuts_clip`: a dialogue scene cut as an editor would: a medium shot, a
  close-up of the same person from a moved camera, the reverse shot of a second person
  in the same room, back to the first, a hard cut to another room and a reframing there,
  with movements between the cuts.

Every move starts between two frames, so its first visible frame is not on any regular
grid. The ground truth (:class:`SyncEvent`) is read off the rendered pixels: the
presentation time of the first frame that differs from the one before it because of the
event, which is where a hit must land (sound never before picture).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from studio.demo.animate import Placement
from studio.demo.scenarios import Actor, Clip, Shot, Size, _face_truths, _uniform_times, render_shots
from studio.demo.timeline import PARAMS, Event, FaceParams, Move, Timeline
from studio.demo.writer import shift_video_stream, write_mp4

#: standard deviation (0..255) of the noise added to every frame, as a camera sensor would.
GRAIN = 1.5
#: a pixel counts as changed when a channel moves by more than this (0..255) ...
_CHANGED_LEVEL = 4
#: ... and a frame shows a change when at least this many pixels did.
_CHANGED_PIXELS = 4


@dataclass(frozen=True)
class SyncEvent:
    """One event of a sync clip: ``time`` is the first frame showing it (s in the file),
    ``cause`` one of ``motion``, ``expression``, ``cut``; ``same_scene`` marks a cut
    between two framings of one scene (same room and light)."""

    time: float
    cause: str
    name: str
    same_scene: bool = False


@dataclass(frozen=True)
class SyncClip:
    """A generated clip, its ground truth and the in point to analyse it from (s)."""

    clip: Clip
    truth: tuple[SyncEvent, ...]
    start: float = 0.0
    label: str = ""

    def expected(self, zero: float, margin: float = 0.3) -> tuple[SyncEvent, ...]:
        """Events at least ``margin`` s after the in point, timed from ``zero`` (s in the file)."""
        return tuple(
            SyncEvent(e.time - zero, e.cause, e.name, e.same_scene) for e in self.truth
            if e.time >= self.start + margin
        )


# Moves one person can make: name -> (parameter, size of the change, duration s, easing).
_MOVES: dict[str, tuple[str, float, float, str]] = {
    "jolt": ("x", 0.07, 0.12, "out"),
    "head turn": ("yaw", 0.5, 0.35, "linear"),
    "nod": ("pitch", 0.6, 0.3, "out"),
    "tilt": ("roll", 8.0, 0.3, "linear"),
    "lean in": ("scale", 0.15, 0.4, "out"),
    "mouth": ("mouth_open", 1.0, 0.2, "out"),
    "smile": ("smile", 1.0, 0.2, "out"),
    "brow": ("brow", 1.0, 0.25, "out"),
}
_LIMIT = {"x": 0.12, "yaw": 0.6, "pitch": 0.7, "roll": 10.0, "scale": 1.2}


def _target(param: str, current: float, rest: float, change: float, rng: np.random.Generator) -> float:
    """Where a move of ``param`` goes from ``current``: toggles for expressions, steps for poses."""
    if param in ("mouth_open", "smile", "brow"):
        if abs(current - rest) > 1e-6:
            return rest
        return rest + change if rest + change <= 1.0 else rest - change
    if param == "scale":
        return 1.0 if current > 1.0 + 1e-6 else 1.0 + change
    step = change * (1.0 if rng.random() < 0.5 else -1.0)
    if abs(current + step) > _LIMIT[param]:
        step = -step
    return current + step


def _start_between_frames(after: float, times: Sequence[float], rng: np.random.Generator) -> float:
    """A time just after a frame, so the first frame showing a move starting then is the next one."""
    k = int(np.searchsorted(times, after))
    k = min(max(k, 1), len(times) - 1)
    period = times[k] - times[k - 1]
    return float(times[k - 1] + rng.uniform(0.0, 0.35) * period)


def _schedule(
    rng: np.random.Generator,
    times: Sequence[float],
    windows: Sequence[tuple[float, float]],
    kinds: Sequence[str],
    rest: FaceParams,
    moves: list[Move],
) -> None:
    """Append moves of ``kinds`` (cycled in a shuffled order) to ``moves`` inside ``windows``."""
    order = list(rng.permutation(len(kinds)))
    current = {p: float(getattr(rest, p)) for p in PARAMS}
    for m in moves:
        for p, v in m.targets.items():
            current[p] = v
    for lo, hi in windows:
        cursor = lo + rng.uniform(0.25, 0.45)
        while True:
            kind = kinds[order[len(moves) % len(order)]]
            param, change, duration, easing = _MOVES[kind]
            start = _start_between_frames(cursor, times, rng)
            if start + duration > hi - 0.25:
                break
            target = _target(param, current[param], float(getattr(rest, param)), change, rng)
            moves.append(Move(start, duration, {param: target}, kind, easing))
            current[param] = target
            cursor = start + duration + rng.uniform(0.3, 0.6)


def _changed_frames(frames: Iterable[np.ndarray], changed: list[bool]) -> Iterator[np.ndarray]:
    """Pass ``frames`` through, noting in ``changed`` whether each differs visibly from the one before."""
    previous: np.ndarray | None = None
    for frame in frames:
        if previous is None:
            changed.append(False)
        else:
            diff = np.abs(frame.astype(np.int16) - previous.astype(np.int16)).max(axis=2)
            changed.append(int((diff > _CHANGED_LEVEL).sum()) >= _CHANGED_PIXELS)
        previous = frame
        yield frame


def _first_visible(after: float, times: Sequence[float], changed: Sequence[bool], inclusive: bool) -> float:
    """Time of the first frame after ``after`` (or at it, ``inclusive``) that shows a change."""
    for t, c in zip(times, changed, strict=True):
        if (t > after + 1e-9 or (inclusive and t >= after - 1e-9)) and c:
            return float(t)
    raise ValueError(f"no frame after {after:.3f} s shows a change.")


def _grainy(frames: Iterable[np.ndarray], grain: float, seed: int) -> Iterator[np.ndarray]:
    """``frames`` with fresh sensor-like noise of ``grain`` levels (0..255) on each."""
    rng = np.random.default_rng(seed)
    for frame in frames:
        noise = rng.normal(0.0, grain, frame.shape[:2] + (1,)).astype(np.float32)
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def _render(path: Path, shots: Sequence[Shot], size: Size, times: Sequence[float], fps: float, grain: float,
            seed: int) -> list[bool]:
    """Write the clip with grain; returns which frames visibly changed (judged before the grain)."""
    changed: list[bool] = []
    frames = _changed_frames(render_shots(shots, size, times), changed)
    write_mp4(path, _grainy(frames, grain, seed) if grain > 0 else frames, fps=fps)
    return changed


def _truth_of(moves: Sequence[Move], cuts: Sequence[tuple[float, str, bool]], times: Sequence[float],
              changed: Sequence[bool]) -> tuple[SyncEvent, ...]:
    events = [SyncEvent(_first_visible(m.start, times, changed, False), m.kind, m.name) for m in moves]
    events += [SyncEvent(_first_visible(t, times, changed, True), "cut", name, same) for t, name, same in cuts]
    return tuple(sorted(events, key=lambda e: e.time))


def _performance_moves(fps: float, seed: int, duration: float, start: float) -> tuple[tuple[float, ...], list[Move]]:
    """Frame times and the moves of a performance clip."""
    rng = np.random.default_rng(seed)
    times = _uniform_times(duration, fps)
    moves: list[Move] = []
    _schedule(rng, times, [(start + 0.35, duration)], list(_MOVES), FaceParams(), moves)
    return times, moves


def performance_clip(path: str | os.PathLike[str], *, fps: float = 25.0, seed: int = 0, duration: float = 5.0,
                     size: Size = (320, 240), start: float = 0.0, grain: float = GRAIN) -> SyncClip:
    """One person making single moves at irregular moments, to be analysed from ``start`` s."""
    times, moves = _performance_moves(fps, seed, duration, start)
    rest = FaceParams()
    timeline = Timeline(tuple(moves), rest)
    shots = (Shot(0.0, (Actor(timeline, Placement(0.32, (0.5, 0.42))),), "studio", seed % 3),)
    path = Path(path)
    changed = _render(path, shots, size, times, fps, grain, seed)
    clip = Clip(path, fps, duration, size, times, timeline.events(), _face_truths(shots, size, duration),
                description=f"single moves at irregular frames, {fps:g} fps")
    return SyncClip(clip, _truth_of(moves, (), times, changed), start, f"performance {fps:g} fps #{seed}")


def still_clip(path: str | os.PathLike[str], *, fps: float = 25.0, duration: float = 3.0, size: Size = (320, 240),
               face_height: float = 0.07, grain: float = GRAIN) -> SyncClip:
    """A still picture of a small, far-away person with sensor grain: nothing happens."""
    times = _uniform_times(duration, fps)
    shots = (Shot(0.0, (Actor(Timeline(), Placement(face_height, (0.7, 0.5))),), "green", 5),)
    path = Path(path)
    _render(path, shots, size, times, fps, grain, 5)
    clip = Clip(path, fps, duration, size, times, (), _face_truths(shots, size, duration),
                description="a still picture of a small person, grain only")
    return SyncClip(clip, (), 0.0, "still")


# Shots of the dialogue scene: (who, face height, nose position, camera, palette, same scene as before).
_SCENE: tuple[tuple[str, float, tuple[float, float], tuple[float, float, float], str, bool], ...] = (
    ("a", 0.26, (0.42, 0.40), (1.0, 0.0, 0.0), "studio", False),
    ("a", 0.44, (0.46, 0.46), (1.35, -0.08, 0.03), "studio", True),
    ("b", 0.34, (0.62, 0.42), (1.15, 0.12, 0.0), "studio", True),
    ("a", 0.26, (0.42, 0.40), (1.0, 0.0, 0.0), "studio", True),
    ("a", 0.30, (0.55, 0.42), (1.0, 0.0, 0.0), "warm", False),
    ("a", 0.42, (0.50, 0.46), (1.3, 0.06, 0.04), "warm", True),
)


@dataclass(frozen=True)
class _ScenePlan:
    """What a dialogue scene clip shows: frame times, length, shot starts, each person's moves and the cuts."""

    times: tuple[float, ...]
    duration: float
    cut_starts: list[float]
    timelines: dict[str, Timeline]
    moves: list[Move]
    cuts: list[tuple[float, str, bool]]


def _scene_plan(fps: float, seed: int, shot_length: float) -> _ScenePlan:
    """The shots, moves and cuts of a dialogue scene clip."""
    rng = np.random.default_rng(1000 + seed)
    lengths = shot_length * rng.uniform(0.85, 1.2, len(_SCENE))
    bounds = np.concatenate([[0.0], np.cumsum(lengths)])
    duration = float(bounds[-1])
    times = _uniform_times(duration, fps)
    cut_starts = [0.0] + [_start_between_frames(b, times, rng) for b in bounds[1:-1]]
    rests = {"a": FaceParams(yaw=0.25), "b": FaceParams(yaw=-0.3, smile=0.3)}
    windows: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
    for i, (who, *_rest) in enumerate(_SCENE):
        end = cut_starts[i + 1] if i + 1 < len(_SCENE) else duration
        windows[who].append((cut_starts[i], end))
    timelines = {}
    all_moves: list[Move] = []
    for who, kinds in (("a", ["jolt", "mouth", "nod", "brow"]), ("b", ["smile", "tilt", "jolt"])):
        moves: list[Move] = []
        _schedule(rng, times, windows[who], kinds, rests[who], moves)
        timelines[who] = Timeline(tuple(moves), rests[who])
        all_moves += moves
    cuts = [(cut_starts[i], f"cut {i}", _SCENE[i][5]) for i in range(1, len(_SCENE))]
    return _ScenePlan(times, duration, cut_starts, timelines, all_moves, cuts)


def scene_cuts_clip(path: str | os.PathLike[str], *, fps: float = 25.0, seed: int = 0, shot_length: float = 1.3,
                    size: Size = (320, 240), start: float = 0.0, grain: float = GRAIN) -> SyncClip:
    """A two-person dialogue scene: cuts within the room (other framing, moved camera,
    reverse shot), one hard cut to another room, and a move or two inside each shot."""
    plan = _scene_plan(fps, seed, shot_length)
    times, duration, cut_starts, timelines, cuts = plan.times, plan.duration, plan.cut_starts, plan.timelines, \
        plan.cuts
    shots = tuple(
        Shot(cut_starts[i], (Actor(timelines[who], Placement(height, centre), who),), palette, 0, camera)
        for i, (who, height, centre, camera, palette, _same) in enumerate(_SCENE)
    )
    path = Path(path)
    changed = _render(path, shots, size, times, fps, grain, seed)
    events = [e for who in timelines for e in timelines[who].events()]
    events += [Event(t, t, name, "cut") for t, name, _ in cuts]
    clip = Clip(path, fps, duration, size, times, tuple(sorted(events, key=lambda e: e.time)),
                _face_truths(shots, size, duration), cut_time=cuts[0][0],
                description=f"dialogue scene with cuts in one room and to another, {fps:g} fps")
    return SyncClip(clip, _truth_of(plan.moves, cuts, times, changed), start, f"scene cuts {fps:g} fps #{seed}")


def stream_offset_copy(clip: SyncClip, path: str | os.PathLike[str], offset: float = 0.85) -> SyncClip:
    """``clip`` remuxed so that its video stream starts ``offset`` s into the container, as
    phone and camera files often do; times still count from the first presented frame."""
    path = shift_video_stream(clip.clip.path, path, offset)
    moved = replace(clip.clip, path=path, description=f"{clip.clip.description}, video stream at {offset:g} s")
    return replace(clip, clip=moved, label=f"{clip.label}, stream at {offset:g} s")


#: the frame rates of the set: security and screen recordings, PAL animation, PAL, NTSC.
FRAME_RATES = (10.0, 12.5, 25.0, 30000 / 1001)


@dataclass(frozen=True)
class PlannedClip:
    """A clip of the sync set as planned, not rendered: its length, in point and the frames its events should show on
    (the first frame after each move starts, the first frame of each shot), for tests that need the event times
    without the video (the rendered truth can differ where a move's first frame changes too few pixels)."""

    label: str
    duration: float
    start: float
    events: tuple[SyncEvent, ...]

    def expected(self, margin: float = 0.3) -> tuple[SyncEvent, ...]:
        """Events at least ``margin`` s after the in point, timed from it (as an analysis of the clip counts)."""
        return tuple(SyncEvent(e.time - self.start, e.cause, e.name, e.same_scene) for e in self.events
                     if e.time >= self.start + margin)


def _planned(moves: Sequence[Move], cuts: Sequence[tuple[float, str, bool]], times: Sequence[float]
             ) -> tuple[SyncEvent, ...]:
    every = [True] * len(times)
    return _truth_of(moves, cuts, times, every)


def planned_sync_set(*, seeds: Sequence[int] = (0,), rates: Sequence[float] = FRAME_RATES) -> list[PlannedClip]:
    """The clips :func:`build_sync_set` renders (less the stream-offset copies, whose events are their source's), as
    planned: no video is written."""
    out = []
    for seed in seeds:
        for i, fps in enumerate(rates):
            offset = _in_point(seed, i)
            times, moves = _performance_moves(fps, seed * 7 + i, 5.0, offset)
            out.append(PlannedClip(f"performance {fps:g} fps #{seed * 7 + i}", 5.0, offset, _planned(moves, (), times)))
            plan = _scene_plan(fps, seed * 7 + i, 1.3)
            out.append(PlannedClip(f"scene cuts {fps:g} fps #{seed * 7 + i}", plan.duration, offset,
                                   _planned(plan.moves, plan.cuts, plan.times)))
    return out


def _in_point(seed: int, index: int) -> float:
    """Where the sync set analyses clip ``index`` of ``seed`` from: every other clip from a non-zero in point."""
    return 0.0 if (index + seed) % 2 == 0 else round(0.2 + 0.37 * ((seed + index) % 3), 3)


def build_sync_set(folder: str | os.PathLike[str], *, seeds: Sequence[int] = (0,),
                   rates: Sequence[float] = FRAME_RATES, size: Size = (320, 240)) -> list[SyncClip]:
    """Both clip kinds at every rate and seed, every other clip analysed from a non-zero in
    point, and per seed one clip whose video stream starts 0.85 s into the container."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in seeds:
        for i, fps in enumerate(rates):
            offset = _in_point(seed, i)
            tag = f"{fps:.2f}".replace(".", "_")
            out.append(performance_clip(folder / f"perf_{tag}_{seed}.mp4", fps=fps, seed=seed * 7 + i,
                                        size=size, start=offset))
            out.append(scene_cuts_clip(folder / f"scene_{tag}_{seed}.mp4", fps=fps, seed=seed * 7 + i,
                                       size=size, start=offset))
        out.append(stream_offset_copy(out[-2], folder / f"perf_offset_{seed}.mp4"))
    return out
