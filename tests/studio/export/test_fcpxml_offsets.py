"""FCPXML: the connected music starts on its parent clip's frame at every in point and rate.

The adapter computes a connected clip's offset from its own rounded strings; at 29.97 fps
some in points (4.5 s, 5.3 s) put the mix one frame before the picture. Here every in point
from 0 to 12 s in 0.1 s steps is written at 23.976, 25, 29.97 DF and 59.94 DF, read back with
lxml and checked in exact fractions; one of them is delivered and passes ``expotion check``.
(Non-drop 29.97/59.94 are not offered for deliveries, so they are not swept.)
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from studio.demo.writer import write_mp4
from studio.export import export_delivery
from studio.export.check import check_delivery
from studio.export.editors import _fcpx_rate, _relative, fcpxml_text
from studio.export.job import ExportJob
from studio.export.timeline import build_timeline
from studio.timecode import to_frame

RATES = {"23.976": 24000 / 1001, "25": 25.0, "29.97 DF": 30000 / 1001, "59.94 DF": 60000 / 1001}
IN_POINTS = [round(0.1 * k, 1) for k in range(121)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    """A 15.5 s tiny clip at each rate (the last in point plus the 3 s take fits)."""
    folder = tmp_path_factory.mktemp("fcpxml_rates")
    out = {}
    for label, fps in RATES.items():
        frames = (np.full((32, 48, 3), (i * 5) % 250, np.uint8) for i in range(int(np.ceil(15.5 * fps))))
        out[label] = write_mp4(folder / f"clip_{fps:.3f}.mp4", frames, fps=fps)
    return out


def _seconds(value: str) -> Fraction:
    return Fraction(value.rstrip("s"))


def _connected(text: str) -> list[tuple[etree._Element, etree._Element]]:
    """(parent clip, connected clip) pairs of the sequence, read back with lxml."""
    root = etree.fromstring(text.split("\n", 2)[2].encode("utf-8"))
    return [(parent, child) for parent in root.iterfind(".//sequence/spine/*")
            for child in parent if child.get("lane") is not None and child.tag in ("clip", "asset-clip")]


@pytest.mark.parametrize("label", list(RATES))
def test_every_connected_clip_starts_on_its_parents_frame(job: ExportJob, videos, label):
    fps = RATES[label]
    misplaced = []
    for video_in in IN_POINTS:
        rated = replace(job, video=videos[label], video_in=video_in, fps=fps, markers=())
        assert rated.tc.label == label
        rate = rated.tc.rate
        timeline = build_timeline(rated, audio_url=_relative, markers_on="clip", rate=_fcpx_rate(rated))
        for clip in timeline.find_clips():  # the adapter runs ffprobe on every file it finds; 484 times is slow
            clip.media_reference.target_url = f"missing/{clip.media_reference.target_url.rsplit('/', 1)[-1]}"
        pairs = _connected(fcpxml_text(rated, timeline))
        assert len(pairs) == 5  # the mix and four stems
        for parent, child in pairs:
            start, offset = _seconds(parent.get("start")), _seconds(child.get("offset"))
            assert (start * rate).denominator == 1 and (offset * rate).denominator == 1  # on edit frames
            assert start * rate == to_frame(rated.start_seconds, rated.tc)
            if offset != start:
                misplaced.append(f"in {video_in} s: {child.get('name')} at frame {offset * rate}, "
                                 f"its parent starts at {start * rate}")
    assert not misplaced, "; ".join(misplaced[:5])


def test_a_delivery_scored_from_4_5_s_at_29_97_passes_check(job: ExportJob, videos, tmp_path):
    rated = replace(job, video=videos["29.97 DF"], video_in=4.5, fps=30000 / 1001)
    out = tmp_path / "delivery"
    export_delivery(rated, out, formats=["audio", "fcpxml"])
    results = {r.name: r for r in check_delivery(out)}
    assert all(r.passed for r in results.values()), [r for r in results.values() if not r.passed]
    assert "My_Clip.fcpxml" in results["timeline audio"].detail
