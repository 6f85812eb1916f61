"""Builders of value types for tests that do not need a real video."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from expotion_engine.controls.channels import ALL_CHANNELS
from expotion_engine.types import ControlTrack, Marker, VideoSource


def make_control_track(
    duration: float = 10.0,
    *,
    rate: float = 50.0,
    energy: Callable[[np.ndarray], np.ndarray] | float = 0.5,
    valence: Callable[[np.ndarray], np.ndarray] | float = 0.0,
    hits: Sequence[float] = (),
    seed: int = 0,
) -> ControlTrack:
    """A ControlTrack with every analysis channel; ``energy``/``valence`` are constants or
    functions of time, the other channels follow energy with a little noise."""
    n = int(round(duration * rate))
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    e = np.clip(energy(t) if callable(energy) else np.full(n, energy), 0.0, 1.0)
    v = np.clip(valence(t) if callable(valence) else np.full(n, valence), -1.0, 1.0)
    values = np.zeros((n, len(ALL_CHANNELS)), np.float32)
    for c, name in enumerate(ALL_CHANNELS):
        if name == "energy":
            values[:, c] = e
        elif name == "valence":
            values[:, c] = v
        elif name.endswith("_speed") or name in ("flow_energy", "body_accel"):
            values[:, c] = e * (1.0 + 0.1 * rng.standard_normal(n))
        else:
            values[:, c] = 0.1 * rng.standard_normal(n)
    source = VideoSource(
        path="synthetic.mp4", content_hash="synthetic", fps=25.0, width=640, height=360,
        duration=duration, start=0.0, end=duration,
    )
    markers = tuple(Marker(time=h, name=f"hit {i + 1}", kind="hit") for i, h in enumerate(hits))
    return ControlTrack(
        rate=rate, channels=ALL_CHANNELS, values=values, mask=np.ones_like(values, bool),
        source=source, markers=markers, settings={"synthetic": True},
    )
