"""ControlTrack → model frames: timestamps, not indices; padding masked; clear channel errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from expotion_engine.engines.musicgen.controls import to_frames
from expotion_engine.errors import ControlError
from tests.factories import make_control_track


def test_resampled_by_timestamp_at_frame_centres() -> None:
    track = make_control_track(2.0, rate=10.0, energy=lambda t: t / 2.0)  # a ramp
    frames = to_frames(track, ("energy",), 50.0)
    assert frames.n_frames == 100
    centres = (np.arange(100) + 0.5) / 50.0
    inside = centres <= track.times[-1]
    np.testing.assert_allclose(frames.values[inside, 0], centres[inside] / 2.0, atol=1e-6)
    assert frames.mask[:, 0].all()


def test_frames_past_the_range_are_masked_padding() -> None:
    track = make_control_track(1.0, rate=25.0, energy=0.7)
    frames = to_frames(track, ("energy", "valence"), 50.0, n_frames=80)
    assert frames.mask[:50].all() and not frames.mask[50:].any()
    window = frames.window(40, 90)
    assert window.n_frames == 50 and window.mask[:10].all() and not window.mask[10:].any()


def test_gaps_in_the_analysis_stay_masked() -> None:
    track = make_control_track(2.0, rate=10.0, energy=0.5)
    mask = track.mask.copy()
    mask[5:15, track.index("face_smile")] = False  # no face from 0.5 to 1.5 s
    frames = to_frames(dataclasses.replace(track, mask=mask), ("face_smile", "energy"), 50.0)
    t = (np.arange(frames.n_frames) + 0.5) / 50.0
    assert not frames.mask[(t > 0.6) & (t < 1.4), 0].any()
    assert frames.mask[:, 1].all()


def test_missing_channels_are_named() -> None:
    track = make_control_track(1.0).select(("energy", "valence"))
    with pytest.raises(ControlError, match="face_smile"):
        to_frames(track, ("energy", "face_smile"), 50.0)
