"""Conform block by block: a take on disk conformed into WAVs equals the conform of the same take in memory.

The old take's audio is read through ``WavAudio`` (as a long take is loaded) and the recut is
written block by block into float WAVs; the same take as arrays is conformed in memory. At
65536 Hz the first recut's join lies exactly on a block boundary, so its crossfade is made in
two blocks; the second recut has a stretched bridge, the third is re-planned by the procedural
engine. Every sample must be the same.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.audio_io import BLOCK, WavAudio
from expotion_engine.types import Take
from studio.timecode import TimecodeRate
from studio.timeline import Timeline, TimelineClip
from studio.timeline.conform import conform_plan
from studio.timeline.conform_audio import ConformResult, conform_take, sample_at, take_length
from tests.robustness.long_takes import disk_take
from tests.timeline.recut import VERSION_A, VERSION_B, cut, request, scored_a

SR = 65536  # 4 s, the first recut's join, is BLOCK samples
PAL = TimecodeRate(25)
MEDIA = {name: Path(f"/media/{name}.mp4") for name in "abc"}


def shots(*parts: tuple[str, int, int]) -> Timeline:
    """A 25 fps sequence of ``(media, source_in, frames)`` laid end to end."""
    clips, record = [], 0
    for media, source_in, frames in parts:
        clips.append(TimelineClip(media, MEDIA[media], source_in, record, frames))
        record += frames
    return Timeline(Path("/cuts/v.otio"), "v", PAL, 90000, tuple(clips))


OLD = shots(("a", 0, 100), ("b", 0, 100), ("c", 0, 100))


def in_memory(take: Take) -> Take:
    """``take`` with its audio loaded whole."""
    return replace(take, mix=np.asarray(take.mix), stems=tuple(replace(s, audio=np.asarray(s.audio))
                                                               for s in take.stems))


def assert_same_audio(on_disk: ConformResult, whole: ConformResult) -> None:
    assert on_disk.take.on_disk and not whole.take.on_disk
    assert np.array_equal(np.asarray(on_disk.take.mix), whole.take.mix)
    for a, b in zip(on_disk.take.stems, whole.take.stems, strict=True):
        assert a.name == b.name and np.array_equal(np.asarray(a.audio), b.audio)
    assert on_disk.joins == whole.joins and on_disk.take.info["conform"] == whole.take.info["conform"]


@pytest.fixture(scope="module")
def old_take(tmp_path_factory: pytest.TempPathFactory) -> Take:
    return disk_take(tmp_path_factory.mktemp("old"), take_length(OLD, SR) / SR, SR)


@pytest.mark.parametrize("new", [
    shots(("a", 0, 100), ("c", 0, 100)),  # b removed: c joins a on the block boundary
    shots(("a", 0, 100), ("b", 12, 88), ("c", 0, 100)),  # b trimmed at its head: a stretched bridge
], ids=["join-on-a-block-boundary", "stretched-bridge"])
def test_an_audio_only_conform_on_disk_is_the_one_in_memory(old_take: Take, new: Timeline) -> None:
    plan = conform_plan(OLD, new)
    on_disk = conform_take(old_take, plan, OLD, new, to_disk=True)
    whole = conform_take(in_memory(old_take), plan, OLD, new, to_disk=False)
    assert_same_audio(on_disk, whole)
    assert on_disk.take.n_samples == take_length(new, SR)
    if not whole.bars.bridges:
        join = sample_at(100, PAL, SR)
        assert whole.joins == (join,) == (BLOCK,)
        keep = np.asarray(old_take.mix[:, :join - whole.crossfade // 2])
        assert np.array_equal(np.asarray(on_disk.take.mix)[:, :keep.shape[1]], keep)


@pytest.mark.slow
def test_a_replanned_conform_on_disk_is_the_one_in_memory(tmp_path: Path) -> None:
    old_tl, new_tl = cut(VERSION_A, "a"), cut(VERSION_B, "b")
    old = scored_a()
    saved = old.save(tmp_path / "old")
    lazy = replace(old, mix=WavAudio(saved / "mix.wav"),
                   stems=tuple(replace(s, audio=WavAudio(saved / "stems" / f"{s.name}.wav")) for s in old.stems))
    plan = conform_plan(old_tl, new_tl)
    on_disk = conform_take(lazy, plan, old_tl, new_tl, request(VERSION_B), to_disk=True)
    whole = conform_take(old, plan, old_tl, new_tl, request(VERSION_B), to_disk=False)
    assert on_disk.method == whole.method == "replan" and whole.bars.bridges
    assert_same_audio(on_disk, whole)
