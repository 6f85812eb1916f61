"""Long takes on disk for memory tests, and the peak RSS of a child process that works on them.

A take here is stems of seeded noise under slow tones, written block by block as float WAVs
(their sum is the mix), so making one costs the test little memory whatever its length; the
child process's peak RSS comes from ``wait4``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from expotion_engine.audio_io import WavAudio, WavWriter
from expotion_engine.types import Stem, Take, TempoChange, TempoMap

ROOT = Path(__file__).resolve().parents[2]
STEMS = ("drums", "bass", "harmony", "melody")


def disk_take(folder: Path, seconds: float, rate: int, engine: str = "musicgen", seed: int = 7) -> Take:
    """A stereo take of ``seconds`` at 120 BPM whose mix and four stems are float WAVs in ``folder``."""
    frames = round(seconds * rate)
    rng = np.random.default_rng(seed)
    writers = {name: WavWriter(folder / f"{name}.wav", rate, 2, frames) for name in ("mix", *STEMS)}
    block = 1 << 16
    for start in range(0, frames, block):
        t = np.arange(start, min(start + block, frames)) / rate
        parts = [(0.05 * np.sin(2 * np.pi * 110.0 * (i + 1) * t) + 0.02 * rng.standard_normal((2, t.size)))
                 .astype(np.float32) for i in range(len(STEMS))]
        for name, part in zip(STEMS, parts, strict=True):
            writers[name].write(part)
        writers["mix"].write(np.sum(parts, axis=0))
    paths = {name: writer.close() for name, writer in writers.items()}
    return Take(engine=engine, sample_rate=rate, mix=WavAudio(paths["mix"]),
                stems=tuple(Stem(name, WavAudio(paths[name])) for name in STEMS),
                tempo_map=TempoMap((TempoChange(0.0, 120.0),)), markers=(), request={}, seed=seed)


def child_peak_mb(code: str, *args: str) -> float:
    """Peak RSS (MB) of ``python -c code args`` run from the repository root; its failure fails the test."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryFile() as output:  # a file, not a pipe, which a chatty child could fill and block on
        process = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        output.seek(0)
        assert os.waitstatus_to_exitcode(status) == 0, output.read().decode(errors="replace")[-2000:]
    return usage.ru_maxrss / 1024.0
