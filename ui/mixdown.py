"""Playback mix of a take's stems with per-stem mute/solo/gain (plain Python + numpy, no Qt).

With every stem at unity the take's own mastered ``mix`` is played. Otherwise the stems
are summed with their gains and a make-up gain that brings the unity stem sum to the
mix's loudness, clipped to full scale (:mod:`studio.stem_mix`, block by block, so a long
take's stems on disk are never loaded whole).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from expotion_engine.audio_io import Spool, WavAudio
from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import Take
from studio.stem_mix import mixdown, scaled_audio

log = logging.getLogger(__name__)

MIN_GAIN_DB = -60.0
MAX_GAIN_DB = 12.0


@dataclass(frozen=True)
class StemSetting:
    """One mixer strip: gain in dB, mute and solo."""

    gain_db: float = 0.0
    mute: bool = False
    solo: bool = False

    def __post_init__(self) -> None:
        if not MIN_GAIN_DB <= self.gain_db <= MAX_GAIN_DB:
            raise ValueError(f"Stem gain {self.gain_db:g} dB is outside {MIN_GAIN_DB:g}..{MAX_GAIN_DB:g} dB.")


@dataclass(frozen=True)
class MixerState:
    """Settings of every stem strip by name; stems not listed are at unity."""

    stems: Mapping[str, StemSetting] = field(default_factory=dict)

    def setting(self, name: str) -> StemSetting:
        return self.stems.get(name, StemSetting())

    def with_stem(self, name: str, **changes: float | bool) -> MixerState:
        """A copy with stem ``name``'s strip changed (``gain_db``, ``mute``, ``solo``)."""
        stems = dict(self.stems)
        stems[name] = replace(self.setting(name), **changes)
        return MixerState(stems)

    def gains(self, names: list[str] | tuple[str, ...]) -> dict[str, float]:
        """Linear gain each stem is played at: solo wins over unsoloed strips, mute wins over solo."""
        soloing = any(self.setting(n).solo for n in names)
        out = {}
        for name in names:
            s = self.setting(name)
            audible = not s.mute and (s.solo or not soloing)
            out[name] = float(10.0 ** (s.gain_db / 20.0)) if audible else 0.0
        return out

    def is_neutral(self, names: list[str] | tuple[str, ...]) -> bool:
        """True when every stem plays at unity (then the take's own mix is used)."""
        return all(abs(g - 1.0) < 1e-9 for g in self.gains(names).values())

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON data for the session file (strips at unity are left out)."""
        return {name: asdict(s) for name, s in self.stems.items() if s != StemSetting()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> MixerState:
        """The state :meth:`to_dict` wrote; an unreadable strip is left at unity (logged)."""
        stems = {}
        for name, values in dict(data or {}).items():
            try:
                stems[str(name)] = StemSetting(float(values.get("gain_db", 0.0)), bool(values.get("mute", False)),
                                               bool(values.get("solo", False)))
            except (AttributeError, TypeError, ValueError) as exc:
                log.warning("mixer strip %r in the session is not readable (%s); left at unity", name, exc)
        return cls(stems)

    def summary(self, names: list[str] | tuple[str, ...]) -> str:
        """One line for the export dialog: ``"as generated"`` or what the mixer changes."""
        if self.is_neutral(names):
            return "as generated"
        gains = self.gains(names)
        parts = []
        for name in names:
            if gains[name] == 0.0:
                parts.append(f"{name} off")
            elif abs(gains[name] - 1.0) > 1e-9:
                parts.append(f"{name} {self.setting(name).gain_db:+g} dB")
        return "uses the mixer: " + ", ".join(parts)


def render_mix(take: Take, state: MixerState) -> np.ndarray | WavAudio:
    """The take as the mixer would play it, float32 ``(channels, samples)``: the take's own mix when every strip
    is at unity, else the stems mixed (in memory: for a long take use :func:`studio.stem_mix.write_mixdown`)."""
    names = tuple(s.name for s in take.stems)
    if not names or state.is_neutral(names):
        return take.mix
    return mixdown(take, state.gains(names))


def mixed_take(take: Take, state: MixerState, *, spool: Spool | None = None, progress: ProgressFn | None = None,
               cancel: CancelEvent | None = None) -> Take:
    """``take`` as the mixer plays it, for export: the mix re-rendered, each stem at its strip's gain,
    stems the mixer silences left out; ``take`` itself when every strip is at unity. A long take's
    new mix and stems are float WAVs written block by block in ``spool`` (default: a temporary
    folder), with ``progress`` per block; a ``cancel`` raises :class:`~expotion_engine.errors.Cancelled`
    and leaves none of them."""
    names = tuple(s.name for s in take.stems)
    if not names or state.is_neutral(names):
        return take
    mix, audio = scaled_audio(take, state.gains(names), spool, progress=progress, cancel=cancel)
    stems = tuple(replace(s, audio=audio[s.name]) for s in take.stems if s.name in audio)
    return replace(take, mix=mix, stems=stems, info={**take.info, "mixer": state.to_dict()})


#: the meters' floor (dBFS) and the stretch of audio each reading covers (s)
METER_FLOOR_DB = -60.0
METER_WINDOW_S = 0.05


def meter_shade(level_db: float) -> str:
    """The colour of a level meter at ``level_db`` (dBFS): green, amber from -12 dB, red from -3 (near clipping);
    the mixer's strips and the timeline's stem lanes share it, so both say the same of one level."""
    return "#e0533d" if level_db > -3 else "#e0b43d" if level_db > -12 else "#4cc46b"


def stem_levels(take: Take, state: MixerState, seconds: float) -> dict[str, float]:
    """Each stem's peak level (dBFS, at its strip's gain; the floor when silent) over the
    :data:`METER_WINDOW_S` of music time from ``seconds``: what the mixer's meters show."""
    names = [s.name for s in take.stems]
    gains = state.gains(names)
    start = int(round(max(seconds, 0.0) * take.sample_rate))
    stop = start + max(int(round(METER_WINDOW_S * take.sample_rate)), 1)
    levels = {}
    for stem in take.stems:
        peak = float(np.abs(stem.audio[:, start:stop]).max(initial=0.0)) * gains[stem.name]
        levels[stem.name] = max(20.0 * np.log10(peak), METER_FLOOR_DB) if peak > 0 else METER_FLOOR_DB
    return levels
