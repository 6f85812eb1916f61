"""Facial expression and head pose from mediapipe's face detector and face mesh (both
models ship in the mediapipe 0.10.21 wheel).

The full-range detector finds every face, including small ones in wide shots; the
subject is the largest detected face. A square crop around it, scaled to a fixed size,
goes to the face mesh, whose own detector only sees close-up faces. Expression is
measured geometrically from the 478 refined landmarks, in pixels, relative to the
face's own size so that distance to the camera cancels out. The shipped models give no
blendshape scores, so these descriptors stand in for them.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from expotion_engine.vision.solution import Solution

# Landmark indices of the canonical face mesh.
_FOREHEAD, _CHIN = 10, 152
_EYE_OUTER_R, _EYE_OUTER_L = 33, 263
_LID_UP_R, _LID_LOW_R, _LID_UP_L, _LID_LOW_L = 159, 145, 386, 374
_LIP_UP, _LIP_LOW = 13, 14
_MOUTH_R, _MOUTH_L = 61, 291
_BROW_R = (70, 63, 105, 66, 107)
_BROW_L = (300, 293, 334, 296, 336)


_USED = (_FOREHEAD, _CHIN, _EYE_OUTER_R, _EYE_OUTER_L, _LID_UP_R, _LID_LOW_R, _LID_UP_L, _LID_LOW_L,
         _LIP_UP, _LIP_LOW, _MOUTH_R, _MOUTH_L, *_BROW_R, *_BROW_L)


def face_descriptors(p: np.ndarray, width: int, height: int) -> np.ndarray:
    """Expression and pose descriptors from landmarks ``(478, 3)`` in frame pixels.

    Returns values in ``FACE_CHANNELS`` order: mouth opening, smile, brow raise and
    eye openness (ratios of face size), head yaw/pitch/roll (degrees), face centre x/y
    (0..1 of the frame) and face size (height as a fraction of frame height). Plain float
    arithmetic on the few landmarks used: numpy's per-call cost on 2-vectors was most of it.
    """
    q = dict(zip(_USED, p[list(_USED)].tolist(), strict=True))

    def dist(a: int, b: int) -> float:
        return math.hypot(q[a][0] - q[b][0], q[a][1] - q[b][1])

    def brow(points: tuple[int, ...], lid: int) -> float:
        x = sum(q[i][0] for i in points) / len(points)
        y = sum(q[i][1] for i in points) / len(points)
        return math.hypot(x - q[lid][0], y - q[lid][1])

    face_h = max(dist(_FOREHEAD, _CHIN), 1e-6)
    eye_d = max(dist(_EYE_OUTER_R, _EYE_OUTER_L), 1e-6)
    mouth_open = dist(_LIP_UP, _LIP_LOW) / face_h
    lip_mid_y = 0.5 * (q[_LIP_UP][1] + q[_LIP_LOW][1])
    corner_lift = (lip_mid_y - 0.5 * (q[_MOUTH_R][1] + q[_MOUTH_L][1])) / eye_d
    smile = dist(_MOUTH_R, _MOUTH_L) / eye_d + corner_lift
    brow_raise = 0.5 * (brow(_BROW_R, _LID_UP_R) + brow(_BROW_L, _LID_UP_L)) / face_h
    eye_open = 0.5 * (dist(_LID_UP_R, _LID_LOW_R) + dist(_LID_UP_L, _LID_LOW_L)) / eye_d
    yaw, pitch, roll = _head_pose(q[_EYE_OUTER_R], q[_EYE_OUTER_L], q[_FOREHEAD], q[_CHIN])
    (x_lo, y_lo), (x_hi, y_hi) = p[:, :2].min(axis=0), p[:, :2].max(axis=0)
    values = (
        mouth_open,
        smile,
        brow_raise,
        eye_open,
        yaw,
        pitch,
        roll,
        0.5 * (x_lo + x_hi) / width,
        0.5 * (y_lo + y_hi) / height,
        (y_hi - y_lo) / height,
    )
    return np.asarray(values, dtype=np.float32)


def head_pose(p: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from a face frame built on eye line and face axis.

    Positive yaw turns the face towards the image's right, positive pitch lifts the chin,
    positive roll tilts the eye line clockwise in the image.
    """
    return _head_pose(*(p[i].tolist() for i in (_EYE_OUTER_R, _EYE_OUTER_L, _FOREHEAD, _CHIN)))


def _head_pose(eye_r: list[float], eye_l: list[float], forehead: list[float],
               chin: list[float]) -> tuple[float, float, float]:
    x_axis = [a - b for a, b in zip(eye_l, eye_r, strict=True)]
    norm = max(math.sqrt(sum(v * v for v in x_axis)), 1e-9)
    x_axis = [v / norm for v in x_axis]
    y_axis = [a - b for a, b in zip(chin, forehead, strict=True)]
    along = sum(a * b for a, b in zip(y_axis, x_axis, strict=True))
    y_axis = [a - along * b for a, b in zip(y_axis, x_axis, strict=True)]
    norm = max(math.sqrt(sum(v * v for v in y_axis)), 1e-9)
    y_axis = [v / norm for v in y_axis]
    z_axis = (x_axis[1] * y_axis[2] - x_axis[2] * y_axis[1],
              x_axis[2] * y_axis[0] - x_axis[0] * y_axis[2],
              x_axis[0] * y_axis[1] - x_axis[1] * y_axis[0])
    yaw = math.degrees(math.atan2(-z_axis[0], z_axis[2]))
    pitch = math.degrees(math.atan2(z_axis[1], z_axis[2]))
    roll = math.degrees(math.atan2(x_axis[1], x_axis[0]))
    return yaw, pitch, roll


