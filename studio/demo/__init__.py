"""The bundled demo video and the generators of demo and test clips.

``demo_video_path()`` is all the application needs; the generators (``scenarios``,
``animate``, ``make_demo_video``) need scikit-image, a development extra, and import it
only when they run. The demo's picture is NASA's public-domain portrait of astronaut
Eileen Collins as shipped in scikit-image (``skimage.data.astronaut``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_events_path", "demo_video_path"]


def demo_video_path() -> Path:
    """The bundled demo video (16 s, 25 fps, 640x360 H.264), shipped as package data."""
    return Path(__file__).with_name("demo.mp4")


def demo_events_path() -> Path:
    """The demo's ground truth: sections, still sections and every motion/expression event (JSON)."""
    return Path(__file__).with_name("demo_events.json")
