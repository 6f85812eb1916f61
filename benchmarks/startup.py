"""Start-up of ``expotion demo``: how long a user waits for the first progress line and the first preview audio.

    .venv/bin/python benchmarks/startup.py [--rounds 2] [--cached]

Runs ``python -m studio demo -o TMP --preview`` in a fresh process (analysis cache in a
fresh folder unless ``--cached``, so the video is really analysed) and timestamps every
line it writes on stderr as it arrives. Reported per run, in seconds from the command's
start: the first line of any kind, the first progress line (the ``score demo:`` bar), the
first preview audio (the ``preview: the first ... s`` line, printed when the first block
is written to ``preview.wav`` and handed to the audio output) and the whole command.

Baselines measured in the same run, interleaved with the demo runs: the bare interpreter
(``python -c pass``), and ``python -m studio --help``, which builds every sub-command's
parser and so imports every command's stack (torch included): the start-up every command
paid before sub-commands were imported on demand. On a shared machine read the ratios to
these baselines rather than the absolute seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKS = {"first line": "", "first progress line": "score demo:", "first preview audio": "preview: the first"}


def timed_lines(command: list[str], env: dict[str, str]) -> tuple[list[tuple[float, str]], float]:
    """Run ``command``; return each stderr line (progress redraws split at ``\\r``) with its arrival time."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    lines: list[tuple[float, str]] = []
    while chunk := process.stderr.read1(65536):
        now = time.perf_counter() - started
        for part in chunk.replace(b"\r", b"\n").split(b"\n"):
            if part.strip():
                lines.append((now, part.decode(errors="replace")))
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n" + "\n".join(text for _, text in lines[-20:]))
    return lines, time.perf_counter() - started


def demo_run(cached: bool, cache: Path) -> dict[str, float]:
    """One ``expotion demo --preview`` into a fresh folder; seconds to each mark and to the end."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory() as tmp:
        if not cached:
            cache = Path(tmp) / "cache"
        env["EXPOTION_CACHE_DIR"] = str(cache)
        lines, total = timed_lines([sys.executable, "-m", "studio", "demo", "-o", str(Path(tmp) / "out"),
                                    "--preview"], env)
    row = {name: next((t for t, text in lines if text.startswith(prefix) or (prefix and prefix in text)),
                      float("nan")) for name, prefix in MARKS.items()}
    row["whole command"] = total
    return row


def baseline(args: list[str]) -> float:
    """Wall seconds of ``python args`` (exit code 0 expected)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every measurement")
    parser.add_argument("--cached", action="store_true", help="keep one analysis cache for every run (the "
                                                              "second and later runs skip the analysis)")
    args = parser.parse_args()
    rows: list[dict[str, float]] = []
    bare: list[float] = []
    every_parser: list[float] = []
    with tempfile.TemporaryDirectory() as shared:
        for _ in range(args.rounds):
            bare.append(baseline(["-c", "pass"]))
            every_parser.append(baseline(["-m", "studio", "--help"]))
            rows.append(demo_run(args.cached, Path(shared)))
    interpreter, old_start = statistics.median(bare), statistics.median(every_parser)
    print(f"expotion demo --preview, {args.rounds} rounds ({'shared' if args.cached else 'fresh'} analysis cache), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"baselines: bare interpreter {interpreter:.2f} s; `python -m studio --help` (every command's imports) "
          f"{old_start:.2f} s")
    print(f"{'mark':<22} {'median s':>9} {'runs':>24} {'x interpreter':>14}")
    for name in (*MARKS, "whole command"):
        values = [row[name] for row in rows]
        median = statistics.median(values)
        print(f"{name:<22} {median:9.2f} {' '.join(f'{v:.2f}' for v in values):>24} {median / interpreter:14.1f}")


if __name__ == "__main__":
    main()
