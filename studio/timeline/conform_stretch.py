"""Bridges for audio-only takes: the old take's own bars, time-stretched onto the bridge's beats.

An engine without exact notes (MusicGen) cannot re-plan bars, so a bridge is made of
the music around it in the old take: the bars that followed the kept span before it and
the bars that led into the kept span after it, each stretched with pedalboard's
``time_stretch`` (pitch kept) onto its share of the bridge's beats (within the bar
plan's tempo limits) and crossfaded where they meet. The recut's opening is the old
opening and its ending the old ending, stretched the same way.
"""

from __future__ import annotations

import math

import numpy as np

from expotion_engine.types import Take, TempoMap
from studio.timeline.conform_bars import MAX_STRETCH, BarPlan, Bridge, Keep


def read_span(audio: np.ndarray, start: int, end: int) -> np.ndarray:
    """``audio[:, start:end]`` with silence where the range runs past either end."""
    out = np.zeros((audio.shape[0], end - start), dtype=np.float32)
    a, b = max(start, 0), min(end, audio.shape[1])
    if b > a:
        out[:, a - start:b - start] = audio[:, a:b]
    return out


def stretch(audio: np.ndarray, length: int, rate: int) -> np.ndarray:
    """``audio`` time-stretched (pitch kept) to exactly ``length`` samples; copied as is when already that long."""
    if audio.shape[1] == length:
        return audio.astype(np.float32, copy=True)
    from pedalboard import time_stretch

    out = time_stretch(np.ascontiguousarray(audio, dtype=np.float32), float(rate),
                       stretch_factor=audio.shape[1] / length)
    out = np.asarray(out, dtype=np.float32)
    if out.shape[1] >= length:
        return out[:, :length]
    return np.concatenate([out, np.zeros((out.shape[0], length - out.shape[1]), np.float32)], axis=1)


def _material(old_map: TempoMap, old_n: int, rate: int, bridge: Bridge, left: Keep | None, right: Keep | None,
              new_map: TempoMap) -> list[tuple[int, int, int, int]]:
    """``(old start, old end, new start, new end)`` samples of the old bars that fill ``bridge``, in order."""
    beats = int(round(bridge.beats))
    old_beats = old_map.beat_at(old_n / rate)

    def old_at(beat: float) -> int:
        return round(old_map.time_at(beat) * rate)

    if bridge.role == "tail":
        # the old ending from the bar line whose length after it is nearest the tail's, stretched within the limits
        length = (bridge.end - bridge.start) / rate
        bar = old_map.meters[0].numerator
        starts = [old_map.time_at(b) for b in np.arange(0.0, old_beats, bar)]
        first = min(starts, key=lambda t: abs(math.log(max(old_n / rate - t, 1e-3) / length)), default=0.0)
        return [(round(first * rate), old_n, bridge.start, bridge.end)]
    if bridge.role == "head" or left is None:
        return [(0, old_at(beats), bridge.start, bridge.end)]
    after = old_map.beat_at((left.end + left.offset) / rate)
    before = old_map.beat_at((right.start + right.offset) / rate) if right is not None else old_beats
    bar = old_map.meter_at(old_map.time_at(after)).numerator
    half = math.ceil(beats / 2)
    first = half // bar * bar or half  # whole bars of what followed the left span, where the bridge has room
    if after + first > old_beats:  # nothing follows the left span: all of it leads into the right one
        first = 0
    if before - (beats - first) < 0:
        first = beats
    split = round(new_map.time_at(new_map.beat_at(bridge.start / rate) + first) * rate)
    out = []
    if first:
        out.append((old_at(after), old_at(after + first), bridge.start, split))
    if beats - first:
        out.append((old_at(before - (beats - first)), old_at(before), split, bridge.end))
    return out


def _equal_power(length: int, center: int, fade: int) -> np.ndarray:
    """Gain rising 0..1 (sine of a quarter turn) over ``fade`` samples centred on index ``center``."""
    theta = np.clip((np.arange(length) - (center - fade / 2) + 0.5) / fade, 0.0, 1.0) * (math.pi / 2)
    return np.sin(theta).astype(np.float32)


def bridge_audio(old: Take, plan: BarPlan, index: int, pad: int, fade: int) -> list[np.ndarray]:
    """The bridge ``plan.segments[index]`` as ``[mix, *stems]``, each covering its samples and ``pad`` either side.

    Each piece of old bars is stretched onto its new span by the ratio of their lengths, held
    within the bar plan's limits (past them, fewer or more old samples are used, from the
    piece's start, or up to the end for the ending); pieces meet in an equal-power crossfade.
    """
    bridge = plan.segments[index]
    if not isinstance(bridge, Bridge):
        raise TypeError(f"Segment {index} of the bar plan is not a bridge.")
    left = plan.segments[index - 1] if index > 0 else None
    right = plan.segments[index + 1] if index + 1 < len(plan.segments) else None
    rate = old.sample_rate
    pieces = _material(old.tempo_map, old.n_samples, rate, bridge, left if isinstance(left, Keep) else None,
                       right if isinstance(right, Keep) else None, plan.tempo_map)
    tracks = [old.mix, *(s.audio for s in old.stems)]
    out = [np.zeros((t.shape[0], bridge.end - bridge.start + 2 * pad), np.float32) for t in tracks]
    for k, (o0, o1, n0, n1) in enumerate(pieces):
        factor = min(max((o1 - o0) / (n1 - n0), 1.0 - MAX_STRETCH), 1.0 + MAX_STRETCH)
        used = round((n1 - n0) * factor)
        a = o1 - used if bridge.role == "tail" else o0
        margin = round(pad * factor)
        at = n0 - bridge.start
        for track, target in zip(tracks, out, strict=True):
            piece = stretch(read_span(track, a - margin, a + used + margin), n1 - n0 + 2 * pad, rate)
            if k == 0:
                target[:, at:at + piece.shape[1]] = piece
            else:
                rise = _equal_power(piece.shape[1], pad, fade)
                fall = np.cos(np.arcsin(np.clip(rise, 0.0, 1.0)))
                target[:, at:at + piece.shape[1]] = target[:, at:at + piece.shape[1]] * fall + piece * rise
    return out


__all__ = ["bridge_audio", "stretch"]
