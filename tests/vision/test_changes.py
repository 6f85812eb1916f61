"""Frame signatures and frame-to-frame change: every decoded frame is seen, motion is
explained by flow, a new framing is not."""

from __future__ import annotations

import cv2
import numpy as np

from expotion_engine.media.reader import iter_frames, signature
from expotion_engine.vision import changes
from expotion_engine.vision.changes import ChangeMeter
from studio.demo.animate import Placement
from studio.demo.scenarios import Actor, Shot, render_shots
from studio.demo.timeline import Timeline


def test_signatures_cover_every_decoded_frame_once(face_clip) -> None:
    frames = list(iter_frames(face_clip.path, rate=10.0, signatures=True))
    times = [s.time for f in frames for s in f.signatures]
    np.testing.assert_allclose(times, face_clip.frame_times, atol=2e-3)
    assert all(f.signatures[-1].time == f.time for f in frames)
    assert frames[0].signatures[0].gray.shape == (48, 64)
    assert not list(iter_frames(face_clip.path, rate=10.0))[0].signatures


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[..., ::-1])


def test_motion_leaves_little_residual_and_a_new_framing_a_lot() -> None:
    size = (320, 240)
    still = Timeline()
    wide = Shot(0.0, (Actor(still, Placement(0.30, (0.50, 0.42))),), "studio", 0)
    moved = Shot(0.0, (Actor(still, Placement(0.30, (0.53, 0.42))),), "studio", 0)
    closer = Shot(0.0, (Actor(still, Placement(0.44, (0.46, 0.46))),), "studio", 0, camera=(1.35, -0.08, 0.03))
    (a,), (b,), (c,) = (list(render_shots([shot], size, [0.0])) for shot in (wide, moved, closer))
    meter = ChangeMeter()
    meter(signature(_bgr(a), 0.0))
    step = meter(signature(_bgr(b), 0.04))
    meter = ChangeMeter()
    meter(signature(_bgr(a), 0.0))
    cut = meter(signature(_bgr(c), 0.04))
    assert step.grid.max() > 10.0  # the person did move ...
    assert step.residual < 0.3 * step.grid.mean() + 0.5  # ... and flow explains it
    assert cut.residual > 4.0 * step.residual and cut.residual > 3.0
    assert cut.hist < 0.35  # same room, same colours: the histogram alone would miss it


def test_a_camera_shake_is_taken_out_of_the_grid(monkeypatch) -> None:
    size = (320, 240)
    (frame,) = render_shots([Shot(0.0, (Actor(Timeline(), Placement(0.30, (0.50, 0.42))),), "studio", 0)], size, [0.0])
    texture = np.random.default_rng(1).integers(0, 60, (240, 320, 1)).astype(np.uint8)
    frame = cv2.GaussianBlur(np.clip(frame.astype(int) + texture, 0, 255).astype(np.uint8), (0, 0), 1.5)
    shaken = cv2.warpAffine(frame, np.float32([[1, 0, 2.5], [0, 1, -1.5]]), size, borderMode=cv2.BORDER_REFLECT)

    def grid_mean() -> float:
        meter = ChangeMeter()
        meter(signature(_bgr(frame), 0.0))
        return float(meter(signature(_bgr(shaken), 0.04)).grid.mean())

    compensated = grid_mean()
    monkeypatch.setattr(changes, "CAMERA_SHIFT", np.inf)
    assert grid_mean() > 3.0  # the picture did change everywhere ...
    assert compensated < 0.6 * grid_mean()  # ... but most of it was the camera
