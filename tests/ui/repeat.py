"""Run the UI tests many times in a row and count the consecutive passes (the "holds on a loaded machine" check).

    python tests/ui/repeat.py [--runs 20] [--load N] [--hang-after S] [--gdb] [PYTEST ARGS...]

Each run is a fresh ``python -m pytest tests/ui -q -p no:cacheprovider`` (offscreen). ``--load N``
starts N busy-looping processes for the whole time, so a machine with idle cores is loaded too.
A run still going after ``--hang-after`` seconds is a hang: its threads' stacks are written by
gdb when it is installed (else Python's faulthandler), then it is killed. With ``--gdb`` each run
runs under gdb, so a crash in a native thread leaves every thread's native stack in the run's
log (Python's faulthandler shows only Python frames). Prints one line per
run (result, seconds, the 1-minute load average when it started) and stops at the first run
that does not pass; the exit status is 0 only when every run passed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def burners(count: int) -> list[subprocess.Popen]:
    """``count`` processes that keep one core busy each."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def dump_stacks(pid: int, out: Path) -> None:
    """Every thread's native stack of process ``pid`` into ``out`` (gdb), else Python's (SIGABRT + faulthandler)."""
    gdb = shutil.which("gdb")
    if gdb:
        with open(out, "w") as file:
            subprocess.run([gdb, "-p", str(pid), "-batch", "-ex", "thread apply all bt"], stdout=file,
                           stderr=subprocess.STDOUT, timeout=120, check=False)
    else:
        os.kill(pid, signal.SIGABRT)


def under_gdb(command: list[str]) -> list[str]:
    """``command`` run by gdb, which prints every thread's stack if it crashes."""
    return ["gdb", "-q", "-batch", "-ex", "set pagination off", "-ex", "handle SIGPIPE nostop noprint",
            "-ex", "run", "-ex", "thread apply all bt 40", "--args", *command]


def gdb_exit_code(log: Path) -> int:
    """The exit status of a run under gdb, read from its log (-N for a fatal signal N)."""
    text = log.read_text(errors="replace")
    if "exited normally" in text:
        return 0
    if match := re.search(r"exited with code (\d+)", text):
        return int(match.group(1), 8)
    if match := re.search(r"received signal (SIG\w+)", text):
        return -int(getattr(signal, match.group(1), signal.SIGABRT))
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load", type=int, default=0, help="busy processes to start beside the tests")
    parser.add_argument("--hang-after", type=float, default=1200.0, help="seconds after which a run is a hang")
    parser.add_argument("--logs", type=Path, default=Path("ui-repeat-logs"), help="folder for each run's output")
    parser.add_argument("--gdb", action="store_true", help="run each run under gdb (native stacks on a crash)")
    args, pytest_args = parser.parse_known_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"}
    command = [sys.executable, "-m", "pytest", "tests/ui", "-q", "-p", "no:cacheprovider", *pytest_args]
    if args.gdb:
        command = under_gdb(command)
    busy = burners(args.load)
    passed = 0
    try:
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            log = args.logs / f"run{run:02d}.log"
            started = time.monotonic()
            with open(log, "w") as output:
                process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
                try:
                    code = process.wait(timeout=args.hang_after)
                    if args.gdb:
                        code = gdb_exit_code(log)
                except subprocess.TimeoutExpired:
                    if not args.gdb:  # a process under gdb cannot be attached to again
                        dump_stacks(process.pid, args.logs / f"run{run:02d}.stacks.txt")
                    process.kill()
                    process.wait()
                    code = None
            seconds = time.monotonic() - started
            result = "passed" if code == 0 else "HANG" if code is None else f"failed (exit {code})"
            lines = log.read_text(errors="replace").strip().splitlines()
            tail = [line for line in lines if re.search(r"\d+ (passed|failed)", line)][-1:] or lines[-1:] or [""]
            print(f"run {run:2d}: {result:<16} {seconds:6.0f} s  load {load:5.2f}  {tail[0]}", flush=True)
            if code != 0:
                break
            passed += 1
    finally:
        for process in busy:
            process.kill()
            process.wait()
    print(f"{passed} consecutive runs passed of {args.runs}")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
