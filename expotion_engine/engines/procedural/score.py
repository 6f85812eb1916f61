"""The composition as data: what the composer hands the renderer and what the Take reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from expotion_engine.types import Marker, Note, TempoMap


@dataclass(frozen=True)
class Automation:
    """A per-part control curve sampled at `rate` Hz from music time 0 (e.g. gain in dB, filter cutoff 0..1)."""

    rate: float
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"Automation rate must be positive, got {self.rate!r}.")
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))


@dataclass(frozen=True, eq=False)
class Part:
    """One instrument part, rendered to its own stem named `name`."""

    name: str
    instrument: str
    notes: tuple[Note, ...]
    gain_db: float = 0.0
    pan: float = 0.0
    effects: Mapping[str, Any] = field(default_factory=dict)
    automation: Mapping[str, Automation] = field(default_factory=dict)
    plugin: str | None = None
    voice: str | None = None  # "sampled" (a SoundFont bank) or "synth"; None: the instrument's default

    def __post_init__(self) -> None:
        if not -1.0 <= self.pan <= 1.0:
            raise ValueError(f"Part {self.name!r} pan {self.pan!r} is outside -1..1.")
        if self.voice not in (None, "sampled", "synth"):
            raise ValueError(f"Part {self.name!r} voice {self.voice!r} is not 'sampled' or 'synth'.")
        object.__setattr__(self, "notes", tuple(sorted(self.notes, key=lambda n: (n.start, n.pitch))))


@dataclass(frozen=True, eq=False)
class Score:
    """A complete composition, everything the renderer needs and everything the Take reports."""

    duration: float
    tempo_map: TempoMap
    parts: tuple[Part, ...]
    markers: tuple[Marker, ...]
    key: str
    mode: str
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.duration > 0:
            raise ValueError(f"Score duration must be positive, got {self.duration!r}.")
        names = [p.name for p in self.parts]
        if len(set(names)) != len(names):
            raise ValueError(f"Score part names must be unique, got {names}.")

    def part(self, name: str) -> Part:
        """The part called ``name`` (KeyError naming the parts there are)."""
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(f"Score has no part {name!r}; it has: {', '.join(p.name for p in self.parts)}.")
