"""Animate the astronaut portrait: head motion, zoom, mouth, smile and brow warps.

Each frame is made in three steps, all with ``cv2.remap``/``cv2.warpAffine`` on the
premultiplied RGBA cut-out (see :mod:`studio.demo.portrait`):

1. expression warps on a crop around the head, in photo pixels: the jaw and lower lip
   drop (the gap between the lips is painted as a dark mouth cavity below the upper
   teeth), the mouth corners move out and up for a smile, the brows lift;
2. head motion on the same crop: roll about the neck, and a yaw-like (nod-like)
   horizontal (vertical) shift of the face that is largest at its centre, so the face
   squashes on the side it turns to, all faded out towards the neck;
3. placement in the frame: scale around the nose, translation, then compositing over
   the background.

Displacements are written as backward maps (for every output pixel, where in the photo
to read), so the warps never leave holes. Sizes are in units of the face height.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from studio.demo.portrait import ANCHORS, load_portrait
from studio.demo.timeline import FaceParams

# Crop around the head where the local warps happen (photo pixels, x0, y0, x1, y1).
_CROP = (96, 0, 356, 272)

# Strength of each warp at parameter value 1, in face heights.
MOUTH_DROP = 0.13
SMILE_SHIFT = (0.025, 0.03)
BROW_LIFT = 0.05
YAW_SHIFT = 0.14
PITCH_SHIFT = 0.08

_CAVITY_RGB = np.array([0.16, 0.04, 0.05], np.float32)
_TEETH_KEPT = 3.0  # pixels of upper teeth that stay visible when the mouth opens


@dataclass(frozen=True)
class Placement:
    """Where a face sits in the frame at rest.

    ``face_height`` is the forehead-to-chin height as a fraction of the frame height,
    ``center`` the nose position as fractions of the frame width and height.
    """

    face_height: float = 0.30
    center: tuple[float, float] = (0.5, 0.42)

    def __post_init__(self) -> None:
        if not 0.02 <= self.face_height <= 1.5:
            raise ValueError(f"face_height {self.face_height!r} must be within 0.02..1.5 of the frame height.")
        if len(self.center) != 2 or not all(-0.5 <= c <= 1.5 for c in self.center):
            raise ValueError(f"center {self.center!r} must be two fractions of the frame within -0.5..1.5.")


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class _CropGrid:
    """Photo-pixel coordinates of every pixel of the head crop, and of every other pixel."""

    def __init__(self) -> None:
        x0, y0, x1, y1 = _CROP
        self.y, self.x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        self.y2, self.x2 = self.y[::2, ::2], self.x[::2, ::2]

    def window(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
        """Crop-array slices of the photo-pixel rectangle ``[x0, x1) x [y0, y1)``."""
        cx, cy = _CROP[0], _CROP[1]
        return slice(int(y0) - cy, int(y1) - cy), slice(int(x0) - cx, int(x1) - cx)


# Where each expression warp moves anything (by more than a tenth of a pixel), in photo pixels.
_BROW_WINDOW = (146, 58, 306, 104)
_SMILE_WINDOW = (165, 108, 285, 172)
_MOUTH_WINDOW = (138, 125, 308, 235)


def _expression_map(grid: _CropGrid, p: FaceParams) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """Backward map of the mouth, smile and brow warps, and the cavity shape it opens."""
    a, face = ANCHORS, ANCHORS.face_height
    src_x, src_y = grid.x.copy(), grid.y.copy()

    # Brows: content between the eyelid and the hairline moves up by ``lift`` pixels.
    if p.brow:
        win = grid.window(*_BROW_WINDOW)
        x, y = grid.x[win], grid.y[win]
        lift = p.brow * BROW_LIFT * face
        for brow, lid in ((a.brow_right, a.lid_right), (a.brow_left, a.lid_left)):
            wx = np.exp(-(((x - brow[0]) / 24.0) ** 2))
            below = _smoothstep(lid[1] - 1.5, brow[1], y)  # 0 at the eyelid, 1 at the brow
            above = 1.0 - _smoothstep(brow[1], brow[1] - 24.0, y)  # 1 at the brow, 0 on the forehead
            src_y[win] += lift * wx * np.where(y >= brow[1], below, above)

    # Smile: each mouth corner (and the cheek around it) moves out and up.
    if p.smile:
        win = grid.window(*_SMILE_WINDOW)
        x, y = grid.x[win], grid.y[win]
        dx, dy = SMILE_SHIFT[0] * face * p.smile, -SMILE_SHIFT[1] * face * p.smile
        for corner, sign in ((a.mouth_right, -1.0), (a.mouth_left, 1.0)):
            cx, cy = corner[0] + sign * dx, corner[1] + dy
            w = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2.0 * 7.0**2)))
            src_x[win] -= sign * dx * w
            src_y[win] -= dy * w

    cavity: dict[str, object] = {}
    # Mouth: the lower lip and jaw drop; the band between the lips stretches to fill the gap.
    if p.mouth_open:
        win = grid.window(*_MOUTH_WINDOW)
        x, y = grid.x[win], grid.y[win]
        drop = p.mouth_open * MOUTH_DROP * face
        lip_x = 0.5 * (a.lip_upper_inner[0] + a.lip_lower_inner[0])
        d = x - lip_x
        upper = a.lip_upper_inner[1] - 0.0073 * d * d
        lower = a.lip_lower_inner[1] - 0.020 * d * d
        gap = np.maximum(lower - upper, 0.5)
        lip_drop = drop * np.exp(-((d / 15.0) ** 2))
        jaw_drop = drop * np.exp(-((d / 38.0) ** 2))

        def drop_at(yy: np.ndarray) -> np.ndarray:
            mix = _smoothstep(a.lip_lower_inner[1], a.chin[1], yy)
            fade = 1.0 - _smoothstep(a.chin[1], a.chin[1] + 40.0, yy)
            return (lip_drop * (1.0 - mix) + jaw_drop * mix) * fade

        # one fixed-point step so the drop is read where the content came from
        below_src = y - drop_at(y - drop_at(y))
        opened = lower + lip_drop
        band_src = upper + (y - upper) * gap / (gap + lip_drop)
        in_band = (y > upper) & (y < opened)
        src_y[win] = np.where(in_band, band_src, np.where(y >= opened, below_src, y))
        cavity = {"window": win, "upper": upper, "opened": opened, "depth": lip_drop}
    return src_x, src_y, cavity


def _paint_cavity(rgba: np.ndarray, grid: _CropGrid, cavity: dict[str, object]) -> None:
    """Darken the opened mouth below the upper teeth, in place (premultiplied RGBA crop)."""
    win = cavity["window"]
    y = grid.y[win]
    top = cavity["upper"] + _TEETH_KEPT
    bottom = cavity["opened"] - 1.0
    inside = _smoothstep(top - 0.5, top + 1.0, y) * (1.0 - _smoothstep(bottom - 1.0, bottom + 0.5, y))
    strength = np.clip((cavity["depth"] - 1.5) / 3.0, 0.0, 1.0)
    w = (inside * strength).astype(np.float32)[..., None]
    part = rgba[win]
    part[..., :3] = part[..., :3] * (1.0 - w) + _CAVITY_RGB * part[..., 3:4] * w


def _head_map(grid: _CropGrid, p: FaceParams) -> tuple[np.ndarray, np.ndarray]:
    """Backward map of head roll, yaw and pitch, faded out below the chin.

    The displacement is smooth, so it is computed on every other pixel and upsampled.
    """
    a, face = ANCHORS, ANCHORS.face_height
    x, y = grid.x2, grid.y2
    (hx, hy), (rx, ry) = a.head_center, a.head_radii
    r = np.sqrt(((x - hx) / rx) ** 2 + ((y - hy) / ry) ** 2)
    w = 1.0 - _smoothstep(0.95, 1.3, r)
    # inverse roll about the neck
    theta = np.deg2rad(-p.roll)
    c, s = np.cos(theta), np.sin(theta)
    px, py = a.neck
    rx_, ry_ = px + c * (x - px) - s * (y - py), py + s * (x - px) + c * (y - py)
    x1, y1 = x + w * (rx_ - x), y + w * (ry_ - y)
    # inverse yaw / pitch: the face centre moves most, its edges least
    if p.yaw or p.pitch:
        r1 = np.sqrt(((x1 - hx) / rx) ** 2 + ((y1 - hy) / ry) ** 2)
        w1 = 1.0 - _smoothstep(0.95, 1.3, r1)
        nx, ny = a.nose
        prof_x = np.clip(1.0 - ((x1 - nx) / rx) ** 2, 0.0, 1.0)
        prof_y = np.clip(1.0 - ((y1 - ny) / ry) ** 2, 0.0, 1.0)
        x1 = x1 - p.yaw * YAW_SHIFT * face * (0.35 + 0.65 * prof_x) * w1
        y1 = y1 - p.pitch * PITCH_SHIFT * face * (0.35 + 0.65 * prof_y) * w1
    full = (grid.x.shape[1], grid.x.shape[0])
    dx = cv2.resize((x1 - x).astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
    dy = cv2.resize((y1 - y).astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
    return grid.x + dx, grid.y + dy


class PortraitAnimator:
    """Renders the astronaut with given :class:`FaceParams` into frames of any size."""

    _BLUR_MARGIN = 8  # pixels around the head crop that a re-blur needs for exact edges

    def __init__(self) -> None:
        self._source = load_portrait()
        self._grid = _CropGrid()
        self._blurred: dict[float, np.ndarray] = {}

    def _warped_crop(self, p: FaceParams) -> np.ndarray | None:
        """The head crop with ``p``'s expression and head motion applied, or ``None`` when at rest."""
        x0, y0, x1, y1 = _CROP
        if not (p.mouth_open or p.smile or p.brow or p.roll or p.yaw or p.pitch):
            return None
        crop = self._source[y0:y1, x0:x1]
        if p.mouth_open or p.smile or p.brow:
            sx, sy, cavity = _expression_map(self._grid, p)
            crop = cv2.remap(crop, sx - x0, sy - y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            if cavity:
                _paint_cavity(crop, self._grid, cavity)
        if p.roll or p.yaw or p.pitch:
            sx, sy = _head_map(self._grid, p)
            crop = cv2.remap(np.ascontiguousarray(crop), sx - x0, sy - y0, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        return crop

    def warped_source(self, p: FaceParams) -> np.ndarray:
        """The 512x512 premultiplied RGBA photo with ``p``'s expression and head motion applied."""
        crop = self._warped_crop(p)
        if crop is None:
            return self._source
        x0, y0, x1, y1 = _CROP
        out = self._source.copy()
        out[y0:y1, x0:x1] = crop
        return out

    def _blurred_source(self, p: FaceParams, sigma: float) -> np.ndarray:
        """The posed photo low-passed with ``sigma``; only the head crop is re-blurred per frame."""
        if sigma not in self._blurred:
            if len(self._blurred) > 8:
                self._blurred.clear()
            self._blurred[sigma] = cv2.GaussianBlur(self._source, (0, 0), sigma)
        base = self._blurred[sigma]
        crop = self._warped_crop(p)
        if crop is None:
            return base
        x0, y0, x1, y1 = _CROP
        m = self._BLUR_MARGIN
        px0, py0, px1, py1 = max(x0 - m, 0), max(y0 - m, 0), x1 + m, y1 + m
        region = self._source[py0:py1, px0:px1].copy()
        region[y0 - py0:y1 - py0, x0 - px0:x1 - px0] = crop
        region = cv2.GaussianBlur(region, (0, 0), sigma)
        out = base.copy()
        out[y0:y1, x0:x1] = region[y0 - py0:y1 - py0, x0 - px0:x1 - px0]
        return out

    def transform(self, p: FaceParams, size: tuple[int, int], placement: Placement) -> np.ndarray:
        """2x3 affine matrix from photo pixels to frame pixels for ``p`` in a ``(width, height)`` frame."""
        width, height = size
        s = placement.face_height * height / ANCHORS.face_height * p.scale
        nx, ny = ANCHORS.nose
        tx = placement.center[0] * width + p.x * height
        ty = placement.center[1] * height + p.y * height
        return np.array([[s, 0.0, tx - s * nx], [0.0, s, ty - s * ny]], np.float32)

    def layer(self, p: FaceParams, size: tuple[int, int], placement: Placement) -> np.ndarray:
        """Premultiplied float32 RGBA layer ``(height, width, 4)`` holding the posed person."""
        matrix = self.transform(p, size, placement)
        scale = float(matrix[0, 0])
        if scale < 0.8:  # low-pass before shrinking so fine detail does not alias
            source = self._blurred_source(p, round(0.45 / scale - 0.35, 1))
        else:
            source = self.warped_source(p)
        return cv2.warpAffine(source, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=(0, 0, 0, 0))


def composite(background: np.ndarray, layers: Sequence[np.ndarray]) -> np.ndarray:
    """Lay premultiplied RGBA ``layers`` (back to front) over a float RGB background; uint8 RGB."""
    frame = background.astype(np.float32, copy=True)
    for layer in layers:
        frame *= 1.0 - layer[..., 3:4]
        frame += layer[..., :3]
    return cv2.convertScaleAbs(frame, alpha=255.0)


def face_box(p: FaceParams, size: tuple[int, int], placement: Placement) -> tuple[float, float, float, float]:
    """Approximate face box ``(x0, y0, x1, y1)`` in frame pixels (forehead to chin, cheek to cheek)."""
    width, height = size
    s = placement.face_height * height / ANCHORS.face_height * p.scale
    nx, ny = ANCHORS.nose
    cx = placement.center[0] * width + p.x * height
    cy = placement.center[1] * height + p.y * height
    half_w = 0.45 * ANCHORS.face_height * s
    return (cx - half_w, cy + s * (ANCHORS.forehead[1] - ny), cx + half_w, cy + s * (ANCHORS.chin[1] - ny))
