"""Stem separation speed and memory with the real htdemucs architecture (random weights).

    .venv/bin/python benchmarks/stems.py [--seconds 30] [--minutes 1 2 10] [--device cpu]

The model is HTDemucs built with htdemucs's published configuration (41.98 M parameters,
7.8 s segments), randomly initialised and saved in demucs's local model-folder layout, so
the run goes through Expotion's real loading and separation path.

Speed: seconds of 48 kHz stereo audio separated per second of wall time (x real time),
beside a baseline measured in the same run on the same audio: demucs's own
``apply_model(split=True)`` at the model's rate, which does no resampling and keeps a
whole-track output buffer. Memory: peak RSS of fresh processes separating tracks of
several lengths; the audio arrays (input, its 44.1 kHz copy and the four stems) grow with
the length, the working memory on top of them must not.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from expotion_engine.stems import separate  # noqa: E402

RATE = 48000
SIGNATURE = "955717e8"
HTDEMUCS = dict(sources=["drums", "bass", "other", "vocals"], dconv_mode=3, depth=4, t_layers=5, t_dropout=0.02,
                bottom_channels=512, segment=Fraction(39, 5))


def make_repo(folder: Path) -> Path:
    """A local model folder holding a random htdemucs-architecture checkpoint."""
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state, save_with_checksum

    torch.manual_seed(0)
    model = HTDemucs(**HTDEMUCS)
    args, kwargs = model._init_args_kwargs
    save_with_checksum({"klass": HTDemucs, "args": args, "kwargs": kwargs, "state": get_state(model, None)},
                       folder / f"{SIGNATURE}.th")
    (folder / "htdemucs.yaml").write_text(f"models: ['{SIGNATURE}']\n")
    print(f"htdemucs architecture: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters")
    return folder


def test_audio(seconds: float, rate: int = RATE) -> np.ndarray:
    """Stereo noise and tones (content does not change the compute of a random model)."""
    rng = np.random.default_rng(0)
    n = int(seconds * rate)
    t = np.arange(n, dtype=np.float32) / rate
    tone = 0.2 * np.sin(2 * np.pi * 110.0 * t)
    return (tone + 0.05 * rng.standard_normal((2, n), dtype=np.float32)).astype(np.float32)


def ours(repo: Path, seconds: float, device: str) -> float:
    audio = test_audio(seconds)
    started = time.perf_counter()
    separate(audio, RATE, model="htdemucs", repo=repo, device=device)
    return time.perf_counter() - started


def demucs_baseline(repo: Path, seconds: float, device: str) -> float:
    from demucs.apply import apply_model

    from expotion_engine.stems import load_model, locate_model

    model = load_model(locate_model("htdemucs", repo)).to(device)
    mix = torch.from_numpy(test_audio(seconds, 44100))
    started = time.perf_counter()
    apply_model(model, mix[None], shifts=0, split=True, overlap=0.25, device=device)
    return time.perf_counter() - started


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def child_memory(repo: Path, minutes: float) -> None:
    """In a fresh process: RSS sampled every 10 ms while separating ``minutes`` of audio.

    Reports the RSS once the model is loaded, the highest RSS after that (separation
    proper), the process's overall peak (which includes the model load), and the size of
    the audio arrays created after loading (the 44.1 kHz copy and the four stems).
    """
    audio = test_audio(minutes * 60.0)
    state = {"loaded": None, "peak": 0.0, "done": False}

    def sample() -> None:
        while not state["done"]:
            if state["loaded"] is not None:
                state["peak"] = max(state["peak"], rss_mb())
            time.sleep(0.01)

    def progress(fraction: float, message: str) -> None:
        if state["loaded"] is None and "loaded" in message:
            state["loaded"] = rss_mb()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    stems = separate(audio, RATE, model="htdemucs", repo=repo, device="cpu", progress=progress)
    seconds = time.perf_counter() - started
    state["done"] = True
    sampler.join()
    arrays = (audio.nbytes * 44100 / RATE + sum(s.audio.nbytes for s in stems)) / 2**20
    print(json.dumps({"minutes": minutes, "seconds": seconds, "loaded_mb": state["loaded"],
                      "separation_peak_mb": state["peak"], "arrays_mb": arrays,
                      "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure_memory(repo: Path, minutes: float) -> dict[str, float]:
    code = [sys.executable, __file__, "--child-memory", str(minutes), "--repo", str(repo)]
    out = subprocess.run(code, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio length for the speed test")
    parser.add_argument("--minutes", type=float, nargs="*", default=[0.5, 1.0, 2.0],
                        help="track lengths for the memory test (10 for the full claim; takes ~10 min on CPU)")
    parser.add_argument("--device", default="cpu", help="device for the speed test (cpu, cuda, mps)")
    parser.add_argument("--child-memory", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--repo", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory is not None:
        child_memory(args.repo, args.child_memory)
        return
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        print(f"torch threads: {torch.get_num_threads()}, device: {args.device}")
        ours(repo, 8.0, args.device)  # warm-up: first-call kernel setup
        base = demucs_baseline(repo, args.seconds, args.device)
        mine = ours(repo, args.seconds, args.device)
        print(f"speed, {args.seconds:g} s of 48 kHz stereo:")
        print(f"  demucs apply_model (baseline, 44.1 kHz input): {args.seconds / base:.2f}x real time "
              f"({base / args.seconds:.2f} s per audio s)")
        print(f"  expotion separate (resample + stream + sum check): {args.seconds / mine:.2f}x real time "
              f"({mine / args.seconds:.2f} s per audio s), {base / mine:.2f}x the baseline's speed")
        print("memory, fresh process per length (MB):")
        rows = [measure_memory(repo, m) for m in args.minutes]
        first = rows[0]
        first_working = first["separation_peak_mb"] - first["loaded_mb"] - first["arrays_mb"]
        for row in rows:
            working = row["separation_peak_mb"] - row["loaded_mb"] - row["arrays_mb"]
            print(f"  {row['minutes']:5.1f} min: process peak {row['process_peak_mb']:6.0f} (model load included), "
                  f"after load {row['loaded_mb']:5.0f}, separation peak {row['separation_peak_mb']:6.0f} = "
                  f"+{row['arrays_mb']:5.0f} audio arrays +{working:4.0f} working "
                  f"(working x{working / first_working:.2f} for length x{row['minutes'] / first['minutes']:.0f}); "
                  f"{row['minutes'] * 60 / row['seconds']:.2f}x real time")


if __name__ == "__main__":
    main()
