"""Keyframed pose and expression of an animated face, with the ground truth of every event.

A :class:`Timeline` is a list of :class:`Move` s. A move ramps one or more parameters from
whatever value they hold when it starts to new targets, with an easing curve; between
moves the parameters hold still. Every move is an event whose start is known exactly,
which is what tests of the analysis compare their hit points with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

MOTION_PARAMS = ("x", "y", "scale", "roll", "yaw", "pitch")
EXPRESSION_PARAMS = ("mouth_open", "smile", "brow")
PARAMS = MOTION_PARAMS + EXPRESSION_PARAMS
EASINGS = ("linear", "smooth", "out", "in")

_LIMITS: dict[str, tuple[float, float]] = {
    "x": (-1.0, 1.0),
    "y": (-1.0, 1.0),
    "scale": (0.5, 2.0),
    "roll": (-20.0, 20.0),
    "yaw": (-1.0, 1.0),
    "pitch": (-1.0, 1.0),
    "mouth_open": (0.0, 1.0),
    "smile": (-1.0, 1.0),
    "brow": (-1.0, 1.0),
}


@dataclass(frozen=True)
class FaceParams:
    """Pose and expression of one face in one frame.

    ``x``/``y`` move the whole person (fractions of the frame height, +x right, +y down),
    ``scale`` zooms around the nose, ``roll`` tilts the head in degrees (+ clockwise on
    screen), ``yaw`` turns the face (-1..1, + towards the viewer's right), ``pitch`` nods
    (-1..1, + down), ``mouth_open`` drops the jaw (0..1), ``smile`` lifts (+) or lowers (-)
    the mouth corners and ``brow`` raises (+) or lowers (-) the eyebrows.
    """

    x: float = 0.0
    y: float = 0.0
    scale: float = 1.0
    roll: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    mouth_open: float = 0.0
    smile: float = 0.0
    brow: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_value(f.name, getattr(self, f.name))


def _check_value(name: str, value: float) -> None:
    low, high = _LIMITS[name]
    try:
        ok = math.isfinite(float(value)) and low <= float(value) <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"face parameter {name}={value!r} is not a number within {low}..{high}.")


def ease(kind: str, u: float) -> float:
    """Progress 0..1 of a ramp at fraction ``u`` of its duration for easing ``kind``."""
    u = min(max(u, 0.0), 1.0)
    if kind == "linear":
        return u
    if kind == "smooth":
        return u * u * (3.0 - 2.0 * u)
    if kind == "out":
        return 1.0 - (1.0 - u) ** 3
    if kind == "in":
        return u**3
    raise ValueError(f"easing {kind!r} is not one of {', '.join(EASINGS)}.")


@dataclass(frozen=True)
class Move:
    """Ramp ``targets`` (parameter name -> value) over ``[start, start + duration]``.

    ``out`` easing starts at full speed (a sharp onset, what hit detection should find at
    ``start``); ``smooth`` starts and ends gently (fastest half-way).
    """

    start: float
    duration: float
    targets: Mapping[str, float]
    name: str = ""
    easing: str = "smooth"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and self.start >= 0.0):
            raise ValueError(f"move start {self.start!r} must be a finite time >= 0 s.")
        if not (math.isfinite(self.duration) and self.duration > 0.0):
            raise ValueError(f"move duration {self.duration!r} must be > 0 s.")
        if not self.targets:
            raise ValueError("a move needs at least one target parameter.")
        for key, value in self.targets.items():
            if key not in _LIMITS:
                raise ValueError(f"unknown face parameter {key!r}; valid: {', '.join(PARAMS)}.")
            _check_value(key, value)
        ease(self.easing, 0.0)
        object.__setattr__(self, "targets", {k: float(v) for k, v in self.targets.items()})

    def __hash__(self) -> int:
        return hash((self.start, self.duration, tuple(sorted(self.targets.items())), self.name, self.easing))

    @property
    def end(self) -> float:
        """Time at which the targets are reached."""
        return self.start + self.duration

    @property
    def kind(self) -> str:
        """``motion`` when the move changes the head or body pose, else ``expression``."""
        return "motion" if any(k in MOTION_PARAMS for k in self.targets) else "expression"

    @property
    def peak(self) -> float:
        """Time of the move's greatest speed."""
        return {"linear": self.start, "out": self.start, "smooth": self.start + self.duration / 2}.get(
            self.easing, self.end
        )


@dataclass(frozen=True)
class Event:
    """Ground truth of one event in a clip: what happened, when it started and ended."""

    time: float
    end: float
    name: str
    kind: str
    params: tuple[str, ...] = ()
    peak: float | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "time": round(self.time, 6),
            "end": round(self.end, 6),
            "name": self.name,
            "kind": self.kind,
            "params": list(self.params),
            "peak": None if self.peak is None else round(self.peak, 6),
        }


@dataclass(frozen=True)
class Timeline:
    """An ordered set of moves; ``at(t)`` gives the :class:`FaceParams` at time ``t`` seconds."""

    moves: tuple[Move, ...] = field(default_factory=tuple)
    rest: FaceParams = field(default_factory=FaceParams)

    def __post_init__(self) -> None:
        moves = tuple(sorted(self.moves, key=lambda m: m.start))
        object.__setattr__(self, "moves", moves)
        for name in PARAMS:
            last_end, last_name = -math.inf, ""
            for move in moves:
                if name not in move.targets:
                    continue
                if move.start < last_end - 1e-9:
                    raise ValueError(
                        f"moves {last_name!r} and {move.name!r} both change {name!r} at {move.start:.3f} s; "
                        "moves of one parameter must not overlap."
                    )
                last_end, last_name = move.end, move.name

    def value(self, name: str, t: float) -> float:
        """The value of parameter ``name`` at time ``t``."""
        if name not in _LIMITS:
            raise ValueError(f"unknown face parameter {name!r}; valid: {', '.join(PARAMS)}.")
        v = float(getattr(self.rest, name))
        for move in self.moves:
            if name not in move.targets:
                continue
            if t <= move.start:
                break
            u = (t - move.start) / move.duration
            if u < 1.0:
                return v + (move.targets[name] - v) * ease(move.easing, u)
            v = float(move.targets[name])
        return v

    def at(self, t: float) -> FaceParams:
        """Pose and expression at time ``t``."""
        return FaceParams(**{name: self.value(name, t) for name in PARAMS})

    @property
    def end(self) -> float:
        """When the last move ends (0 for a still timeline)."""
        return max((m.end for m in self.moves), default=0.0)

    def events(self) -> tuple[Event, ...]:
        """One :class:`Event` per move that changes something, in time order."""
        out = []
        for move in self.moves:
            changed = tuple(k for k, v in move.targets.items() if abs(self.value(k, move.start) - v) > 1e-9)
            if changed:
                out.append(Event(move.start, move.end, move.name or "+".join(changed), move.kind, changed, move.peak))
        return tuple(out)

    def still_sections(self, duration: float, min_length: float = 0.5) -> tuple[tuple[float, float], ...]:
        """Intervals of at least ``min_length`` seconds within ``[0, duration]`` where nothing moves."""
        sections, cursor = [], 0.0
        for move in self.moves:
            if move.start - cursor >= min_length:
                sections.append((cursor, min(move.start, duration)))
            cursor = max(cursor, move.end)
        if duration - cursor >= min_length:
            sections.append((cursor, duration))
        return tuple((a, b) for a, b in sections if b - a >= min_length)
