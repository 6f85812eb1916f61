"""The clock's one user-facing error: a bad range, rate or timecode, or no MIDI output to send to."""

from __future__ import annotations

from expotion_engine.errors import ExpotionError


class ClockError(ExpotionError):
    """The clock cannot run: a bad range, MTC rate or timecode, or no MIDI backend or port."""
