"""A picture of a ControlTrack for a person to check: curves, masked spans and markers."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from expotion_engine.types import ControlTrack, atomic_write_bytes

_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("energy / valence", ("energy", "valence")),
    ("face", ("face_mouth_open", "face_smile", "face_brow_raise", "face_eye_open")),
    ("head pose (deg)", ("face_yaw", "face_pitch", "face_roll")),
    ("body speed (shoulder widths/s)", ("body_speed", "body_l_wrist_speed", "body_r_wrist_speed", "body_head_speed")),
    ("optical flow (frame widths/s)", ("flow_energy",)),
)


def plot_control_track(track: ControlTrack, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Draw the main channels of ``track`` with hit/section markers into a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = track.times
    fig, axes = plt.subplots(len(_PANELS), 1, figsize=(12, 2.1 * len(_PANELS)), sharex=True)
    for ax, (label, names) in zip(axes, _PANELS, strict=True):
        for name in names:
            if not track.has(name):
                continue
            values = np.where(track.valid(name), track.channel(name), np.nan)
            ax.plot(times, values, label=name.removeprefix("face_").removeprefix("body_"), lw=1.2)
        missing = ~track.valid(names[0]) if track.has(names[0]) else np.zeros(len(times), bool)
        if missing.any():
            ax.fill_between(times, 0, 1, where=missing, color="0.85", transform=ax.get_xaxis_transform(),
                            label="masked", step="mid")
        for marker in track.markers:
            ax.axvline(marker.time, color="tab:red" if marker.kind == "hit" else "tab:purple", lw=0.8, alpha=0.6)
        ax.set_ylabel(label, fontsize=8)
        ax.legend(loc="upper right", fontsize=7, ncol=5)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("time from in point (s)")
    name = Path(track.source.path).name
    axes[0].set_title(title or f"{name}: {len(track.markers)} hit points (red), {track.rate:g} Hz controls")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)
