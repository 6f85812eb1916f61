"""The portrait every demo and test clip animates: scikit-image's ``astronaut`` photo.

The picture is NASA's official portrait of astronaut Eileen Collins, taken from NASA's
Great Images database (https://flic.kr/p/r9qvLn); as scikit-image documents for
``skimage.data.astronaut()``, it has no known copyright restrictions and is released into
the public domain (a work of the U.S. federal government). scikit-image is only a
development extra, so it is imported lazily.

The person is cut out of the studio backdrop with mediapipe's selfie segmentation (its
model ships in the mediapipe wheel) and softened towards the photo's lower and side
borders, so that the animator can place her on any background. The anchor points
below were measured once with mediapipe's face mesh (``refine_landmarks=True``) and
pose models on the unmodified photo; ``tests/demo`` checks them against the models.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

SOURCE_SIZE = 512
"""The astronaut photo is ``SOURCE_SIZE`` x ``SOURCE_SIZE`` pixels."""

LICENCE = (
    "Portrait of astronaut Eileen Collins by NASA (NASA Great Images database, https://flic.kr/p/r9qvLn), "
    "shipped in scikit-image as skimage.data.astronaut(): no known copyright restrictions, public domain."
)


@dataclass(frozen=True)
class Anchors:
    """Landmark positions on the source photo in pixels ``(x, y)``, measured with mediapipe."""

    forehead: tuple[float, float] = (226.3, 71.7)  # face mesh 10
    chin: tuple[float, float] = (221.3, 177.4)  # face mesh 152
    nose: tuple[float, float] = (223.4, 130.0)  # face mesh 1
    mouth_right: tuple[float, float] = (201.8, 139.2)  # face mesh 61 (the person's right, image left)
    mouth_left: tuple[float, float] = (245.0, 141.0)  # face mesh 291
    lip_upper_inner: tuple[float, float] = (223.5, 143.2)  # face mesh 13
    lip_lower_inner: tuple[float, float] = (223.0, 150.1)  # face mesh 14
    brow_right: tuple[float, float] = (200.0, 88.8)  # mean of face mesh 70, 63, 105, 66, 107
    brow_left: tuple[float, float] = (252.7, 92.4)  # mean of face mesh 300, 293, 334, 296, 336
    lid_right: tuple[float, float] = (202.8, 97.6)  # face mesh 159
    lid_left: tuple[float, float] = (248.3, 99.7)  # face mesh 386
    shoulder_right: tuple[float, float] = (112.7, 240.0)  # pose 12
    shoulder_left: tuple[float, float] = (306.2, 256.6)  # pose 11
    head_center: tuple[float, float] = (226.0, 100.0)  # centre of the head-and-hair ellipse
    head_radii: tuple[float, float] = (80.0, 95.0)
    neck: tuple[float, float] = (222.0, 205.0)  # pivot for head roll

    @property
    def face_height(self) -> float:
        """Forehead-to-chin distance in source pixels (the unit of every warp)."""
        return float(np.hypot(self.chin[0] - self.forehead[0], self.chin[1] - self.forehead[1]))


ANCHORS = Anchors()


def _require_skimage():
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError(
            "The demo and test clips are made from scikit-image's astronaut photo; "
            "install the dev extras (pip install -c constraints.txt -e '.[dev]') or scikit-image."
        ) from exc
    return data


def _person_mask(rgb: np.ndarray) -> np.ndarray:
    """Soft person mask in 0..1 from mediapipe's selfie segmentation, faded at the borders."""
    import cv2
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        raw = segmenter.process(rgb).segmentation_mask
    # Binarise, keep the largest blob (drops bits of flag and shuttle), then soften the edge.
    binary = (raw > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count > 1:
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        binary = (labels == largest).astype(np.uint8)
    binary[268:342, 356:] = 0  # the segmenter leaks into the dark table right of her arm
    binary = cv2.erode(binary, np.ones((3, 3), np.uint8), iterations=2)  # drop the backdrop's light fringe
    mask = cv2.GaussianBlur(binary.astype(np.float32), (0, 0), 1.2)
    # Fade towards the photo's left, right and bottom edges so no straight cut shows.
    ramp = np.linspace(0.0, 1.0, SOURCE_SIZE, dtype=np.float32)
    x_fade = np.clip((ramp - 0.02) / 0.06, 0, 1) * np.clip((0.985 - ramp) / 0.07, 0, 1)
    y_fade = np.clip((0.97 - ramp) / 0.10, 0, 1)
    return (mask * x_fade[None, :] * y_fade[:, None]).astype(np.float32)


@functools.lru_cache(maxsize=1)
def load_portrait() -> np.ndarray:
    """The astronaut cut out of her backdrop: float32 RGBA ``(512, 512, 4)`` in 0..1, premultiplied.

    Raises ``ImportError`` with the install command when scikit-image is missing.
    """
    rgb = _require_skimage().astronaut()
    if rgb.shape != (SOURCE_SIZE, SOURCE_SIZE, 3):
        raise RuntimeError(f"skimage.data.astronaut() returned shape {rgb.shape}, expected (512, 512, 3).")
    alpha = _person_mask(rgb)
    rgba = np.empty((SOURCE_SIZE, SOURCE_SIZE, 4), np.float32)
    rgba[..., :3] = rgb.astype(np.float32) / 255.0 * alpha[..., None]
    rgba[..., 3] = alpha
    rgba.setflags(write=False)
    return rgba
