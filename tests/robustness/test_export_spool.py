"""A long take delivered at another sample rate is resampled into a spool on the delivery's disk, never in the
system temp folder, and leaves nothing of it behind: after success only the delivery, after a failure, cancel or Ctrl-C
nothing, after a killed run only hidden folders the next run's ``remove_stale`` removes.

The take is 126 s of 8 kHz stereo noise and tones (longer than the 120 s above which a loaded
take stays on disk), its mix and one stem, delivered at 44.1 kHz: four blocks of
:data:`studio.export.bwf._BLOCK` frames per file. The system temp folder is a folder of the
test's own, so anything written there is seen. The cancel event is a real ``CancelEvent`` that
looks into the folders each time the export checks it (once per block resampled) and is set,
or raises ``KeyboardInterrupt`` as a second Ctrl-C does, after a few checks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from expotion_engine.audio_io import WavAudio, is_lazy
from expotion_engine.errors import Cancelled, ExportError
from expotion_engine.types import Stem, Take
from studio.demo.writer import run_ffmpeg
from studio.export.bwf import resample, resampled
from studio.export.job import ExportJob, ExportSettings
from studio.export.manifest import MANIFEST
from studio.export.registry import export_delivery
from studio.fsutil import remove_stale, stale_parts, stale_staging
from tests.robustness.long_takes import ROOT, disk_take
from tests.watch import Watch as BaseWatch

SR = 8000
SECONDS = 126.0
RATE = 44100
CHECKS_BEFORE_MIX = 2  # the export's check before the format, then the audio writer's before the mix


class Watch(BaseWatch):
    """Records, at every check, what the hidden folders in ``places`` and the system temp folder hold."""

    def __init__(self, places: tuple[Path, ...], system_temp: Path, after: int | None = None,
                 interrupt: type[BaseException] | None = None) -> None:
        super().__init__(after, interrupt)
        self.places, self.system_temp = places, system_temp
        self.inside: list[set[str]] = []  # at each check, what the hidden staging folders held
        self.temp: set[str] = set()
        self.temp_files: set[str] = set()

    def look(self) -> None:
        self.inside.append({p.name for place in self.places for spool in stale_staging(place)
                            for p in spool.iterdir()})
        self.temp |= {p.name for p in self.system_temp.iterdir()}
        self.temp_files |= {p.name for p in self.system_temp.rglob("*") if not p.is_dir()}


def spooling(names: set[str]) -> bool:
    """Whether a resampled file (finished or being written) is among ``names``."""
    return any(".resampled-" in n or n.startswith("resampled-") for n in names)


@pytest.fixture(scope="module")
def long_take(tmp_path_factory: pytest.TempPathFactory) -> Take:
    """The long take (its mix and one stem) saved as a take folder and loaded from it, as ``expotion export`` does."""
    folder = tmp_path_factory.mktemp("take")
    take = disk_take(folder / "source", SECONDS, SR)
    replace(take, stems=take.stems[:1]).save(folder / "take")
    take = Take.load(folder / "take")
    assert take.on_disk
    return take


def job(take: Take, bit_depth: int = 32, **settings: str) -> ExportJob:
    """The take delivered at :data:`RATE`."""
    return ExportJob(take=take, title="long",
                     settings=ExportSettings(sample_rate=RATE, bit_depth=bit_depth, **settings))


def test_a_long_take_is_resampled_beside_the_delivery_and_leaves_only_the_delivery(long_take: Take, tmp_path: Path,
                                                                                   system_temp: Path) -> None:
    out = tmp_path / "deliveries" / "out"
    watch = Watch((out.parent, out), system_temp)
    written = export_delivery(job(long_take), out, formats=["audio"], cancel=watch)
    assert watch.temp == set() and list(system_temp.iterdir()) == []
    assert watch.checks >= 2 * 4  # every block of both files
    assert sum(spooling(names) for names in watch.inside) >= 4  # resampled in a hidden folder beside the delivery
    assert [p.name for p in out.parent.iterdir()] == ["out"]  # no spool beside it
    assert all(stale_staging(here) == stale_parts(here) == [] for here in {p.parent for p in written})
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        [MANIFEST, *(p.relative_to(out).as_posix() for p in written)])
    delivered, rate = sf.read(str(written[0]), dtype="float32", always_2d=True)
    expected = resample(np.asarray(long_take.mix), SR, RATE)  # the in-memory path, the whole mix at once
    assert rate == RATE and delivered.T.shape == expected.shape == (2, round(SECONDS * RATE))
    np.testing.assert_allclose(delivered.T, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("interrupt", [None, KeyboardInterrupt], ids=["cancel", "ctrl-c"])
def test_an_export_stopped_while_resampling_leaves_nothing(long_take: Take, tmp_path: Path, system_temp: Path,
                                                           interrupt: type[BaseException] | None) -> None:
    out = tmp_path / "deliveries" / "out"
    after = CHECKS_BEFORE_MIX + 2  # the mix's second block
    watch = Watch((out.parent, out), system_temp, after=after, interrupt=interrupt)
    with pytest.raises(interrupt or Cancelled) as caught:  # held: its frames would keep an unclosed spool alive
        export_delivery(job(long_take, 24), out, formats=["audio"], cancel=watch)
    assert watch.temp == set() and list(system_temp.iterdir()) == [] and caught.traceback
    assert watch.checks == after and spooling(watch.inside[-1])  # stopped while the spool was being written
    assert list(out.parent.iterdir()) == []  # neither the delivery nor a spool beside it


def test_an_export_that_fails_while_resampling_leaves_nothing(long_take: Take, tmp_path: Path,
                                                              system_temp: Path) -> None:
    damaged = tmp_path / "damaged.wav"
    shutil.copyfile(long_take.mix.path, damaged)
    stem = Stem("pads", WavAudio(damaged))
    damaged.write_bytes(b"not audio any more")  # the stem's file is damaged after the take was loaded
    out = tmp_path / "deliveries" / "out"
    watch = Watch((out.parent, out), system_temp)
    with pytest.raises(ExportError, match="The audio export failed") as caught:
        export_delivery(job(replace(long_take, stems=(stem,))), out, formats=["audio"], cancel=watch)
    assert watch.temp == set() and list(system_temp.iterdir()) == [] and caught.traceback
    assert sum(spooling(names) for names in watch.inside) >= 4  # the mix was resampled, then the stem failed
    assert list(out.parent.iterdir()) == []  # neither the delivery nor a spool beside it


def test_a_short_wav_resampled_on_disk_is_the_in_memory_resampling(tmp_path: Path, system_temp: Path) -> None:
    short = disk_take(tmp_path / "short", 3.0, SR).mix
    out = tmp_path / "out"
    with resampled(short, SR, RATE, out) as data:
        assert is_lazy(data) and data.path.parent.parent == tmp_path and data.path.parent in stale_staging(tmp_path)
        on_disk = np.asarray(data)
    in_memory = resample(np.asarray(short), SR, RATE)
    assert on_disk.shape == in_memory.shape == (2, 3 * RATE)
    np.testing.assert_allclose(on_disk, in_memory, atol=1e-6, rtol=0)
    assert stale_staging(tmp_path) == [] and list(system_temp.iterdir()) == []
    with resampled(np.asarray(short), SR, RATE, out) as data:  # audio in memory stays in memory
        assert isinstance(data, np.ndarray) and np.array_equal(data, in_memory)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short", "system-temp"]


def test_the_video_of_a_long_take_muxes_the_mix_resampled_beside_the_delivery(long_take: Take, tmp_path: Path,
                                                                             system_temp: Path) -> None:
    video = tmp_path / "picture.mov"
    run_ffmpeg(["-f", "lavfi", "-i", f"color=c=gray:s=64x48:r=24:d={SECONDS + 0.5}", "-c:v", "mpeg4", str(video)])
    out = tmp_path / "deliveries" / "out"
    watch = Watch((out.parent, out), system_temp)
    video_job = replace(job(long_take, video_audio="pcm"), video=video, fps=24.0)  # PCM in a MOV: nothing to encode
    written, guide = export_delivery(video_job, out, formats=["video"], cancel=watch)
    assert watch.temp_files == set()  # the mux's scratch folder holds nothing for a mix on disk
    assert sum(spooling(names) for names in watch.inside) >= 4  # resampled beside the delivery, checked per block
    assert list(system_temp.iterdir()) == [] and [p.name for p in out.parent.iterdir()] == ["out"]
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, written.name, guide.name])
    with av.open(str(written)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.sample_rate == RATE and float(audio.duration * audio.time_base) > SECONDS - 0.1


KILLED_CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from expotion_engine.types import Stem, Take
    from studio.export.job import ExportJob, ExportSettings
    from studio.export.registry import export_delivery
    from studio.fsutil import stale_staging

    take, out = Take.load(Path(sys.argv[1])), Path(sys.argv[2])

    class KillOnceSpooled:
        def is_set(self):
            if any(p.name.startswith("resampled-") for spool in stale_staging(out) for p in spool.iterdir()):
                os.kill(os.getpid(), signal.SIGKILL)
            return False

    export_delivery(ExportJob(take=take, title="long", settings=ExportSettings(sample_rate=44100)), out,
                    formats=["audio"], cancel=KillOnceSpooled())
""")


def test_a_killed_export_leaves_only_what_remove_stale_removes(long_take: Take, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()  # as ``expotion export`` makes it, holding its lock
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TMPDIR": str(system_temp)}
    child = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(long_take.mix.path.parent), str(out)], cwd=ROOT,
                           env=env, capture_output=True, text=True, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]  # killed while resampling into its spool
    left = stale_staging(out)
    assert len(left) == 2 and sorted(left) == sorted(out.iterdir())  # the delivery's staging and the spool
    assert sum(spooling({p.name for p in spool.iterdir()}) for spool in left) == 1
    assert list(system_temp.iterdir()) == []
    assert remove_stale(out) == 2 and list(out.iterdir()) == []


@pytest.mark.parametrize("audio", ["memory", "disk"])
def test_the_same_rate_is_not_resampled(long_take: Take, tmp_path: Path, audio: str) -> None:
    mix = long_take.mix if audio == "disk" else np.zeros((2, 8), np.float32)
    with resampled(mix, SR, SR, tmp_path / "out") as data:
        assert data is mix
    assert isinstance(long_take.mix, WavAudio) and list(tmp_path.iterdir()) == []
