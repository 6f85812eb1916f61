"""Mood and energy words from the controls, added to the text prompt.

Without a trained adapter the text prompt is one of the ways the video steers MusicGen:
the mean ``energy`` (arousal) and ``valence`` of the range pick a quadrant of the
circumplex of affect (calm/tense × positive/negative), energy picks tempo words, and
the trend and hit density add "building", "fading" or "with strong accents".
"""

from __future__ import annotations

import numpy as np

from expotion_engine.types import ControlTrack

_QUADRANTS = {
    (True, True): "energetic, joyful, upbeat",
    (True, False): "intense, tense, dramatic",
    (False, True): "calm, warm, hopeful",
    (False, False): "sad, melancholic, gentle",
}


def _channel(track: ControlTrack, name: str, start: float, end: float) -> np.ndarray:
    if not track.has(name):
        return np.zeros(0, np.float32)
    lo, hi = int(np.floor(start * track.rate)), int(np.ceil(end * track.rate))
    values, valid = track.channel(name)[lo:hi], track.valid(name)[lo:hi]
    return values[valid]


def mood_words(track: ControlTrack, start: float = 0.0, end: float | None = None) -> str:
    """Words describing the controls between ``start`` and ``end`` seconds ('' if unknown)."""
    end = track.duration if end is None else end
    energy = _channel(track, "energy", start, end)
    valence = _channel(track, "valence", start, end)
    if energy.size == 0:
        return ""
    level = float(np.mean(energy))
    words = [_QUADRANTS[(level >= 0.5, float(np.mean(valence)) >= 0.0 if valence.size else True)]]
    words.append("fast tempo" if level >= 0.66 else "medium tempo" if level >= 0.33 else "slow tempo")
    if energy.size >= 4:
        half = energy.size // 2
        trend = float(np.mean(energy[half:]) - np.mean(energy[:half]))
        if trend > 0.2:
            words.append("building")
        elif trend < -0.2:
            words.append("fading")
    hits = [m for m in track.markers if m.kind == "hit" and start <= m.time < end]
    if end > start and len(hits) / (end - start) >= 0.2:
        words.append("with strong accents")
    return ", ".join(words)


def compose_prompt(user_prompt: str, track: ControlTrack, start: float = 0.0, end: float | None = None) -> str:
    """The user's prompt followed by the mood words of the range."""
    words = mood_words(track, start, end)
    parts = [p for p in (user_prompt.strip().rstrip(","), words) if p]
    return ", ".join(parts)
