"""The analysis' cheaper ways of doing the same thing give what the plain ways give: landmarks
read from their wire bytes, the face crop by slice and resize, the median of the frame's edges,
flow estimated from a half-width frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from mediapipe.framework.formats import landmark_pb2

from expotion_engine.vision.changes import _median_rows
from expotion_engine.vision.face import _CROP_SIZE, _square_crop, landmark_array
from expotion_engine.vision.flow import MotionEnergy


def _landmarks(points: np.ndarray, visibility: bool = False) -> landmark_pb2.NormalizedLandmarkList:
    message = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in points:
        mark = message.landmark.add(x=x, y=y, z=z)
        if visibility:
            mark.visibility = 0.9
    return message


@pytest.mark.parametrize("visibility", [False, True])
def test_landmarks_read_from_bytes_equal_reading_each_field(visibility) -> None:
    points = np.random.default_rng(0).uniform(-0.5, 1.5, (478, 3))
    message = _landmarks(points, visibility)
    expected = np.array([(m.x, m.y, m.z) for m in message.landmark])
    assert np.array_equal(landmark_array(message), expected)
    np.testing.assert_allclose(expected, points, atol=1e-6)  # float32 on the wire
    assert landmark_array(landmark_pb2.NormalizedLandmarkList()).shape == (0, 3)


def test_the_face_crop_is_the_square_scaled_and_black_beyond_the_frame() -> None:
    frame = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    crop, (left, top, size) = _square_crop(frame, 20.4, 10.7, 63.2)
    assert (left, top, size) == (20, 10, 64)
    assert np.array_equal(crop, cv2.resize(frame[10:74, 20:84], (_CROP_SIZE, _CROP_SIZE)))
    crop, (left, top, size) = _square_crop(frame, 130.0, -20.0, 50.0)
    assert (left, top, size) == (130, -20, 50)
    padded = np.zeros((50, 50, 3), np.uint8)
    padded[20:, :30] = frame[:30, 130:]
    assert np.array_equal(crop, cv2.resize(padded, (_CROP_SIZE, _CROP_SIZE)))
    assert not crop[:_CROP_SIZE // 3].any() and not crop[:, -_CROP_SIZE // 3:].any()


def test_the_edge_median_is_numpys() -> None:
    rng = np.random.default_rng(2)
    for n in (1, 2, 7, 8, 640):
        values = rng.standard_normal((n, 2)).astype(np.float32)
        assert np.array_equal(_median_rows(values), np.median(values, axis=0))


def test_flow_from_the_half_width_frame_matches_the_full_width_estimate() -> None:
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (400, 700)).astype(np.uint8), (0, 0), 3.0)
    frames = [cv2.cvtColor(np.ascontiguousarray(texture[40:400, 30 + dx:670 + dx]), cv2.COLOR_GRAY2RGB)
              for dx in (0, 6, 14)]
    motion = MotionEnergy(320)
    samples = [motion(frame, 0.1 * i) for i, frame in enumerate(frames)]
    full = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    grays = [cv2.cvtColor(cv2.resize(f, (320, 180), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY) for f in frames]
    for sample, (before, after) in zip(samples[1:], zip(grays, grays[1:], strict=False), strict=True):
        flow = full.calc(before, after, None)
        expected = float(cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0]) / 320 / 0.1
        assert sample.energy == pytest.approx(expected, rel=0.05)
    assert [s.energy for s in samples[1:]] == pytest.approx([6 / 640 / 0.1, 8 / 640 / 0.1], rel=0.1)  # the true shifts
    assert not any(s.black for s in samples)
    assert motion(np.full((360, 640, 3), 5, np.uint8), 0.3).black
