"""Plain, gently textured backdrops for the animated portrait (deterministic for a seed)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

PALETTES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "studio": ((0.20, 0.27, 0.36), (0.42, 0.48, 0.55)),  # slate blue, lighter at the bottom
    "warm": ((0.36, 0.24, 0.18), (0.62, 0.50, 0.38)),
    "green": ((0.14, 0.26, 0.20), (0.36, 0.50, 0.40)),
}


def backdrop(size: tuple[int, int], *, palette: str = "studio", seed: int = 0, texture: float = 0.035) -> np.ndarray:
    """A float32 RGB ``(height, width, 3)`` backdrop in 0..1: vertical gradient, soft mottling, vignette."""
    if palette not in PALETTES:
        raise ValueError(f"palette {palette!r} is not one of {', '.join(PALETTES)}.")
    width, height = size
    top, bottom = (np.array(c, np.float32) for c in PALETTES[palette])
    v = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    image = top * (1.0 - v) + bottom * v
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((6, 10)).astype(np.float32)
    mottling = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    image = image * (1.0 + texture * mottling[..., None])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - width / 2) / (0.75 * width)) ** 2 + ((yy - height / 2) / (0.75 * height)) ** 2
    image *= (1.0 - 0.25 * np.clip(r2, 0.0, 1.0))[..., None]
    return np.clip(image, 0.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _grainy_backdrop(size: tuple[int, int], seed: int) -> np.ndarray:
    width, height = size
    grain = np.random.default_rng(seed).standard_normal((height, width, 1)).astype(np.float32)
    image = np.clip(backdrop(size, palette="warm", seed=seed) + 0.03 * grain, 0.0, 1.0)
    image.setflags(write=False)
    return image


def noise_scene(size: tuple[int, int], t: float, *, seed: int = 0, blob_start: float = 1.0,
                blob_speed: float = 0.2) -> np.ndarray:
    """A grainy backdrop with a soft orange disc that starts drifting right at ``blob_start`` s.

    No face or body anywhere: the motion gives optical flow something to measure, and
    up to ``blob_start`` every frame is the same.
    """
    width, height = size
    image = _grainy_backdrop(size, seed)
    cx = width * (0.2 + blob_speed * max(t - blob_start, 0.0))
    cy, radius = height * 0.55, height * 0.15
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    w = np.clip(radius + 1.0 - np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2), 0.0, 2.0)[..., None] / 2.0
    return np.clip(image * (1.0 - w) + np.array([0.95, 0.55, 0.2], np.float32) * w, 0.0, 1.0)
