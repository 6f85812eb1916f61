"""Issue 13 item 9: every ffmpeg Expotion starts runs in its own process group and dies with its parent.

Each case runs one caller of ffmpeg (the video probe, the demo writer's one-shot and piped
encoders) in a child Python process whose ffmpeg is a stand-in that writes its pid and waits;
the test checks the stand-in leads its own process group (so a terminal's Ctrl-C reaches only
Expotion), kills the Python process with SIGKILL and checks the stand-in is gone too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import ended_within

ROOT = Path(__file__).resolve().parents[2]

CALLERS = {
    "probe": "from expotion_engine.media.probe import probe_video\nprobe_video(sys.argv[1])\n",
    "run_ffmpeg": "from studio.demo.writer import run_ffmpeg\nrun_ffmpeg(['-version'])\n",
    "write_mp4": ("import numpy as np\nfrom studio.demo.writer import write_mp4\n"
                    "frames = (np.zeros((240, 320, 3), np.uint8) for _ in range(10_000))\n"
                  "write_mp4(sys.argv[2], frames, fps=25.0)\n"),
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-second video made with the real ffmpeg."""
    import imageio_ffmpeg

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=25:duration=1", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def stand_in(folder: Path, mark: Path) -> Path:
    """An ffmpeg that writes its pid into ``mark`` and then waits a minute."""
    script = folder / "ffmpeg"
    script.write_text(f'#!/bin/sh\necho $$ > "{mark}.tmp"\nmv "{mark}.tmp" "{mark}"\n'
                      f'exec "{sys.executable}" -c "import time; time.sleep(60)"\n')
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_ffmpeg_leads_its_own_group_and_dies_with_its_parent(caller: str, clip: Path, tmp_path: Path) -> None:
    mark = tmp_path / "ffmpeg.pid"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMAGEIO_FFMPEG_EXE": str(stand_in(tmp_path, mark))}
    code = "import sys\n" + CALLERS[caller]
    parent = subprocess.Popen([sys.executable, "-c", code, str(clip), str(tmp_path / "out.mp4")], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if mark.exists() or parent.poll() is not None:
                break
            time.sleep(0.05)
        assert mark.exists(), f"{caller} did not start ffmpeg"
        child = int(mark.read_text())
        assert os.getpgid(child) == child  # its own process group
    finally:
        parent.kill()
        parent.wait()
    assert ended_within(child)
