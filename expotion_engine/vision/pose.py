"""Upper-body landmarks from mediapipe's pose landmarker (the shipped complexity-1 model).

Joints are expressed from the frame centre in shoulder widths, so a performer's motion
reads the same whether framed close or wide; ``body_scale`` (shoulder width over frame
width) keeps the framing itself as a signal.
"""

from __future__ import annotations

import numpy as np

from expotion_engine.controls.channels import BODY_JOINTS
from expotion_engine.vision.solution import Solution

# mediapipe pose indices of BODY_JOINTS (head = nose).
_INDEX = {"head": 0, "l_shoulder": 11, "r_shoulder": 12, "l_elbow": 13, "r_elbow": 14, "l_wrist": 15, "r_wrist": 16}
_VISIBLE = 0.5


class PoseAnalyzer:
    """Runs the pose landmarker on RGB frames of one video (tracking state kept)."""

    def __init__(self, min_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self._pose = Solution(mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        ), "pose_landmarks")

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
        """``(joints (J, 2), visible (J,), scale)`` or None when no body with both shoulders."""
        (landmarks,) = self._pose(rgb)
        if landmarks is None:
            return None
        height, width = rgb.shape[:2]
        marks = landmarks.landmark
        xy = np.array([(marks[_INDEX[j]].x * width, marks[_INDEX[j]].y * height) for j in BODY_JOINTS])
        visible = np.array([marks[_INDEX[j]].visibility >= _VISIBLE for j in BODY_JOINTS])
        left, right = BODY_JOINTS.index("l_shoulder"), BODY_JOINTS.index("r_shoulder")
        if not (visible[left] and visible[right]):
            return None
        shoulder = float(np.linalg.norm(xy[left] - xy[right]))
        if shoulder < 2.0:
            return None
        joints = (xy - np.array([width / 2.0, height / 2.0])) / shoulder
        return joints.astype(np.float32), visible, shoulder / width

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> PoseAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
