"""Peak memory and time of ``expotion score`` on long generated videos (procedural engine).

    .venv/bin/python benchmarks/memory.py [--minutes 1 10 90] [--work DIR] [--stage analyse|score|both]
                                          [--formats audio midi video] [--analysis-fps FPS]
                                          [--code TREE] [--timeout SECONDS]

For each length it generates (once, kept in ``--work``) a 320x240, 24 fps test video: ffmpeg's
``testsrc2`` with a white box sweeping across it and a cut (a colour flip) every 7 s, then runs in
a child process, one after the other: ``expotion analyze`` (which fills the analysis cache, in
``--work``) and ``expotion score`` on the same video (which reads that cache, so its figure is
generation, saving the take and the delivery). Each child's peak RSS comes from ``wait4`` (the
kernel's ru_maxrss of that process alone) and its wall time from the clock. The baseline of the
same run is the shortest video's row: the last column divides each row's peak by it, so a
streaming pipeline shows about 1.0 for every length. ``--code`` runs another source tree's
``expotion`` (e.g. an export of an older commit, for the old figures) on the same videos;
``--analysis-fps`` is passed to both commands (the default analyses 10 frames a second, which
takes long on a 90-minute film on a small machine). A child that runs past ``--timeout`` is
killed and reported as such.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PYTHON = sys.executable


def make_video(path: Path, seconds: float) -> Path:
    """A 320x240 24 fps H.264 test picture with a moving box and a colour flip every 7 s (cuts)."""
    if path.exists():
        return path
    import imageio_ffmpeg

    box = "drawbox=x='mod(t*60,280)':y='100+60*sin(t)':w=40:h=40:color=white:t=fill"
    flip = "hue=h='360*floor(t/7)*0.37'"
    tmp = path.with_suffix(".part.mp4")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"testsrc2=size=320x240:rate=24:duration={seconds}", "-vf", f"{box},{flip}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(tmp)], check=True)
    os.replace(tmp, path)
    return path


def run(command: list[str], env: dict[str, str], timeout: float, cwd: Path = ROOT) -> tuple[float, float, int]:
    """Run ``command``; its peak RSS (MB), wall seconds and exit code (-9 when killed at ``timeout``)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a progress bar would fill a pipe and block
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors,
                                   start_new_session=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, -9):
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
            print(f"  exit {code}: {' | '.join(tail)}", file=sys.stderr)
    return usage.ru_maxrss / 1024.0, wall, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/expotion-memory-bench"))
    parser.add_argument("--stage", choices=("analyse", "score", "both"), default="both")
    parser.add_argument("--formats", nargs="+", default=["audio", "midi", "video"])
    parser.add_argument("--analysis-fps", type=float, default=None)
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree whose expotion runs (default: this one)")
    parser.add_argument("--timeout", type=float, default=7200.0)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "EXPOTION_CACHE_DIR": str(args.work / "cache"), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": str(args.code.resolve())}
    expotion = [PYTHON, "-m", "studio"]
    fps = [] if args.analysis_fps is None else ["--analysis-fps", f"{args.analysis_fps:g}"]
    tag = "" if args.code.resolve() == ROOT else f"-{args.code.name}"
    rows = []
    for minutes in args.minutes:
        name = f"{minutes:g}min"
        video = make_video(args.work / f"{name}.mp4", minutes * 60.0)
        row = {"minutes": minutes}
        if args.stage in ("analyse", "both"):
            row["analyse"] = run([*expotion, "analyze", str(video), "-o", str(args.work / f"{name}.npz"), *fps],
                                 env, args.timeout, args.code.resolve())
        if args.stage in ("score", "both"):
            out = args.work / f"{name}-out{tag}"
            row["score"] = run([*expotion, "score", str(video), "-o", str(out), "--force", *fps, "--format",
                                *args.formats], env, args.timeout, args.code.resolve())
        rows.append(row)
        print(name, {k: v for k, v in row.items() if k != "minutes"}, flush=True)
    print(f"\n{'video':>8} {'stage':>8} {'peak RSS MB':>12} {'wall s':>9} {'x real time':>12} {'peak / 1st':>11}")
    first = {stage: min((r for r in rows if stage in r), key=lambda r: r["minutes"])[stage][0]
             for stage in ("analyse", "score") if any(stage in r for r in rows)}
    for row in rows:
        for stage in ("analyse", "score"):
            if stage not in row:
                continue
            peak, wall, code = row[stage]
            note = "" if code == 0 else f"  (exit {code})"
            print(f"{row['minutes']:>6g} m {stage:>8} {peak:>12.0f} {wall:>9.1f} {row['minutes'] * 60 / wall:>12.2f} "
                  f"{peak / first[stage]:>11.2f}{note}")


if __name__ == "__main__":
    main()
