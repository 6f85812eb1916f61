"""Conforming a long take needs no more memory than a short one: the old take is read in slices, the recut written
block by block.

An audio-only take on disk (mix and four stems, 16 kHz stereo float WAVs longer than the 120 s
above which a loaded take stays on disk) scored from three shots is conformed, in a child process,
onto a recut whose middle shot loses 12 frames at its head (a stretched bridge, and the last shot
moved), and the conformed take is saved. Its peak RSS comes from ``wait4`` for a SHORT and a LONG
take. Making the recut whole in memory (the conform before the block-wise path) the peak grew by
about 0.7 MB per second of this take; here the slope is near zero.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.types import Take
from tests.robustness.long_takes import child_peak_mb, disk_take

RATE = 16000
FPS = 25
SHORT, LONG = 125.0, 325.0
#: the most the peak may grow per second of take (whole: ~0.7 MB/s here; block by block ~0)
SLOPE_MB_PER_S = 0.1

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from expotion_engine.types import Take
    from studio.timecode import TimecodeRate
    from studio.timeline import Timeline, TimelineClip
    from studio.timeline.conform import conform_plan
    from studio.timeline.conform_audio import conform_take

    folder, frames = Path(sys.argv[1]), int(sys.argv[2])

    def shots(*parts):
        clips, record = [], 0
        for media, source_in, length in parts:
            clips.append(TimelineClip(media, Path(f"/media/{media}.mp4"), source_in, record, length))
            record += length
        return Timeline(Path("/cuts/v.otio"), "v", TimecodeRate(25), 90000, tuple(clips))

    third = frames // 3
    old = shots(("a", 0, third), ("b", 0, third), ("c", 0, frames - 2 * third))
    new = shots(("a", 0, third), ("b", 12, third - 12), ("c", 0, frames - 2 * third))
    take = Take.load(folder / "take")
    assert take.on_disk
    conform_take(take, conform_plan(old, new), old, new).take.save(folder / "conformed")
""")


def _peak_mb(seconds: float, folder: Path) -> float:
    disk_take(folder / "source", seconds, RATE).save(folder / "take")
    return child_peak_mb(CHILD, str(folder), str(round(seconds * FPS)))


@pytest.mark.slow
def test_conforming_a_long_take_needs_no_more_memory(tmp_path: Path) -> None:
    short = _peak_mb(SHORT, tmp_path / "short")
    long = _peak_mb(LONG, tmp_path / "long")
    slope = (long - short) / (LONG - SHORT)
    assert slope < SLOPE_MB_PER_S, f"peak {short:.0f} MB at {SHORT:.0f} s, {long:.0f} MB at {LONG:.0f} s"
    old, new = Take.load(tmp_path / "long" / "take"), Take.load(tmp_path / "long" / "conformed")
    assert new.n_samples == old.n_samples - 12 * RATE // FPS  # the recut's length to the sample
    assert new.info["conform"]["method"] == "stretch" and new.info["conform"]["bridges"]
    head, tail = slice(0, 10 * RATE), slice(new.n_samples - 10 * RATE, new.n_samples)
    moved = slice(old.n_samples - 10 * RATE, old.n_samples)
    for a, b in zip((new.mix, *(s.audio for s in new.stems)), (old.mix, *(s.audio for s in old.stems)), strict=True):
        assert np.array_equal(a[:, head], b[:, head])  # the first shot's bars, kept sample for sample
        assert np.array_equal(a[:, tail], b[:, moved])  # the last shot's, moved with the picture to the end
