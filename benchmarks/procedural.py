"""Procedural engine speed and memory.

    .venv/bin/python benchmarks/procedural.py [--minutes 1 10] [--preset cinematic] [--voices synth|preset]

For each length, a fresh process composes and renders a synthetic ControlTrack (energy
swelling and falling, hits every few seconds) with the procedural engine and reports
render speed as a multiple of real time (wall clock, and per core from the CPU time the
process used, which other work on the machine does not inflate as much), the peak RSS and
how far the stems null against the mix. ``--voices synth`` (the default) plays every part
on the synthesiser, the path the 20x-real-time goal is for; ``preset`` uses the preset's
own voices (SoundFont samples where it asks for them: ``benchmarks/sampled.py`` compares the
two). Beside it, a baseline measured in the same run: computing a plain numpy stereo sine of
the same length at 48 kHz and writing it to a WAV file, and the ratio of the engine's time
to that baseline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 48000

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from expotion_engine.engines.procedural import ProceduralEngine
from expotion_engine.types import GenerationRequest
from studio.presets import load_preset
from tests.factories import make_control_track

duration = {duration!r}
track = make_control_track(
    duration, energy=lambda t: 0.5 + 0.4 * np.sin(2 * np.pi * t / 45.0), valence=lambda t: np.sin(t / 30.0),
    hits=list(np.arange(4.0, duration - 4.0, 7.3)), seed=1,
)
table = load_preset({preset!r}).table
if {synth!r}:
    for part in table.get("parts", {{}}).values():
        part["voice"] = "synth"
request = GenerationRequest(controls=track, preset=table, seed=1, sample_rate={sr})
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
started, cpu_started = time.perf_counter(), cpu()
take = ProceduralEngine().generate(request)
seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
notes = sum(len(s.notes) for s in take.stems)
print(json.dumps({{"seconds": seconds, "cpu": cpu_seconds, "compose": take.timings["compose_s"], "notes": notes,
                   "null_db": take.info["render"].get("stems_null_db"),
                   "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def baseline_seconds(duration: float, folder: Path) -> float:
    """Wall time to compute a stereo 440 Hz sine of ``duration`` seconds and write it as a float WAV."""
    started = time.perf_counter()
    t = np.arange(int(round(duration * SAMPLE_RATE)), dtype=np.float64) / SAMPLE_RATE
    sine = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    sf.write(folder / "sine.wav", np.stack([sine, sine], axis=1), SAMPLE_RATE, subtype="FLOAT")
    return time.perf_counter() - started


def engine_run(duration: float, preset: str, synth: bool) -> dict:
    """Compose and render ``duration`` seconds in a fresh process; its timings and peak RSS."""
    code = CHILD.format(root=str(ROOT), duration=duration, preset=preset, sr=SAMPLE_RATE, synth=synth)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0], help="lengths to render")
    parser.add_argument("--preset", default="cinematic", help="preset to render with")
    parser.add_argument("--voices", choices=("synth", "preset"), default="synth",
                        help="synth: every part on the synthesiser (default); preset: the preset's own voices")
    args = parser.parse_args()
    print(f"procedural engine, preset {args.preset!r}, {args.voices} voices, {SAMPLE_RATE} Hz stereo")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            duration = minutes * 60.0
            base = baseline_seconds(duration, Path(tmp))
            run = engine_run(duration, args.preset, args.voices == "synth")
            print(
                f"{minutes:g} min: {duration / run['seconds']:6.1f}x real time "
                f"({run['seconds']:.1f} s, compose {run['compose']:.2f} s, {run['notes']} notes; "
                f"{run['cpu']:.1f} CPU s, {duration / run['cpu']:.1f}x real time per core), "
                f"peak RSS {run['rss_mb']:.0f} MB, stems null to {run['null_db']:.0f} dB; "
                f"sine+write baseline {duration / base:7.1f}x real time "
                f"(engine costs {run['seconds'] / base:5.1f}x the baseline)"
            )


if __name__ == "__main__":
    main()
