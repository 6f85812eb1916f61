"""Upgrades of older session files, one function per version step (as OpenTimelineIO does).

``MIGRATIONS[n - 1]`` turns the data of a version ``n`` file into version ``n + 1``. They
work on the parsed JSON only, so an old file on disk is never changed by reading it; it
is rewritten in the current layout the next time the session is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Data = dict[str, Any]


def v1_to_v2(data: Data) -> Data:
    """Version 1 kept flat keys; version 2 groups video, range, timecode, engine and export."""
    video = data.get("video")
    out: Data = {
        "format": data.get("format"),
        "version": 2,
        "title": data.get("title", ""),
        "video": None if video is None else {"path": video, "absolute": None, "hash": data.get("video_hash", "")},
        "range": {"in": data.get("in", 0.0), "out": data.get("out")},
        "timecode": {"start": data.get("timecode_start", 0.0), "frame_rate": data.get("fps", 25.0)},
        "preset": data.get("preset"),
        "prompt": data.get("prompt", ""),
        "engine": {"name": data.get("engine", "procedural"), "options": data.get("engine_options", {})},
        "seed": data.get("seed", 0),
        "bpm": data.get("bpm"),
        "analysis": data.get("analysis", {}),
        "markers": data.get("markers", []),
        "takes": [
            {
                "id": t.get("id"),
                "folder": t.get("folder"),
                "engine": t.get("engine", data.get("engine", "procedural")),
                "seed": t.get("seed", 0),
                "prompt": t.get("prompt", ""),
                "preset": t.get("preset"),
                "params": t.get("params", {}),
                "created": t.get("created", ""),
                "label": t.get("label", ""),
            }
            if isinstance(t, dict) else t
            for t in data.get("takes", [])
        ],
        "chosen_take": data.get("chosen_take"),
        "export": {"sample_rate": data.get("sample_rate", 48000), "bit_depth": 24, "formats": []},
    }
    return out


def v2_to_v3(data: Data) -> Data:
    """Version 3 records the editor's timeline a session was scored from (none for a version 2 file)."""
    return {**data, "version": 3, "timeline": None}


MIGRATIONS: list[Callable[[Data], Data]] = [v1_to_v2, v2_to_v3]
CURRENT_VERSION = len(MIGRATIONS) + 1


def upgrade(data: Data, version: int) -> Data:
    """Apply every step from ``version`` up to :data:`CURRENT_VERSION`."""
    for step in MIGRATIONS[version - 1:]:
        data = step(data)
    return data


__all__ = ["CURRENT_VERSION", "MIGRATIONS", "upgrade", "v1_to_v2", "v2_to_v3"]
