"""One warning line when no face is found anywhere in the analysed range (the music then follows motion and cuts).

Run on the generated clips: ``no_face_clip`` (a drifting disc, no person) and ``face_clip``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np

from expotion_engine.controls.channels import FACE_CHANNELS
from studio.analysis import analyze, warn_if_no_face
from tests.factories import make_control_track


def _analyze_cli(video, out, cache) -> list[str]:
    """stderr of ``expotion analyze`` in a fresh process, split on line ends and carriage returns."""
    env = {**os.environ, "EXPOTION_CACHE_DIR": str(cache)}
    run = subprocess.run([sys.executable, "-m", "studio", "analyze", str(video), "-o", str(out)], env=env,
                         capture_output=True, text=True, check=True)
    return run.stderr.replace("\r", "\n").splitlines()


def test_analyze_warns_once_on_a_clip_without_a_face_analysed_or_cached(no_face_clip, tmp_path) -> None:
    for _ in ("analysed", "loaded from the cache"):
        lines = [line for line in _analyze_cli(no_face_clip.path, tmp_path / "c.npz", tmp_path / "cache")
                 if "no face" in line]
        assert len(lines) == 1, lines
        # its own line, not appended to the progress bar
        assert lines[0].startswith(f"WARNING studio.analysis: no face found in {no_face_clip.path} (0.0-"), lines
        assert lines[0].endswith("the music follows only the motion and the cuts.")


def test_no_warning_where_a_face_is_seen(face_clip, tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    with caplog.at_level(logging.WARNING, logger="studio.analysis"):
        track = analyze(face_clip.path)
    assert track.mask[:, [track.index(name) for name in FACE_CHANNELS]].any()
    assert not [r for r in caplog.records if "no face" in r.getMessage()]


def test_the_warning_needs_every_frame_to_lack_a_face(caplog) -> None:
    track = make_control_track(4.0)
    columns = [track.index(name) for name in FACE_CHANNELS]
    mask = track.mask.copy()
    mask[:, columns] = False
    mask[100, columns] = True  # one frame with a face is enough to say nothing
    with caplog.at_level(logging.WARNING, logger="studio.analysis"):
        assert not warn_if_no_face(track, "clip.mp4")
        assert not warn_if_no_face(replace(track, mask=mask.copy()), "clip.mp4")
        mask[100, columns] = False
        assert warn_if_no_face(replace(track, mask=mask.copy()), "clip.mp4")
    assert [r.getMessage() for r in caplog.records] == [
        "no face found in clip.mp4 (0.0-4.0 s): the music follows only the motion and the cuts."]
    assert np.all(track.mask)  # the track itself is untouched

