"""The sync set's clips carry what their ground truth claims: each event first shows on its
frame (not before), cuts within one scene keep the room's colours, and the stream-offset
copy starts 0.85 s into the container with the same frames."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.media.probe import stream_starts
from studio.demo.sync_set import performance_clip, scene_cuts_clip, stream_offset_copy
from tests.demo.measure import frame_steps, read_frames


@pytest.fixture(scope="module")
def performance(tmp_path_factory):
    return performance_clip(tmp_path_factory.mktemp("sync") / "perf.mp4", fps=12.5, seed=4, duration=3.0, grain=0.0)


def test_each_event_first_shows_on_its_frame(performance) -> None:
    frames, times = read_frames(performance.clip.path)
    steps = frame_steps(frames)
    assert times == pytest.approx(list(performance.clip.frame_times), abs=1e-3)
    assert len(performance.truth) >= 3
    for event in performance.truth:
        k = int(np.argmin(np.abs(np.asarray(times) - event.time)))
        assert times[k] == pytest.approx(event.time, abs=1e-3)
        assert steps[k] > 1.0 and steps[k - 1] < 0.3, (event.name, steps[k - 2:k + 2])
    starts = sorted(m.start for f in performance.clip.faces for m in f.timeline.moves)
    assert all(not np.isclose(s * 12.5, round(s * 12.5)) or s == 0 for s in starts[1:])  # between frames


def test_scene_cuts_within_one_room_keep_its_colours(tmp_path) -> None:
    clip = scene_cuts_clip(tmp_path / "scene.mp4", fps=10.0, seed=2, shot_length=0.9, grain=0.0)
    frames, times = read_frames(clip.clip.path)
    cuts = [e for e in clip.truth if e.cause == "cut"]
    assert sum(e.same_scene for e in cuts) == 4 and len(cuts) == 5
    for cut in cuts:
        k = int(np.argmin(np.abs(np.asarray(times) - cut.time)))
        before, after = frames[k - 1].reshape(-1, 3).mean(0), frames[k].reshape(-1, 3).mean(0)
        assert np.abs(frames[k].astype(int) - frames[k - 1]).mean() > 8.0
        if cut.same_scene:
            assert np.abs(after - before).max() < 25.0, (cut.name, before, after)


def test_stream_offset_copy_starts_later_in_the_container_with_the_same_frames(performance, tmp_path) -> None:
    moved = stream_offset_copy(performance, tmp_path / "moved.mp4", 0.85)
    assert stream_starts(moved.clip.path).video == pytest.approx(0.85, abs=1e-3)
    assert read_frames(moved.clip.path)[1] == pytest.approx(read_frames(performance.clip.path)[1], abs=1e-3)
    assert moved.truth == performance.truth
