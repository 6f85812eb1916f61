"""Session fixtures for the demo/clip tests: mediapipe's face mesh, full-range face detector and
pose model (all shipped in the mediapipe 0.10.21 wheel), used as independent judges of the clips."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import mediapipe as mp
import numpy as np
import pytest

from tests.demo.measure import FaceMeasure, face_measure


@pytest.fixture(scope="session")
def face_mesh() -> Iterator[Callable[[np.ndarray], list[FaceMeasure]]]:
    """``measure(rgb) -> [FaceMeasure, ...]`` with a static-image face mesh (up to 2 faces)."""
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=2) as mesh:

        def measure(rgb: np.ndarray) -> list[FaceMeasure]:
            h, w = rgb.shape[:2]
            result = mesh.process(np.ascontiguousarray(rgb))
            faces = result.multi_face_landmarks or []
            return [face_measure(np.array([[lm.x * w, lm.y * h] for lm in f.landmark])) for f in faces]

        yield measure


@pytest.fixture(scope="session")
def face_boxes() -> Iterator[Callable[[np.ndarray], list[tuple[float, float, float, float]]]]:
    """``detect(rgb) -> [(x0, y0, x1, y1), ...]`` from the full-range face detector (small faces too)."""
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as detector:

        def detect(rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
            h, w = rgb.shape[:2]
            boxes = []
            for d in detector.process(np.ascontiguousarray(rgb)).detections or []:
                b = d.location_data.relative_bounding_box
                boxes.append((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h))
            return boxes

        yield detect


@pytest.fixture(scope="session")
def shoulders() -> Iterator[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray] | None]]:
    """``find(rgb) -> (xy (2, 2) of the left/right shoulder in pixels, visibility (2,))`` or ``None``."""
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:

        def find(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
            h, w = rgb.shape[:2]
            result = pose.process(np.ascontiguousarray(rgb))
            if result.pose_landmarks is None:
                return None
            lm = result.pose_landmarks.landmark
            xy = np.array([[lm[i].x * w, lm[i].y * h] for i in (11, 12)])
            return xy, np.array([lm[11].visibility, lm[12].visibility])

        yield find
