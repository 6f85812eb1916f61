"""A five-shot sequence and its recut as timeline values, with the controls an analysis of their shots would give.

Each shot's media has its own energy curve and motion hits (at source frames), so the
recut's controls are the old ones moved with the picture, as a real analysis per clip
gives them; every edit point is a hit of cause ``edit``. Version B trims shot 2 by 12
frames at its head, removes shot 3, swaps shots 4 and 5 and extends shot 4 by 20 frames at its tail.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.types import ControlTrack, GenerationRequest, Marker, Take, VideoSource
from studio.timecode import TimecodeRate
from studio.timeline import Timeline, TimelineClip
from tests.engines.procedural.hit_tracks import synth_preset

FPS = 25
RATE = TimecodeRate(FPS)
SR = 24000
MEDIA = {name: Path(f"/media/{name}.mp4") for name in "abcde"}
#: (media, source in, frames) per shot
VERSION_A = (("a", 0, 150), ("b", 0, 150), ("c", 0, 100), ("d", 0, 150), ("e", 0, 125))
VERSION_B = (("a", 0, 150), ("b", 12, 138), ("e", 0, 125), ("d", 0, 170))
#: motion hits per media: (source frame, strength)
MOTION = {"a": ((52, 0.8),), "b": ((47, 0.9), (110, 0.8)), "c": ((30, 0.8),), "d": ((38, 0.85), (108, 0.8)),
          "e": ((45, 0.8),)}


#: (media, source in, frames) per shot; media None: a gap
Shots = tuple[tuple[str | None, int, int], ...]


def cut(shots: Shots, name: str) -> Timeline:
    """The sequence of ``shots`` laid end to end at 25 fps."""
    clips, record = [], 0
    for media, source_in, duration in shots:
        clips.append(TimelineClip(media or "gap", MEDIA[media] if media else None, source_in, record, duration))
        record += duration
    return Timeline(Path(f"/cuts/{name}.otio"), name, RATE, 90000, tuple(clips))


def controls(shots: Shots, motion: bool = True) -> ControlTrack:
    """Per-frame controls of the sequence: each media's energy at its source frames (low in a gap), its motion
    hits (unless not ``motion``), the edits."""
    energy, markers, record = [], [], 0
    for index, (media, source_in, duration) in enumerate(shots):
        frames = np.arange(source_in, source_in + duration)
        if media is None:
            energy.append(np.full(duration, 0.1))
        else:
            energy.append(0.45 + 0.25 * np.sin(frames / 17.0 + sorted(MEDIA).index(media)))
        markers += [Marker((record + frame - source_in) / FPS, f"{media} motion", "hit", strength=strength,
                           cause="motion")
                    for frame, strength in (MOTION[media] if motion and media else ())
                    if source_in <= frame < source_in + duration]
        if index:
            markers.append(Marker(record / FPS, f"edit {index}", "hit", strength=1.0, cause="edit"))
        record += duration
    e = np.concatenate(energy)
    values = np.stack([e, np.full(len(e), 0.2), e, e], axis=1).astype(np.float32)
    source = VideoSource(path="sequence.mp4", content_hash="sequence", fps=FPS, width=320, height=180,
                         duration=record / FPS, start=0.0, end=record / FPS)
    return ControlTrack(rate=FPS, channels=("energy", "valence", "flow_energy", "body_speed"), values=values,
                        mask=np.ones_like(values, bool), source=source, markers=tuple(markers))


def request(shots: Shots, bpm: float | None = 120.0, seed: int = 5, motion: bool = True) -> GenerationRequest:
    """The procedural request for ``shots`` (the cinematic preset on its synthesised voices, one seed)."""
    return GenerationRequest(controls=controls(shots, motion), preset=synth_preset("cinematic"), seed=seed,
                             sample_rate=SR, bpm=bpm)


@cache
def scored_a() -> Take:
    """Version A scored by the procedural engine (once per test run; takes are immutable values)."""
    return ProceduralEngine().generate(request(VERSION_A))
