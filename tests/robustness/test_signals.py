"""Issue 13 item 9: SIGTERM and SIGHUP stop a run like Ctrl-C: the stage is cancelled, staging
folders and ``.part`` files are removed, ffmpeg dies with its parent, the exit code is 130; staging
that a crashed run left is removed by the next run in that folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from studio.cli import main
from studio.demo.scenarios import Clip
from tests.processes import ended_within

ROOT = Path(__file__).resolve().parents[2]


def leftovers(folder: Path) -> list[Path]:
    """Staging folders, temporary ``.part`` files and lock files anywhere under ``folder``."""
    return [p for p in folder.rglob(".*") if p.name.endswith((".partial", ".part", ".lock"))]


def processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (an ffmpeg writing into a folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(text in arg for arg in args) and "pytest" not in " ".join(args):
            found.append(" ".join(args))
    return found


def slow_ffmpeg(folder: Path, mark: Path) -> Path:
    """An ffmpeg that, asked to re-mux (``-progress``), says so in ``mark`` and then works for a minute
    (a long video's re-mux) with the real command line; anything else runs the real ffmpeg."""
    import imageio_ffmpeg

    script = folder / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in *-progress*)\n'
        f'  touch "{mark}"\n'
        f'  exec "{sys.executable}" -c "import time; time.sleep(60)" "$@";;\n'
        "esac\n"
        f'exec "{imageio_ffmpeg.get_ffmpeg_exe()}" "$@"\n')
    script.chmod(0o755)
    return script


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "stage"), [(signal.SIGTERM, "export"), (signal.SIGHUP, "generate")])
def test_a_stop_signal_mid_stage_cancels_and_cleans_up(sig: signal.Signals, stage: str, face_clip: Clip,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    mark = tmp_path / "remux-started"
    env = {**os.environ, "EXPOTION_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT),
           "IMAGEIO_FFMPEG_EXE": str(slow_ffmpeg(tmp_path, mark))}
    process = subprocess.Popen(
        [sys.executable, "-m", "studio", "score", str(face_clip.path), "-o", str(out), "--end", "4",
         "--format", "audio", "midi", "edl", "reaper", "video"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = threading.Event()
    err = bytearray()

    def read() -> None:
        assert process.stderr is not None
        while chunk := process.stderr.read1(4096):
            err.extend(chunk)
            if b"generate:" in err:
                seen.set()
        seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert seen.wait(120) and process.poll() is None, err.decode(errors="replace")
    while stage == "export" and not mark.exists() and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(sig)
    code = process.wait(120)
    reader.join(10)
    text = err.decode(errors="replace")
    assert code == 130, text
    assert "expotion: cancelled." in text and "Traceback" not in text
    assert leftovers(tmp_path) == []
    assert not (out / "delivery").exists()  # the delivery appears whole or not at all
    if stage == "generate":
        assert not (out / "take.json").exists()
    for _ in range(100):
        if not processes_naming(str(out)):
            break
        time.sleep(0.05)
    assert processes_naming(str(out)) == []  # the re-muxing ffmpeg was killed with the run


def test_staging_a_crashed_run_left_is_removed_by_the_next_run(face_clip: Clip, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    crashed = [out / ".out.k2j4h5g6.partial" / "stems" / "bass.wav", out / ".face.expotion.ab12CD34.part",
               out / "delivery" / ".delivery.x9y8z7w6.partial" / "face_mix.wav"]
    for path in crashed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 1024)
    (out / "delivery" / "face_mix.wav").write_bytes(b"an older delivery")
    (out / ".my_notes.partial").mkdir()  # a user's folder that only looks like staging: not ours, kept
    assert main(["score", str(face_clip.path), "-o", str(out), "--end", "2.2", "--force", "--format", "audio"]) == 0
    assert leftovers(tmp_path) == [out / ".my_notes.partial"]
    assert (out / "take.json").is_file() and (out / "delivery" / "face_mix.wav").stat().st_size > 1024


def test_a_child_in_its_own_group_dies_with_its_parent(tmp_path: Path) -> None:
    code = ("import subprocess, sys, time\n"
            "from studio.export.video import die_with_parent\n"
            "child = subprocess.Popen(['sleep', '60'], start_new_session=True, preexec_fn=die_with_parent)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert os.getpgid(child) == child  # its own process group: a terminal's Ctrl-C goes to the parent only
    parent.kill()
    parent.wait()
    assert ended_within(child)
