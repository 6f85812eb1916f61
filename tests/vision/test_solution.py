"""Reading only the used outputs of mediapipe's graphs gives what ``process`` gives, frame for frame."""

from __future__ import annotations

import mediapipe as mp
import numpy as np
import pytest

from expotion_engine.media.reader import iter_frames
from expotion_engine.vision.face import landmark_array
from expotion_engine.vision.solution import Solution
from studio.demo.scenarios import Clip


def _graphs() -> dict[str, tuple]:
    """Each graph the analysis runs, as it is set up there, with the stream read and how to turn it into numbers."""
    return {
        "pose": (lambda: mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1),
                 "pose_landmarks", lambda marks: landmark_array(marks)),
        "face mesh": (lambda: mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                                              refine_landmarks=True),
                      "multi_face_landmarks", lambda faces: np.stack([landmark_array(f) for f in faces])),
        "face detection": (lambda: mp.solutions.face_detection.FaceDetection(model_selection=1),
                           "detections", lambda found: np.array([[d.location_data.relative_bounding_box.xmin,
                                                                  d.location_data.relative_bounding_box.width,
                                                                  d.score[0]] for d in found])),
    }


@pytest.mark.parametrize("name", ["pose", "face mesh", "face detection"])
def test_the_streams_read_are_those_process_gives(face_clip: Clip, name: str) -> None:
    make, stream, numbers = _graphs()[name]
    frames = [frame.rgb for frame in iter_frames(face_clip.path, rate=5.0, max_side=640)]
    public, lean, fallback = make(), Solution(make(), stream), Solution(make(), stream)
    fallback.lean = False  # as with a mediapipe whose SolutionBase lacks the helpers
    assert lean.lean
    try:
        found = 0
        for rgb in frames:
            expected = getattr(public.process(rgb), stream)
            (got,), (also,) = lean(rgb), fallback(rgb)
            assert (expected is None) == (got is None) == (also is None)
            if expected is not None:
                found += 1
                assert np.array_equal(numbers(expected), numbers(got))
                assert np.array_equal(numbers(expected), numbers(also))
        assert found >= len(frames) // 2  # the face and body are there: the comparison compared something
    finally:
        public.close()
        lean.close()
        fallback.close()


def test_a_frame_that_is_not_rgb_is_refused_as_process_refuses_it() -> None:
    pose = Solution(mp.solutions.pose.Pose(), "pose_landmarks")
    try:
        with pytest.raises(ValueError, match="three channel rgb"):
            pose(np.zeros((64, 64, 4), np.uint8))
    finally:
        pose.close()
