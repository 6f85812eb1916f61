"""The mixer's export of a long take reports its progress block by block and honours Cancel, leaving no file.

The take is 126 s of 8 kHz stereo noise and tones in four stems written to disk in blocks
(longer than the 120 s above which a loaded take stays on disk: four blocks a pass). The
mixer mutes one stem and changes two gains, so the export re-renders the mix and the stems:
the make-up gain, the mix and the stems are three passes over the take. Cancel is set from
the progress callback, as the app's Cancel button sets it while the job reports, once a
chosen number of reports came in, so each pass is cancelled in turn; the system temp folder
is a folder of the test's own, so a file left there is seen.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from expotion_engine.errors import Cancelled
from expotion_engine.types import Take
from studio.session import DeliveryPrefs, Session, TakeRecord
from studio.spool import spool_beside
from tests.robustness.long_takes import disk_take
from ui import jobs
from ui.mixdown import MixerState, mixed_take, render_mix

SR = 8000
SECONDS = 126.0
BLOCKS = 4  # of audio_io.BLOCK frames in 126 s at 8 kHz
STATE = MixerState().with_stem("drums", mute=True).with_stem("bass", gain_db=-6.0).with_stem("melody", gain_db=9.0)


class Reports:
    """A progress callback that keeps every fraction and what ``watched`` folders hold at each report, and sets
    ``cancel`` once ``cancel_after`` reports came in."""

    def __init__(self, cancel_after: int | None = None, watched: tuple[Path, ...] = ()) -> None:
        self.fractions: list[float] = []
        self.cancel = threading.Event()
        self.cancel_after = cancel_after
        self.watched = watched
        self.seen: set[str] = set()

    def __call__(self, fraction: float, message: str) -> None:
        self.fractions.append(fraction)
        self.seen |= {p.name for folder in self.watched for p in folder.iterdir()}
        if self.cancel_after is not None and len(self.fractions) >= self.cancel_after:
            self.cancel.set()


@pytest.fixture(scope="module")
def long_take(tmp_path_factory: pytest.TempPathFactory) -> Take:
    """The long take saved as a take folder and loaded from it, as the app loads it (its audio stays on disk)."""
    folder = tmp_path_factory.mktemp("take")
    disk_take(folder / "source", SECONDS, SR).save(folder / "take")
    take = Take.load(folder / "take")
    assert take.on_disk
    return take


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_the_mixed_take_reports_each_block_of_each_pass_from_0_to_1(long_take: Take, tmp_path: Path) -> None:
    take = replace(long_take)  # a take of its own: the make-up gain is measured again
    reports = Reports()
    spool = spool_beside(tmp_path / "delivery")
    mixed = mixed_take(take, STATE, spool=spool, progress=reports, cancel=reports.cancel)
    fractions = reports.fractions
    assert fractions[0] <= 1 / (3 * BLOCKS) and fractions[-1] == 1.0
    assert all(a <= b for a, b in zip(fractions, fractions[1:], strict=False))
    assert len(set(fractions)) >= 3 * BLOCKS  # the make-up gain, the mix and the stems, each block by block
    assert mixed.on_disk and mixed.mix.path.parent == spool.path and spool.path.parent == tmp_path
    np.testing.assert_allclose(np.asarray(mixed.mix), render_mix(take, STATE), atol=1e-6)


@pytest.mark.parametrize("cancel_after", [2, BLOCKS * 2 + 2, BLOCKS * 3 + 2], ids=["make-up", "mix", "stems"])
def test_a_cancelled_mixed_take_raises_and_leaves_no_file(long_take: Take, system_temp: Path,
                                                          cancel_after: int) -> None:
    take = replace(long_take)
    reports = Reports(cancel_after)
    with pytest.raises(Cancelled) as caught:  # held: its frames would keep a spool not removed alive
        mixed_take(take, STATE, progress=reports, cancel=reports.cancel)  # the default spool: a temporary folder
    assert len(reports.fractions) == cancel_after  # stopped at the next block
    assert list(system_temp.iterdir()) == [] and caught.traceback


def _session(take: Take, folder: Path) -> Session:
    """A session whose take is ``take`` (its folder), delivering audio (resampled to 48 kHz by the export)."""
    session = Session(title="long", export=DeliveryPrefs(formats=("audio",)))
    session.add_take(TakeRecord(id="take-001", folder=take.mix.path.parent, engine=take.engine, seed=take.seed))
    session.path = folder / "long.expotion"
    return session


def test_the_app_s_export_with_the_mixer_reports_progress_and_writes_the_mixed_take(long_take: Take,
                                                                                   tmp_path: Path,
                                                                                   system_temp: Path) -> None:
    reports = Reports(watched=(tmp_path, system_temp))
    out = tmp_path / "delivery"
    written = jobs.export_take(_session(long_take, tmp_path), "take-001", out, ("audio",), False, STATE,
                               progress=reports, cancel=reports.cancel)
    fractions = reports.fractions
    assert fractions[-1] == 1.0 and all(a <= b for a, b in zip(fractions, fractions[1:], strict=False))
    assert len([f for f in fractions if f <= 0.5]) >= 3 * BLOCKS  # the mixer's passes, block by block
    assert any(n.startswith(".delivery.") and n.endswith(".partial") for n in reports.seen)  # spooled beside it
    assert not any(n.startswith("expotion-mixer-") for n in reports.seen)  # not in the system temp folder
    wavs = {p.name for p in written if p.suffix == ".wav"}
    assert not any(n.lower().endswith("_drums.wav") for n in wavs) and len(wavs) == 4  # mix and 3 stems
    assert sf.info(str(next(p for p in written if "mix" in p.name.lower()))).frames == SECONDS * 48000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["delivery", "system-temp"]  # the spool is gone


@pytest.mark.parametrize("cancel_after", [BLOCKS * 2 + 2, BLOCKS * 3 + 2], ids=["mix", "stems"])
def test_a_cancelled_app_export_with_the_mixer_leaves_no_file(long_take: Take, tmp_path: Path, system_temp: Path,
                                                              cancel_after: int) -> None:
    reports = Reports(cancel_after, watched=(system_temp,))
    out = tmp_path / "delivery"
    with pytest.raises(Cancelled):
        jobs.export_take(_session(long_take, tmp_path), "take-001", out, ("audio",), False, STATE,
                         progress=reports, cancel=reports.cancel)
    assert len(reports.fractions) == cancel_after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["system-temp"]  # no delivery, no spool beside it
    assert reports.seen == set() and list(system_temp.iterdir()) == []
