"""Generated controls for the hit-timing tests: known, irregular hit times on a ControlTrack built directly."""

from __future__ import annotations

import numpy as np

from expotion_engine.types import ControlTrack, Marker, TempoMap, VideoSource
from studio.presets import load_preset

RATE = 50.0


def control_track(duration: float, hits: list[tuple[float, float, str]], *, energy: float = 0.6,
                  pulse_bpm: float | None = None, seed: int = 0) -> ControlTrack:
    """Controls with steady (or, with ``pulse_bpm``, rhythmically pulsing) motion and the given hit markers."""
    n = int(round(duration * RATE))
    t = np.arange(n) / RATE
    rng = np.random.default_rng(seed)
    if pulse_bpm:
        motion = 0.3 + 0.5 * np.exp(-((t * pulse_bpm / 60.0) % 1.0) / 0.08)
    else:
        motion = np.full(n, energy)
    channels = ("energy", "valence", "flow_energy", "body_speed")
    values = np.stack([motion, np.full(n, 0.2), motion * (1 + 0.05 * rng.standard_normal(n)),
                       motion * (1 + 0.05 * rng.standard_normal(n))], axis=1)
    source = VideoSource(path="generated.mp4", content_hash="generated", fps=25.0, width=320, height=180,
                         duration=duration, start=0.0, end=duration)
    markers = tuple(Marker(time, f"{cause} {i + 1}", "hit", strength=strength, cause=cause)
                    for i, (time, strength, cause) in enumerate(hits))
    return ControlTrack(rate=RATE, channels=channels, values=values, mask=np.ones_like(values, bool), source=source,
                        markers=markers)


def synth_preset(name: str) -> dict:
    """The built-in preset with every part on its synthesised voice."""
    table = load_preset(name).table
    for part in table.get("parts", {}).values():
        part.pop("voice", None)
    return table


def sixteenth_offset(tempo_map: TempoMap, time: float) -> float:
    """Distance (s) from ``time`` to the nearest 16th of the tempo map."""
    return abs(tempo_map.time_at(round(tempo_map.beat_at(time) * 4) / 4) - time)
