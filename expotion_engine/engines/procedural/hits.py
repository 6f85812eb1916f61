"""The hits the music marks: every strong hit and every cue, then weaker hits up to a musical density.

Detection states facts (when something happened, how strong, why); choosing which of
them the score marks is a musical decision made here. As a film composer catches every
strong hit, hits at least ``[hits] strong`` strong are always marked (only two closer
than :data:`STRONG_SPACING_S` become one); the density (``[hits] density`` hits per
minute, or the request option ``hits_density``) and ``min_spacing`` thin the weaker ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from expotion_engine.errors import EngineError
from expotion_engine.types import Marker

#: detected hits this close to the start are left out (there is no music to lead into them yet)
EARLIEST_S = 0.05
#: a user cue counts as at least this strong
CUE_STRENGTH = 0.8
#: hits at least this strong (0..1) are strong by default: on the detector's calibrated scale a cut is 1.0 and a
#: clear jolt, gesture or expression change 0.6-0.8, while small moves and noise stay under 0.6
STRONG_HIT = 0.6
#: of two strong hits closer than this (s) only the stronger is marked: one accent cannot be two without a flam
STRONG_SPACING_S = 0.18
#: a strong hit up to this close (s) to the range end is still marked (the final cadence falls on it)
STRONG_TAIL_S = 0.5
#: styles whose hits become swells, rubato and voicing changes instead of drums and stabs, and their rubato
SOFT_STYLES, SOFT_RUBATO = ("ambient", "solo"), 0.06


@dataclass(frozen=True)
class Hit:
    """A moment the music marks.

    ``event_time`` is when it happens in the picture (seconds from the in point);
    ``accent_time`` is where its accent goes: the same time unless the preset anticipates
    cuts on purpose (``[hits] anticipation``). ``strength`` is 0..1 on one scale for every
    ``cause`` ("cut", "motion", "expression"; None for a user cue or an older track).
    ``strong`` hits (and cues) must be heard: they always get a struck accent.
    """

    event_time: float
    strength: float
    name: str = "hit"
    cause: str | None = None
    kind: str = "hit"
    accent_time: float | None = None
    marker_strength: float = 1.0
    strong: bool = False

    def __post_init__(self) -> None:
        if self.accent_time is None:
            object.__setattr__(self, "accent_time", self.event_time)

    @property
    def is_cue(self) -> bool:
        """A user cue (always kept), not a detected hit."""
        return self.kind != "hit"


@dataclass(frozen=True)
class HitSettings:
    """How many hits a preset marks and how: the strong threshold, density per minute and spacing of the weaker hits,
    cut anticipation and rubato."""

    density: float = 12.0
    min_spacing: float = 1.0
    anticipation: float = 0.0
    rubato: float = 0.0
    strong: float = STRONG_HIT

    @classmethod
    def from_preset(cls, table: Mapping[str, Any], options: Mapping[str, Any] | None = None,
                    style: str | None = None) -> HitSettings:
        """The preset's ``[hits]`` table with the request option ``hits_density`` (hits per minute) on top; without
        a ``rubato`` the style decides (:data:`SOFT_RUBATO` in the soft styles)."""
        density = float(table.get("density", cls.density))
        if options and options.get("hits_density") is not None:
            value = options["hits_density"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 240:
                raise EngineError(f"Option hits_density must be a number of hits per minute from 0 to 240, "
                                  f"got {value!r}.")
            density = float(value)
        return cls(density=density, min_spacing=float(table.get("min_spacing", cls.min_spacing)),
                   anticipation=float(table.get("anticipation", cls.anticipation)),
                   rubato=float(table.get("rubato", SOFT_RUBATO if style in SOFT_STYLES else cls.rubato)),
                   strong=float(table.get("strong", cls.strong)))


def _calibration(markers: Sequence[Marker]) -> float:
    """Factor bringing strengths onto 0..1: 1 for calibrated tracks, 1/max for older ones whose strengths exceed 1."""
    top = max((m.strength for m in markers), default=1.0)
    return 1.0 / top if top > 1.0 else 1.0


def select_hits(markers: Sequence[Marker], cues: Sequence[Marker], duration: float, settings: HitSettings,
                latest: float | None = None) -> list[Hit]:
    """The hits to mark, in time order: every cue, every strong detected hit, then weaker ones strongest first
    while the density allows.

    A strong hit closer than :data:`STRONG_SPACING_S` to a stronger one (or a cue) is left
    out; a weaker hit closer than ``min_spacing`` to any chosen hit is skipped, and the
    density budget (hits per minute over the range) counts the strong ones too. Weaker
    hits later than ``latest`` (the last moment an accent can still come before the final
    cadence) are left out; strong ones are kept up to :data:`STRONG_TAIL_S` before the end.
    """
    latest = duration if latest is None else latest
    detected = [m for m in markers if m.kind == "hit" and EARLIEST_S <= m.time < duration - STRONG_TAIL_S]
    scale = _calibration(detected)
    chosen = [Hit(m.time, min(max(float(m.strength), CUE_STRENGTH), 1.0), m.name or "cue", m.cause, m.kind,
                  marker_strength=float(m.strength), strong=True)
              for m in cues if 0.0 <= m.time < latest]
    budget = int(math.ceil(settings.density * duration / 60.0 - 1e-9))
    picked = 0
    for m in sorted(detected, key=lambda m: (-m.strength, m.time)):
        strength = float(min(max(m.strength * scale, 0.0), 1.0))
        strong = strength >= settings.strong
        gap = STRONG_SPACING_S if strong else settings.min_spacing
        if not strong and (picked >= budget or m.time >= latest):
            continue
        if any(abs(m.time - h.event_time) < gap for h in chosen):
            continue
        ahead = settings.anticipation if m.cause in ("cut", "edit") else 0.0
        chosen.append(Hit(m.time, strength, m.name or "hit", m.cause, accent_time=max(m.time - ahead, 0.0),
                          marker_strength=float(m.strength), strong=strong))
        picked += 1
    return sorted(chosen, key=lambda h: h.accent_time)


def rhythm_hits(markers: Sequence[Marker], cues: Sequence[Marker], min_strength: float = 0.3) -> list[Hit]:
    """Every detected hit at least ``min_strength`` strong and every cue, unthinned: the visual rhythm the tempo
    choice listens to (selection for accents is a separate, musical decision)."""
    detected = [m for m in markers if m.kind == "hit"]
    scale = _calibration(detected)
    out = [Hit(m.time, float(min(m.strength * scale, 1.0)), m.name or "hit", m.cause) for m in detected
           if m.strength * scale >= min_strength]
    out += [Hit(m.time, 1.0, m.name or "cue", None, m.kind) for m in cues]
    return sorted(out, key=lambda h: h.accent_time)
