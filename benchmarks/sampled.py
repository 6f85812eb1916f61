"""Sampled (SoundFont) voices against the synth voices: render speed of the same scores.

    .venv/bin/python benchmarks/sampled.py [--minutes 1] [--presets cinematic piano-solo ...]

In one fresh process: the bank the engine finds is loaded once (its load time and the memory it
takes are reported on their own) and every preset renders a short untimed take (one-time set-up),
then for each acoustic preset one score is composed from a synthetic ControlTrack and rendered
twice: every part forced to the synth voice, and with the preset's own voices (its sampled parts
from the bank). Speeds are multiples of real time; the
ratio of the two is measured in the same run, as is a plain numpy sine-and-write baseline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from procedural import baseline_seconds  # the same sine baseline as the synth benchmark (a sibling script)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 48000
PRESETS = ("cinematic", "orchestral-tension", "documentary", "piano-solo")

CHILD = """
import json, resource, sys, time
from dataclasses import replace
sys.path.insert(0, {root!r})
import numpy as np
from expotion_engine.engines.procedural import ProceduralEngine
from expotion_engine.engines.procedural.render import render_score
from expotion_engine.engines.procedural.render.sampled import voice_of
from expotion_engine.engines.procedural.render.soundfont import find_soundfont, load_bank
from expotion_engine.types import GenerationRequest
from studio.presets import load_preset
from tests.factories import make_control_track

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

duration = {duration!r}
bank = find_soundfont()
before = rss()
started = time.perf_counter()
load_bank(bank)
out = {{"bank": bank.name, "load": time.perf_counter() - started, "bank_mb": rss() - before, "presets": {{}}}}
track = make_control_track(
    duration, energy=lambda t: 0.5 + 0.4 * np.sin(2 * np.pi * t / 45.0), valence=lambda t: np.sin(t / 30.0),
    hits=list(np.arange(4.0, duration - 4.0, 7.3)), seed=1,
)
def both(name, track):
    request = GenerationRequest(controls=track, preset=load_preset(name).table, seed=1, sample_rate={sr})
    score = ProceduralEngine().compose(request)
    return replace(score, parts=tuple(replace(p, voice="synth") for p in score.parts)), score

for name in {presets!r}:  # untimed short takes first: one-time set-up (filters, level calibration) is not counted
    for score in both(name, make_control_track(8.0, seed=1)):
        render_score(score, {sr})
for name in {presets!r}:
    synth, score = both(name, track)
    row = {{"sampled_parts": [p.name for p in score.parts if voice_of(p) == "sampled"]}}
    for label, which in (("synth", synth), ("sampled", score)):
        started = time.perf_counter()
        render_score(which, {sr})
        row[label] = time.perf_counter() - started
    out["presets"][name] = row
out["rss_mb"] = rss()
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0, help="length of each take")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), help="presets to render both ways")
    args = parser.parse_args()
    duration = args.minutes * 60.0
    code = CHILD.format(root=str(ROOT), duration=duration, presets=list(args.presets), sr=SAMPLE_RATE)
    run = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_seconds(duration, Path(tmp))
    print(f"sampled vs synth voices, {args.minutes:g} min takes, {SAMPLE_RATE} Hz stereo")
    print(f"bank {result['bank']}: loaded in {result['load']:.1f} s, {result['bank_mb']:.0f} MB resident "
          f"(once per process); peak RSS {result['rss_mb']:.0f} MB")
    for name, row in result["presets"].items():
        print(f"{name:<20} synth {duration / row['synth']:6.1f}x real time   sampled {duration / row['sampled']:6.1f}x "
              f"real time   sampled/synth time {row['sampled'] / row['synth']:4.2f}   "
              f"(sampled: {', '.join(row['sampled_parts']) or 'none'})")
    print(f"sine+write baseline {duration / base:7.1f}x real time")


if __name__ == "__main__":
    main()