# One NormalizedLandmark with exactly x, y and z on the protobuf wire: the list's field tag and
# length, then each coordinate's tag and little-endian float32.
_WIRE_LANDMARK = np.dtype([("tag", "u1"), ("size", "u1"), ("x_tag", "u1"), ("x", "<f4"),
                           ("y_tag", "u1"), ("y", "<f4"), ("z_tag", "u1"), ("z", "<f4")])
_WIRE_TAGS = ("tag", "size", "x_tag", "y_tag", "z_tag")
_WIRE_EXPECTED = np.array([(0x0A, 15, 0x0D, 0.0, 0x15, 0.0, 0x1D, 0.0)], _WIRE_LANDMARK)[list(_WIRE_TAGS)]


def landmark_array(landmarks: object) -> np.ndarray:
    """``(n, 3)`` float64 coordinates of a mediapipe ``NormalizedLandmarkList``.

    Read from its serialised bytes when every landmark holds exactly x, y and z (what the face
    mesh gives), a sixth of the CPU of reading 478 x 3 fields one by one; field by field otherwise.
    """
    marks = landmarks.landmark  # type: ignore[attr-defined]
    data = landmarks.SerializeToString()  # type: ignore[attr-defined]
    if len(data) == _WIRE_LANDMARK.itemsize * len(marks):
        rows = np.frombuffer(data, _WIRE_LANDMARK)
        if (rows[list(_WIRE_TAGS)] == _WIRE_EXPECTED).all():
            return np.stack([rows["x"], rows["y"], rows["z"]], axis=1).astype(np.float64)
    return np.array([(m.x, m.y, m.z) for m in marks], np.float64).reshape(-1, 3)


_CROP_SIZE = 256
_CROP_MARGIN = 2.2


def _square_crop(rgb: np.ndarray, x0: float, y0: float, side: float) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The square ``side`` pixels wide from ``(x0, y0)``, widened to whole pixels, black beyond
    the frame and scaled to ``_CROP_SIZE``; and where it lies: ``(left, top, size)`` in pixels.

    A slice and a resize: a third of the CPU of warping the frame onto the crop.
    """
    height, width = rgb.shape[:2]
    left, top = math.floor(x0), math.floor(y0)
    size = max(math.ceil(x0 + side) - left, math.ceil(y0 + side) - top, 1)
    x_a, x_b = np.clip((left, left + size), 0, width)
    y_a, y_b = np.clip((top, top + size), 0, height)
    if (x_a, x_b, y_a, y_b) == (left, left + size, top, top + size):
        square = rgb[top:top + size, left:left + size]
    else:
        square = np.zeros((size, size, 3), rgb.dtype)
        square[y_a - top:y_b - top, x_a - left:x_b - left] = rgb[y_a:y_b, x_a:x_b]
    return cv2.resize(square, (_CROP_SIZE, _CROP_SIZE), interpolation=cv2.INTER_LINEAR), (left, top, size)


class FaceAnalyzer:
    """Finds the largest face in RGB frames of one video and measures it.

    The detector runs every ``redetect_every`` frames (and whenever the face was lost);
    in between, the crop follows the previous frame's landmarks, as mediapipe's own
    face-mesh graph does. Every 15th frame (1.5 s at 10 frames a second) is often enough to
    count faces and catch a larger newcomer, and costs a third of the detector's CPU at every 5th.
    Feed frames in time order.
    """

    def __init__(self, min_confidence: float = 0.5, redetect_every: int = 15) -> None:
        import mediapipe as mp

        self._detector = Solution(mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence
        ), "detections")
        self._mesh = Solution(mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        ), "multi_face_landmarks")
        self._redetect_every = max(redetect_every, 1)
        self._frame = 0
        self._box: tuple[float, float, float, float] | None = None
        self._count = 0

    def _detect(self, rgb: np.ndarray) -> None:
        """Refresh the subject box (x, y, w, h in pixels) and face count from the detector."""
        height, width = rgb.shape[:2]
        (detections,) = self._detector(rgb)
        detections = detections or []
        self._count = len(detections)
        if not detections:
            self._box = None
            return
        boxes = [d.location_data.relative_bounding_box for d in detections]
        box = max(boxes, key=lambda b: b.width * b.height)
        self._box = (box.xmin * width, box.ymin * height, box.width * width, box.height * height)

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray | None, int]:
        """Descriptors of the largest face (or None) and the number of faces detected."""
        height, width = rgb.shape[:2]
        if self._box is None or self._frame % self._redetect_every == 0:
            self._detect(rgb)
        self._frame += 1
        if self._box is None:
            return None, 0
        bx, by, bw, bh = self._box
        side = _CROP_MARGIN * max(bw, bh)
        crop, (left, top, size) = _square_crop(rgb, bx + bw / 2 - side / 2, by + bh / 2 - side / 2, side)
        (faces,) = self._mesh(crop)
        if not faces:
            self._box = None
            return None, self._count
        points = landmark_array(faces[0]) * size + (left, top, 0.0)
        lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
        self._box = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        return face_descriptors(points, width, height), self._count

    def close(self) -> None:
        self._detector.close()
        self._mesh.close()

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
