"""A long take is rendered into the caller's spool on the output's disk, never the system temp folder, and a
render stopped mid-way leaves nothing: not in the caller's spool, and not the temporary spool a library call
without one gets (removed at once, not when the exception's traceback is freed).

The score is the engine's (piano-solo: two synth parts) for 126 s of controls at 8 kHz, longer
than the 120 s above which a take is rendered block by block to disk. The system temp folder is
a folder of the test's own, so anything written there is seen. The cancel event is a real
``CancelEvent`` that looks into the folders each time the renderer checks it and is set, or
raises ``KeyboardInterrupt`` as a second Ctrl-C does, after a few checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from expotion_engine.audio_io import WavAudio
from expotion_engine.engines.procedural import ProceduralEngine
from expotion_engine.engines.procedural.render import render_score
from expotion_engine.engines.procedural.score import Score
from expotion_engine.errors import Cancelled
from expotion_engine.types import GenerationRequest
from studio.fsutil import stale_staging
from studio.presets import load_preset
from studio.spool import spool_beside
from tests.factories import make_control_track
from tests.watch import Watch as BaseWatch

SR = 8000
SECONDS = 126.0
STOP_AT = 6  # checks: a few blocks into the parts' first pass


class Watch(BaseWatch):
    """Records, at every check, the files under ``spools`` and in the system temp folder."""

    def __init__(self, spools: Path, system_temp: Path, after: int | None = None,
                 interrupt: type[BaseException] | None = None) -> None:
        super().__init__(after, interrupt)
        self.spools, self.system_temp = spools, system_temp
        self.spooled: set[str] = set()
        self.temp: set[str] = set()

    def look(self) -> None:
        self.spooled |= {p.name for p in self.spools.rglob("*") if p.is_file()}
        self.temp |= {p.name for p in self.system_temp.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def score() -> Score:
    track = make_control_track(SECONDS, energy=0.6, valence=0.2, hits=[30.0, 80.0], seed=4)
    request = GenerationRequest(controls=track, preset=load_preset("piano-solo").table, seed=3, sample_rate=SR)
    return ProceduralEngine().compose(request)


def _db(difference: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.square(difference, dtype=np.float64)) / np.sum(np.square(
        reference, dtype=np.float64))))


def test_a_long_take_renders_into_the_caller_s_spool_as_in_memory(score: Score, tmp_path: Path,
                                                                  system_temp: Path) -> None:
    out = tmp_path / "out"
    spool = spool_beside(out)
    watch = Watch(tmp_path, system_temp)
    rendering = render_score(score, SR, spool=spool, cancel=watch)
    assert watch.temp == set() and list(system_temp.iterdir()) == []
    assert isinstance(rendering.mix, WavAudio) and rendering.mix.path.parent == spool.path
    assert spool.path in stale_staging(tmp_path)  # a killed run's is removed by the next run into ``out``
    assert any(n.startswith(".mix.wav.") for n in watch.spooled) and "part0.f32" in watch.spooled  # and raw stems
    whole = render_score(score, SR, to_disk=False)
    assert _db(np.asarray(rendering.mix) - whole.mix, whole.mix) < -85.0  # as tests/.../test_stream.py
    for name, stem in whole.stems.items():
        assert _db(np.asarray(rendering.stems[name]) - stem, whole.mix) < -85.0
    spool.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["system-temp"]


@pytest.mark.parametrize("interrupt", [None, KeyboardInterrupt], ids=["cancel", "ctrl-c"])
def test_a_render_stopped_mid_way_leaves_nothing_in_the_caller_s_spool(score: Score, tmp_path: Path,
                                                                      system_temp: Path,
                                                                      interrupt: type[BaseException] | None) -> None:
    spool = spool_beside(tmp_path / "out")
    watch = Watch(tmp_path, system_temp, after=STOP_AT, interrupt=interrupt)
    with pytest.raises(interrupt or Cancelled):
        render_score(score, SR, spool=spool, cancel=watch)
    assert watch.checks == STOP_AT and watch.spooled and watch.temp == set()  # stopped while writing the spool
    assert list(spool.path.rglob("*")) == []  # what it wrote is gone; the caller removes its folder
    spool.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["system-temp"]


@pytest.mark.parametrize("interrupt", [None, KeyboardInterrupt], ids=["cancel", "ctrl-c"])
def test_a_render_without_a_spool_stopped_mid_way_removes_its_own_at_once(score: Score, system_temp: Path,
                                                                          interrupt: type[BaseException] | None,
                                                                          ) -> None:
    watch = Watch(system_temp, system_temp, after=STOP_AT, interrupt=interrupt)
    with pytest.raises(interrupt or Cancelled) as caught:  # held: its frames refer to the spool
        render_score(score, SR, cancel=watch)
    assert watch.checks == STOP_AT and watch.temp  # a library call with no spool: a temporary one
    assert list(system_temp.iterdir()) == [] and caught.traceback
