"""The conform of a long take spools its audio inside the output folder, never in the system temp folder, and leaves
nothing of it behind: after success only the committed take, after a cancel, Ctrl-C or an output the take cannot go
into, no spool at all.

The old take is a take on disk longer than the 120 s above which a recut is written as WAVs
(8 kHz stereo, noise and tones in four stems), scored from three shots; the recut trims the
middle shot by 12 frames at its head (a stretched bridge). The system temp folder is a
folder of the test's own, so anything written there is seen. The cancel event is a real
``CancelEvent`` that looks into the folders each time the conform checks it (once per
block written) and is set, or raises ``KeyboardInterrupt`` as a second Ctrl-C does, after a
few blocks.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.errors import Cancelled, ExportError
from expotion_engine.types import Take
from studio.commands.conform import conform_into
from studio.fsutil import stale_parts, stale_staging
from studio.timeline.conform import conform_plan
from studio.timeline.conform_audio import take_length
from tests.robustness.long_takes import disk_take
from tests.timeline.recut import FPS, cut, request
from tests.watch import Watch as BaseWatch

SR = 8000
SHOT = 1050  # frames: three shots make 126 s
OLD_SHOTS = (("a", 0, SHOT), ("b", 0, SHOT), ("c", 0, SHOT))
NEW_SHOTS = (("a", 0, SHOT), ("b", 12, SHOT - 12), ("c", 0, SHOT))
OLD, NEW = cut(OLD_SHOTS, "a"), cut(NEW_SHOTS, "b")
TAKE_FILES = {"mix.wav", "take.json", "stems"}


class Watch(BaseWatch):
    """Records, at every check, the spool folders in ``out`` and what the system temp folder holds."""

    def __init__(self, out: Path, system_temp: Path, after: int | None = None,
                 interrupt: type[BaseException] | None = None) -> None:
        super().__init__(after, interrupt)
        self.out, self.system_temp = out, system_temp
        self.spools: list[set[str]] = []
        self.inside: set[str] = set()  # what the spools held
        self.temp: set[str] = set()

    def look(self) -> None:
        spools = stale_staging(self.out)
        self.spools.append({p.name for p in spools})
        self.inside |= {p.name for spool in spools for p in spool.iterdir()}
        self.temp |= {p.name for p in self.system_temp.iterdir()}


@pytest.fixture(scope="module")
def old_take(tmp_path_factory: pytest.TempPathFactory) -> Take:
    return disk_take(tmp_path_factory.mktemp("old"), take_length(OLD, SR) / SR, SR)


def leftovers(out: Path) -> list[str]:
    """Hidden staging folders and temporary files in ``out`` and its ``stems``."""
    return sorted(p.name for here in (out, out / "stems") for p in (*stale_staging(here), *stale_parts(here)))


def test_a_long_conform_spools_in_the_output_and_leaves_only_the_take(old_take: Take, tmp_path: Path,
                                                                      system_temp: Path) -> None:
    out = tmp_path / "out"
    watch = Watch(out, system_temp)
    result = conform_into(out, old_take, conform_plan(OLD, NEW), OLD, NEW, None, lambda f, m: None, watch)
    assert watch.checks > 3 and all(len(seen) == 1 for seen in watch.spools)  # one spool, in the output
    assert next(iter(watch.spools[0])).startswith(".out.")
    assert watch.temp == set() and list(system_temp.iterdir()) == []
    assert {p.name for p in out.iterdir()} == TAKE_FILES and leftovers(out) == []
    take = result.take
    assert take.on_disk and take.mix.path == out.resolve() / "mix.wav"
    assert all(s.audio.path.parent == out.resolve() / "stems" for s in take.stems)
    assert take.n_samples == take_length(NEW, SR) == old_take.n_samples - 12 * SR // FPS
    assert os.stat(take.mix.path).st_nlink == 1  # the spool's link to it is gone
    head = 4 * SR  # the first shot's bars are the old take's samples
    assert np.array_equal(take.mix[:, :head], old_take.mix[:, :head])


@pytest.mark.parametrize("interrupt", [None, KeyboardInterrupt], ids=["cancel", "ctrl-c"])
def test_a_conform_stopped_mid_way_leaves_no_spool(old_take: Take, tmp_path: Path, system_temp: Path,
                                                   interrupt: type[BaseException] | None) -> None:
    out = tmp_path / "out"
    watch = Watch(out, system_temp, after=2, interrupt=interrupt)
    with pytest.raises(interrupt or Cancelled) as caught:  # held: its frames would keep an unclosed spool alive
        conform_into(out, old_take, conform_plan(OLD, NEW), OLD, NEW, None, lambda f, m: None, watch)
    assert watch.checks == 2 and len(watch.spools[-1]) == 1  # stopped while the spool was being written
    assert list(out.iterdir()) == [] and watch.temp == set() and list(system_temp.iterdir()) == []
    assert caught.traceback


def test_an_output_the_take_cannot_go_into_leaves_no_spool(old_take: Take, tmp_path: Path,
                                                           system_temp: Path) -> None:
    out = tmp_path / "out"
    (out / "mix.wav").mkdir(parents=True)  # a folder where the take's mix must go
    watch = Watch(out, system_temp)
    with pytest.raises(ExportError, match="is a folder") as caught:
        conform_into(out, old_take, conform_plan(OLD, NEW), OLD, NEW, None, lambda f, m: None, watch)
    assert watch.checks > 3 and all(len(seen) == 1 for seen in watch.spools)  # the audio was all written
    assert [p.name for p in out.iterdir()] == ["mix.wav"] and leftovers(out) == []
    assert watch.temp == set() and list(system_temp.iterdir()) == [] and caught.traceback



def test_a_long_re_planned_conform_renders_its_bridges_in_the_output_s_spool(tmp_path: Path,
                                                                           system_temp: Path) -> None:
    old = ProceduralEngine().generate(replace(request(OLD_SHOTS), sample_rate=SR))
    old.save(tmp_path / "old")
    old = Take.load(tmp_path / "old")
    assert old.on_disk and list(system_temp.iterdir()) == []
    out = tmp_path / "out"
    watch = Watch(out, system_temp)
    result = conform_into(out, old, conform_plan(OLD, NEW), OLD, NEW, replace(request(NEW_SHOTS), sample_rate=SR),
                          lambda f, m: None, watch)
    assert result.method == "replan" and result.take.on_disk
    assert all(len(seen) == 1 for seen in watch.spools)
    assert any(name.startswith("replan-") for name in watch.inside)  # the re-planned rendering, on the output's disk
    assert watch.temp == set() and list(system_temp.iterdir()) == []
    assert {p.name for p in out.iterdir()} == TAKE_FILES and leftovers(out) == []
