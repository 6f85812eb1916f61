"""Conforming a long take needs no more memory than a short one: the old take is read in slices, the recut written
block by block.

A take on disk (16 kHz stereo float WAVs longer than the 120 s above which a loaded take stays on
disk) scored from three shots is conformed, in a child process, onto a recut whose middle shot
loses 12 frames at its head (a bridge, and the last shot moved), and the conformed take is saved;
the child's peak RSS comes from ``wait4`` for a SHORT and a LONG take. An audio-only take (noise
and tones, four stems) is bridged by stretching: making the recut whole in memory (the conform
before the block-wise path) its peak grew by about 0.7 MB per second of take, here near zero. A
procedural take is re-planned, its bridges rendered on disk by the engine (whose own working memory
grows about 0.1 MB/s, see ``test_memory.py``); before, a long take's re-planned conform failed.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.types import Take
from tests.robustness.long_takes import child_peak_mb, disk_take
from tests.timeline.recut import FPS, request

RATE = 16000
SHORT, LONG = 125.0, 325.0
#: the most the peak may grow per second of take (whole: ~0.7 MB/s audio-only; block by block ~0, ~0.1 re-planned)
SLOPE_MB_PER_S = {"stretch": 0.1, "replan": 0.3}

CHILD = textwrap.dedent("""
    import sys
    from dataclasses import replace
    from pathlib import Path
    from expotion_engine.types import Take
    from studio.timeline.conform import conform_plan
    from studio.timeline.conform_audio import conform_take
    from tests.robustness.test_conform_memory import versions
    from tests.timeline.recut import cut, request

    folder, frames, method = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    a, b = versions(frames)
    old, new = cut(a, "a"), cut(b, "b")
    take = Take.load(folder / "take")
    assert take.on_disk
    recut = replace(request(b), sample_rate=take.sample_rate) if method == "replan" else None
    result = conform_take(take, conform_plan(old, new), old, new, recut)
    assert result.method == method and result.take.on_disk
    result.take.save(folder / "conformed")
""")


def versions(frames: int) -> tuple[tuple[tuple[str, int, int], ...], tuple[tuple[str, int, int], ...]]:
    """Three shots of ``frames`` in all, and the recut: the middle shot 12 frames shorter at its head."""
    third = frames // 3
    return ((("a", 0, third), ("b", 0, third), ("c", 0, frames - 2 * third)),
            (("a", 0, third), ("b", 12, third - 12), ("c", 0, frames - 2 * third)))


def _peak_mb(seconds: float, folder: Path, method: str) -> float:
    frames = round(seconds * FPS)
    if method == "replan":
        old = ProceduralEngine().generate(replace(request(versions(frames)[0]), sample_rate=RATE))
    else:
        old = disk_take(folder / "source", seconds, RATE)
    old.save(folder / "take")
    return child_peak_mb(CHILD, str(folder), str(frames), method)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["stretch", "replan"])
def test_conforming_a_long_take_needs_no_more_memory(tmp_path: Path, method: str) -> None:
    short = _peak_mb(SHORT, tmp_path / "short", method)
    long = _peak_mb(LONG, tmp_path / "long", method)
    slope = (long - short) / (LONG - SHORT)
    assert slope < SLOPE_MB_PER_S[method], f"peak {short:.0f} MB at {SHORT:.0f} s, {long:.0f} MB at {LONG:.0f} s"
    old, new = Take.load(tmp_path / "long" / "take"), Take.load(tmp_path / "long" / "conformed")
    assert new.n_samples == old.n_samples - 12 * RATE // FPS  # the recut's length to the sample
    assert new.info["conform"]["method"] == method and new.info["conform"]["bridges"]
    head = slice(0, 10 * RATE)
    for a, b in zip((new.mix, *(s.audio for s in new.stems)), (old.mix, *(s.audio for s in old.stems)), strict=True):
        assert np.array_equal(a[:, head], b[:, head])  # the first shot's bars, kept sample for sample
    if method == "stretch":  # the last shot's bars moved with the picture to the end (a score re-plans its ending)
        tail, moved = slice(new.n_samples - 10 * RATE, None), slice(old.n_samples - 10 * RATE, None)
        assert all(np.array_equal(a[:, tail], b[:, moved]) for a, b in zip(
            (new.mix, *(s.audio for s in new.stems)), (old.mix, *(s.audio for s in old.stems)), strict=True))
