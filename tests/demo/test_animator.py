"""The animated astronaut, judged by mediapipe's face mesh and pose: the warps change the
landmark measurements the way their names say, and the person is found at all."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from studio.demo import portrait
from studio.demo.animate import Placement, PortraitAnimator, composite, face_box
from studio.demo.background import backdrop
from studio.demo.portrait import ANCHORS
from studio.demo.timeline import FaceParams

SIZE = (480, 360)
PLACEMENT = Placement(face_height=0.32, center=(0.5, 0.40))


@pytest.fixture(scope="module")
def render():
    animator = PortraitAnimator()
    background = backdrop(SIZE, seed=1)

    def draw(**params: float) -> np.ndarray:
        return composite(background, [animator.layer(FaceParams(**params), SIZE, PLACEMENT)])

    return draw


@pytest.fixture(scope="module")
def measure(render, face_mesh):
    def one(**params: float):
        faces = face_mesh(render(**params))
        assert len(faces) == 1, f"expected one face for {params}, found {len(faces)}"
        return faces[0]

    return one


def test_anchor_points_match_mediapipe_on_the_photo(face_mesh, shoulders) -> None:
    from skimage import data

    photo = data.astronaut()
    (face,) = face_mesh(photo)
    assert face.nose == pytest.approx(ANCHORS.nose, abs=2.0)
    assert face.face_height == pytest.approx(ANCHORS.face_height, rel=0.03)
    xy, visibility = shoulders(photo)
    assert (visibility > 0.9).all()
    np.testing.assert_allclose(xy, [ANCHORS.shoulder_left, ANCHORS.shoulder_right], atol=4.0)


def test_rest_frame_shows_one_face_and_both_shoulders(render, measure, shoulders) -> None:
    face = measure()
    x0, y0, x1, y1 = face_box(FaceParams(), SIZE, PLACEMENT)
    assert face.face_height == pytest.approx(y1 - y0, rel=0.1)
    assert face.nose == pytest.approx((PLACEMENT.center[0] * SIZE[0], PLACEMENT.center[1] * SIZE[1]), abs=3.0)
    found = shoulders(render())
    assert found is not None
    assert (found[1] > 0.8).all()


def test_mouth_opening_widens_the_inner_lip_gap(measure) -> None:
    closed, half, wide = (measure(mouth_open=v).mouth_gap for v in (0.0, 0.5, 1.0))
    assert closed < half < wide
    assert wide > 2.0 * closed
    assert wide > 0.14


def test_brow_raise_lifts_the_brows_away_from_the_eyes(measure) -> None:
    rest, raised, lowered = (measure(brow=v).brow_height for v in (0.0, 1.0, -1.0))
    assert raised > 1.2 * rest
    assert lowered < rest


def test_smile_spreads_and_lifts_the_mouth_corners(measure) -> None:
    rest, smile, frown = measure(), measure(smile=1.0), measure(smile=-1.0)
    assert smile.mouth_width > rest.mouth_width + 0.02 > frown.mouth_width + 0.04
    assert smile.corner_lift > rest.corner_lift + 0.015 > frown.corner_lift + 0.03


def test_roll_tilts_the_eye_line_by_about_the_asked_angle(measure) -> None:
    rest, rolled = measure(), measure(roll=10.0)
    assert rolled.eye_line_deg - rest.eye_line_deg == pytest.approx(10.0, abs=3.0)


def test_yaw_moves_the_nose_across_the_face(measure) -> None:
    left, rest, right = (measure(yaw=v).nose_across for v in (-1.0, 0.0, 1.0))
    assert left < rest - 0.02
    assert right > rest + 0.02


def test_head_moves_are_local_to_the_head(render, measure) -> None:
    rest, nod = measure(), measure(pitch=1.0)
    assert nod.nose[1] - rest.nose[1] > 4.0
    # below the neck (the head weight is 0 from 1.3 head radii down) nothing changes
    neck_row = int(face_box(FaceParams(), SIZE, PLACEMENT)[3] + 0.5 * (ANCHORS.neck[1] - ANCHORS.chin[1]) + 40)
    for params in ({"pitch": 1.0}, {"roll": 10.0}, {"yaw": -1.0}):
        moved = render(**params)
        assert not np.array_equal(moved, render())
        np.testing.assert_array_equal(moved[neck_row:], render()[neck_row:])


def test_translation_and_zoom_move_face_and_shoulders_together(render, measure, shoulders) -> None:
    rest = measure()
    assert measure(scale=1.3).face_height / rest.face_height == pytest.approx(1.3, rel=0.08)
    moved = measure(x=-0.2, scale=0.8)
    assert moved.nose[0] - rest.nose[0] == pytest.approx(-0.2 * SIZE[1], abs=4.0)
    assert moved.face_height / rest.face_height == pytest.approx(0.8, rel=0.08)
    # (zoomed out: pose places shoulders poorly when the torso leaves the frame)
    before, after = shoulders(render())[0], shoulders(render(x=-0.2, scale=0.8))[0]
    width_ratio = np.linalg.norm(after[0] - after[1]) / np.linalg.norm(before[0] - before[1])
    assert width_ratio == pytest.approx(0.8, rel=0.1)
    assert after[:, 0].mean() - before[:, 0].mean() == pytest.approx(-0.2 * SIZE[1], abs=15.0)


def test_rendering_is_deterministic(render) -> None:
    a = render(mouth_open=0.6, brow=0.4, roll=-4.0, yaw=0.3, smile=0.5)
    b = render(mouth_open=0.6, brow=0.4, roll=-4.0, yaw=0.3, smile=0.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, render())


def test_missing_scikit_image_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(ImportError, match=r"install the dev extras"):
        portrait._require_skimage()
