"""How the procedural engine's takes sound, measured per preset beside thresholds.

    .venv/bin/python benchmarks/musicality.py [--seed 1] [--rate 44100] [--preset NAME ...] [--no-demo]

Renders every preset (one seed) on two sets of controls: the demo video's analysis
(studio/demo/demo.mp4, analysed once and cached) and a 60 s synthetic clip whose energy,
valence and motion vary (a calm opening, a swell to a peak, a dip, a second rise, a fade;
hits every ~7 s). For each take it prints a markdown table: melody notes per second,
distinct 4-bar chord blocks, sections and distinct section textures, the share of drum
notes that are hit accents, the key a Krumhansl-Schmuckler finder hears on the audio's
chroma against the declared key and mode, the tempo librosa's beat tracker hears against
the tempo map (half or double counts as a miss), side-to-mid ratio, median spectral
flatness, pulse clarity, energy above 10 kHz and the largest note overlap (Jaccard of
pitched notes on the beat grid) with any other preset at the same seed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from expotion_engine.engines.procedural import musicality as m  # noqa: E402
from expotion_engine.engines.procedural.engine import ProceduralEngine  # noqa: E402
from expotion_engine.engines.procedural.harmony import parse_tonic  # noqa: E402
from expotion_engine.types import ControlTrack, GenerationRequest  # noqa: E402
from studio.presets import list_presets  # noqa: E402
from tests.factories import make_control_track  # noqa: E402

#: (column, threshold text) printed in the table's second row
COLUMNS = (
    ("preset", ""), ("declared", ""), ("heard", "same tonic"), ("map BPM", ""), ("heard BPM", "within 4 %"),
    ("melody n/s", ">= 1"), ("4-bar blocks", ">= 3 in 60 s"), ("sections", ">= 3 in 60 s"),
    ("textures", ">= 3 in 60 s"), ("hit share of drums", "<= 0.25"), ("side/mid dB", "-12..-2"),
    ("flatness dB", "real -30"), ("pulse clarity", "real 0.35-0.65"), (">10 kHz dB", "real -36"),
    ("max Jaccard", "<= 0.30"), ("render x RT", ""),
)


def varied_controls(duration: float = 60.0) -> ControlTrack:
    """A 60 s ControlTrack whose energy, valence and motion move through a calm opening, a swell, a dip,
    a second rise and a fade, with hits every ~7 s."""
    def energy(t: np.ndarray) -> np.ndarray:
        return np.interp(t, [0, 8, 20, 28, 34, 46, 54, 60], [0.2, 0.3, 0.8, 0.85, 0.4, 0.9, 0.5, 0.3])

    def valence(t: np.ndarray) -> np.ndarray:
        return 0.3 * np.sin(2 * np.pi * t / 40.0)

    return make_control_track(duration, energy=energy, valence=valence,
                              hits=list(np.arange(5.3, duration - 4.0, 7.1)), seed=3)


def demo_controls() -> ControlTrack:
    """The demo video's analysis (cached after the first run)."""
    from studio.analysis import analyze

    return analyze(ROOT / "studio" / "demo" / "demo.mp4")


def measure(name: str, table: dict, controls: ControlTrack, seed: int, rate: int) -> dict:
    """Render one preset on ``controls`` and measure it."""
    engine = ProceduralEngine()
    request = GenerationRequest(controls=controls, preset=table, seed=seed, sample_rate=rate)
    started = time.perf_counter()
    take = engine.generate(request)
    seconds = time.perf_counter() - started
    score = engine.compose(request)
    key = m.estimate_key(take.mix, rate)
    heard = m.estimate_tempo(take.mix, rate)
    expected = m.map_tempo(score.tempo_map, float(score.info["cadence_time"]))
    return {
        "preset": name,
        "declared": f"{score.key} {score.mode}",
        "heard": key.name + (" ✓" if key.tonic == parse_tonic(score.key) else " ✗"),
        "map BPM": f"{expected:.1f}",
        "heard BPM": f"{heard:.1f}" + (" ✓" if m.tempo_agrees(heard, expected) else " ✗"),
        "melody n/s": f"{m.notes_per_second(score):.2f}",
        "4-bar blocks": str(m.chord_blocks(score)),
        "sections": str(len(score.info["sections"])),
        "textures": str(m.distinct_textures(score)),
        "hit share of drums": f"{m.hit_accent_fraction(score):.2f}",
        "side/mid dB": f"{m.side_to_mid_db(take.mix):.1f}",
        "flatness dB": f"{m.spectral_flatness_db(take.mix, rate):.1f}",
        "pulse clarity": f"{m.pulse_clarity(take.mix, rate):.2f}",
        ">10 kHz dB": f"{m.high_band_db(take.mix, rate):.1f}",
        "render x RT": f"{score.duration / seconds:.0f}",
        "_notes": m.note_set(score),
        "_ok": (key.tonic == parse_tonic(score.key), m.tempo_agrees(heard, expected)),
    }


def table(title: str, rows: list[dict]) -> str:
    """A markdown table of ``rows`` with the thresholds row under the header."""
    for row in rows:
        others = [m.jaccard(row["_notes"], o["_notes"]) for o in rows if o is not row]
        row["max Jaccard"] = f"{max(others, default=0.0):.2f}"
    lines = [f"**{title}**", "", "| " + " | ".join(c for c, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS),
             "| " + " | ".join(f"*{t}*" if t else "" for _, t in COLUMNS) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(row[c] for c, _ in COLUMNS) + " |")
    keys = sum(r["_ok"][0] for r in rows)
    tempos = sum(r["_ok"][1] for r in rows)
    lines += ["", f"tonic heard: {keys}/{len(rows)} (need >= 7/8); tempo heard: {tempos}/{len(rows)} (need >= 7/8)"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=int, default=44100, help="render rate (Hz; >10 kHz needs 44100)")
    parser.add_argument("--preset", nargs="*", help="only these presets")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo video")
    args = parser.parse_args()
    presets = [p for p in list_presets() if not args.preset or p.name in args.preset]
    clips = [("60 s clip, varied controls", varied_controls())]
    if not args.no_demo:
        clips.insert(0, ("demo video (16 s)", demo_controls()))
    for title, controls in clips:
        rows = [measure(p.name, p.table, controls, args.seed, args.rate) for p in presets]
        print(table(f"{title}, seed {args.seed}, {args.rate} Hz", rows))
        print()


if __name__ == "__main__":
    main()
