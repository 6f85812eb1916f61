"""``expotion check`` needs no more memory for a long delivery than for a short one: it reads every WAV in blocks.

Two deliveries (a mix, four stems that null against it and a REAPER project playing the mix) are
written by the real exporter from takes whose audio lives on disk, one of SHORT and one of LONG
seconds, and each is checked by ``expotion check`` in its own child process, whose peak RSS comes
from ``wait4``. Reading each file whole, the check's peak grew by about 7 MB per second of 44.1 kHz
stereo (the mix and stems as float64 and the null and timeline sums the same size); here the long
delivery may add only a few MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.audio_io import WavAudio, WavWriter
from expotion_engine.types import Stem, Take, TempoMap
from studio.export.job import ExportJob, ExportSettings
from studio.export.registry import export_delivery

ROOT = Path(__file__).resolve().parents[2]
RATE = 44100
SHORT, LONG = 20.0, 360.0
#: the most the long check's peak may exceed the short one's (reading whole files it was 2.2 GB more: 220 MB
#: at 20 s, 2469 MB at 360 s; block by block 126 MB at both)
GROWTH_MB = 24.0
STEMS = ("drums", "bass", "harmony", "melody")
CHILD = "import sys; from studio.cli import main; sys.exit(main(['check', sys.argv[1]]))"


def _take(seconds: float, folder: Path) -> Take:
    """A stereo take of ``seconds`` on disk: four quiet tones with noise, written block by block, and their sum."""
    frames = round(seconds * RATE)
    rng = np.random.default_rng(11)
    writers = {name: WavWriter(folder / f"{name}.wav", RATE, 2, frames) for name in ("mix", *STEMS)}
    block = 1 << 16
    for start in range(0, frames, block):
        t = np.arange(start, min(start + block, frames)) / RATE
        parts = [0.05 * np.sin(2 * np.pi * (110.0 * (i + 1)) * t)[None, :] * np.array([[1.0], [0.6 + 0.1 * i]])
                 + 0.01 * rng.standard_normal((2, t.size)) for i in range(len(STEMS))]
        for name, part in zip(STEMS, parts, strict=True):
            writers[name].write(part.astype(np.float32))
        writers["mix"].write(np.sum([p.astype(np.float32) for p in parts], axis=0))
    paths = {name: writer.close() for name, writer in writers.items()}
    stems = tuple(Stem(name, WavAudio(paths[name])) for name in STEMS)
    return Take(engine="procedural", sample_rate=RATE, mix=WavAudio(paths["mix"]), stems=stems,
                tempo_map=TempoMap.constant(120.0), markers=(), request={}, seed=0)


def _checked_peak_mb(seconds: float, out: Path) -> tuple[float, str]:
    """Peak RSS (MB) and output of ``expotion check`` run in a child process on a ``seconds`` delivery."""
    (out / "take").mkdir(parents=True)
    job = ExportJob(take=_take(seconds, out / "take"), title="long", timecode_start=3600.0, fps=25.0,
                    settings=ExportSettings(sample_rate=RATE))
    export_delivery(job, out / "delivery", formats=["audio", "reaper"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryFile() as output:  # a file, not a pipe, which a chatty child could fill and block on
        process = subprocess.Popen([sys.executable, "-c", CHILD, str(out / "delivery")], cwd=ROOT, env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        output.seek(0)
        text = output.read().decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    return usage.ru_maxrss / 1024.0, text


@pytest.mark.slow
def test_checking_a_long_delivery_needs_no_more_memory(tmp_path: Path) -> None:
    short, _ = _checked_peak_mb(SHORT, tmp_path / "short")
    long, text = _checked_peak_mb(LONG, tmp_path / "long")
    assert "7/7 checks passed" in text, text
    assert f"5 BWF files of {LONG:.3f} s" in text  # the long delivery was read to its end
    assert long - short < GROWTH_MB, f"peak {short:.0f} MB at {SHORT:.0f} s, {long:.0f} MB at {LONG:.0f} s"
