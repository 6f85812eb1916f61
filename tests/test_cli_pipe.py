"""The ``expotion`` CLI whose reader closed the pipe (``expotion presets | head -1``): it stops quietly with
141 (128 + SIGPIPE), as a Unix tool killed by SIGPIPE does, and a reader that reads everything still gets 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.types import Stem, Take, TempoChange, TempoMap
from studio.cli import EXIT_BROKEN_PIPE
from studio.export import ExportJob, export_delivery

RATE = 48000


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-second audio-only delivery (a 220 Hz tone as its one stem and mix) for ``expotion check``."""
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(RATE) / RATE)).astype(np.float32)
    audio = np.stack([tone, tone])
    take = Take(engine="procedural", sample_rate=RATE, mix=audio, stems=(Stem("pad", audio),),
                tempo_map=TempoMap(tempos=(TempoChange(0.0, 120.0),)), markers=(), request={}, seed=1)
    folder = tmp_path_factory.mktemp("pipe") / "delivery"
    export_delivery(ExportJob(take=take, title="Pipe"), folder, ["audio"])
    return folder


def _into_closed_pipe(args: list[str], *, stderr_too: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``python -m studio ARGS`` with its stdout (and stderr when ``stderr_too``) on a pipe whose reader has
    already gone, as ``| head -1`` leaves it once ``head`` has its line."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "studio", *args], stdout=write,
                              stderr=write if stderr_too else subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [["presets"], ["--help"], ["--version"], ["check"]],
                         ids=["presets", "help", "version", "check"])
def test_a_closed_pipe_ends_the_run_quietly_with_141(args: list[str], delivery: Path) -> None:
    if args == ["check"]:
        args = ["check", str(delivery)]
    result = _into_closed_pipe(args)
    assert (result.returncode, result.stderr) == (EXIT_BROKEN_PIPE, "")


def test_stderr_on_the_closed_pipe_too_still_gives_141() -> None:
    assert _into_closed_pipe(["presets"], stderr_too=True).returncode == EXIT_BROKEN_PIPE


def test_a_reader_that_reads_everything_gets_all_of_it_and_0(delivery: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "studio", "check", str(delivery)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().splitlines()[-1].endswith("checks passed")
    assert result.stderr == ""
