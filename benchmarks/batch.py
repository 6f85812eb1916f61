"""Batch throughput: clips on a local Ray against the same clips one after another in one process.

    .venv/bin/python benchmarks/batch.py [--clips 8] [--seconds 4] [--cpus N]

Renders ``--clips`` short clips (the demo scenarios, 320x240), then scores them twice with the
analysis cache off: one after another in this process through the batch's own stage functions
(the baseline), and with ``studio.batch.run_batch`` on a local Ray using ``--cpus`` cores. Each
side first scores warm-up clips (one here, one per CPU on Ray) so that imports and model loads
(paid once per process, so once per Ray worker) are reported apart from steady throughput.
Prints clips per minute and times real time side by side, the stage costs per clip, and a
scaling model (CPU-seconds per clip spread over the cores of N such nodes) next to the
throughput it predicts for this machine, so the model can be checked against the measurement.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ["EXPOTION_CACHE_DIR"] = "off"  # every clip analysed in both runs

import ray  # noqa: E402

from studio.batch import stages  # noqa: E402
from studio.batch.folders import staging_folder  # noqa: E402
from studio.batch.inputs import JobDefaults, read_jobs  # noqa: E402
from studio.batch.jobs import with_defaults  # noqa: E402
from studio.batch.runner import BatchOptions, run_batch  # noqa: E402
from studio.demo import scenarios  # noqa: E402

BUILDERS = (scenarios.face_clip, scenarios.no_face_clip, scenarios.cut_clip, scenarios.black_gap_clip)
FORMATS = ("audio", "midi", "markers")
STAGES = ("analyse", "generate", "export")


def make_clips(folder: Path, count: int, seconds: float) -> None:
    """``count`` clips of ``seconds`` at 320x240, cycling through the scenario builders."""
    for index in range(count):
        builder = BUILDERS[index % len(BUILDERS)]
        extra = {"cut_time": seconds / 2} if builder is scenarios.cut_clip else {}
        if builder is scenarios.black_gap_clip:
            extra = {"gap": (seconds * 0.4, seconds * 0.6)}
        builder(folder / f"clip{index:02d}.mp4", size=(320, 240), duration=seconds, **extra)


def sequential(jobs: list, out: Path) -> tuple[float, dict[str, list[float]], dict[str, list[float]], float]:
    """Score ``jobs`` one after another here: wall seconds, wall and CPU seconds per stage and clip, video seconds."""
    wall: dict[str, list[float]] = {s: [] for s in STAGES}
    cpu: dict[str, list[float]] = {s: [] for s in STAGES}
    video = 0.0
    started = time.perf_counter()
    for job in jobs:
        staging = staging_folder(out, job.name)
        tick = time.process_time()
        analysed = stages.analyse(job)
        cpu["analyse"].append(time.process_time() - tick)
        session, controls = analysed.value
        video += controls.duration
        tick = time.process_time()
        generated = stages.generate(session, controls, staging)
        cpu["generate"].append(time.process_time() - tick)
        tick = time.process_time()
        exported = stages.export(generated.value, staging, out, job.name)
        cpu["export"].append(time.process_time() - tick)
        for stage, timed in zip(STAGES, (analysed, generated, exported), strict=True):
            wall[stage].append(timed.seconds)
    return time.perf_counter() - started, wall, cpu, video


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="expotion-batch-bench-") as temp:
        root = Path(temp)
        (root / "videos").mkdir()
        make_clips(root / "videos", args.clips, args.seconds)
        (root / "warm").mkdir()
        make_clips(root / "warm", args.cpus, args.seconds)
        jobs = [with_defaults(j, FORMATS, 48000) for j in read_jobs(root / "videos", JobDefaults(formats=FORMATS))]
        warm = [with_defaults(j, FORMATS, 48000) for j in read_jobs(root / "warm", JobDefaults(formats=FORMATS))]

        warm_seq = sequential(warm[:1], root / "warm-one-process")[0]
        seq_wall, seq_costs, seq_cpu, video = sequential(jobs, root / "one-process")
        started = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - started
        try:
            warm_ray = run_batch(warm, BatchOptions(root / "warm-ray")).wall_s
            started = time.perf_counter()
            result = run_batch(jobs, BatchOptions(root / "ray"))
            ray_wall = time.perf_counter() - started
        finally:
            ray.shutdown()
        done = [c for c in result.clips if c.status == "done"]
        if len(done) != len(jobs):
            print("some clips failed:", [c.error for c in result.clips if c.error])
            return 1
        ray_costs = {s: [c.timings[f"{s}_s"] for c in done] for s in STAGES}

    def row(label: str, one: str, many: str) -> None:
        print(f"{label:<28}{one:>16}{many:>22}")

    print(f"{args.clips} clips of {args.seconds:.1f} s (320x240, {video:.1f} s of video), formats {', '.join(FORMATS)}")
    row("", "one process", f"Ray local ({args.cpus} CPUs)")
    row("start s (not counted)", "", f"{ray_start:.1f}")
    row("warm-up s (not counted)", f"{warm_seq:.1f} (1 clip)", f"{warm_ray:.1f} ({len(warm)} clips)")
    row("wall s (clips)", f"{seq_wall:.1f}", f"{ray_wall:.1f}")
    row("clips / min", f"{len(jobs) / seq_wall * 60:.2f}", f"{len(jobs) / ray_wall * 60:.2f}")
    row("x real time", f"{video / seq_wall:.2f}", f"{video / ray_wall:.2f}")
    for stage in STAGES:
        row(f"{stage} s / clip (wall)", f"{mean(seq_costs[stage]):.2f}", f"{mean(ray_costs[stage]):.2f}")
    for stage in STAGES:
        row(f"{stage} CPU-s / clip", f"{mean(seq_cpu[stage]):.2f}", "")
    print(f"Ray / one process throughput: {seq_wall / ray_wall:.2f}x (start and warm-up not counted)")

    per_clip = sum(mean(seq_cpu[s]) for s in STAGES)
    print()
    print(f"scaling model: {per_clip:.2f} CPU-s per clip (the one-process run's CPU time), stages spread over "
          f"every core: N nodes of {args.cpus} cores score N x {args.cpus} / {per_clip:.2f} clips per second")
    print(f"{'nodes':<8}{'cores':>8}{'clips / min':>14}{'x real time':>14}")
    for nodes in (1, 2, 4, 8, 16):
        rate = nodes * args.cpus / per_clip
        print(f"{nodes:<8}{nodes * args.cpus:>8}{rate * 60:>14.1f}{rate * video / len(jobs):>14.2f}")
    print(f"measured here (1 node): {len(jobs) / ray_wall * 60:.1f} clips/min with Ray, "
          f"{len(jobs) / seq_wall * 60:.1f} in one process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
