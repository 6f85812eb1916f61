"""Hit timing on the generated sync set, beside the previous release's method, and what
the procedural engine makes of the hits.

    .venv/bin/python benchmarks/sync.py [--seeds 0 1] [--preset cinematic] [--skip-music]

Builds the sync set (studio/demo/sync_set.py: jolts, gestures, expression changes, hard
cuts and cuts within one scene on known, irregular frames at 10, 12.5, 25 and 29.97 fps,
half of the clips analysed from an in point) and analyses each clip once. Prints, for the
current analysis and for the previous release's method (hit at the peak of the motion
novelty or the half-height edge of the expression novelty on the analysed frames, cuts
from colour histograms of consecutive analysed frames placed half-way between them,
strength = novelty height and 2.0 for a cut; re-implemented below on the same curves):
recall within 40 ms (and within 100 ms, one analysed frame), median |hit - event| and
mean signed error (negative = early),
same-scene cut recall (found as a cut), how often a cut outranks a motion/expression hit
of the same clip, hits per event, and how often a found motion/expression event is named
with its cause.

Then the full chain: the procedural engine scores each clip's controls, and an
independent onset detector (librosa.onset.onset_detect with backtracking) listens to the
mix: the share of strong hits (strength >= 0.6) with an onset within 40 ms (of all, and of
those the engine selected, as its take reports them), the share of accent onsets (those
within 40 ms of a hit) and of all onsets within 20 ms of the take's 16th-note grid, and
flams (two onsets less than 90 ms apart). The same figures follow for the previous
release's engine (``--previous REV``, default the commit before strong hits were always
marked: its expotion_engine/ from ``git archive``, run in a subprocess on the same
analysed controls), which thinned every hit to the preset's density.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: the engine the music figures run on: this checkout, or (in the subprocess) the previous release's tree
ENGINE_ROOT = Path(os.environ.get("EXPOTION_SYNC_ENGINE_ROOT") or ROOT)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ENGINE_ROOT))

import expotion_engine.controls.build as control_build  # noqa: E402
from expotion_engine.media.reader import iter_frames  # noqa: E402
from expotion_engine.types import ControlTrack, Marker  # noqa: E402
from expotion_engine.vision import AnalysisSettings  # noqa: E402
from expotion_engine.vision.analyze import analyze_video  # noqa: E402
from studio.demo.sync_set import SyncClip, SyncEvent, build_sync_set  # noqa: E402

#: the engine before strong hits were always marked (hits thinned to the density, strongest first)
PREVIOUS = "b224a5c7d4b6c94f7ea045efc56fbbc3a3a272c4"
TOLERANCE = 0.040
NEAR = 0.100
STRONG = 0.6
GRID_TOLERANCE = 0.020
FLAM = 0.090


# --------------------------------------------------------------------------- previous method


def _previous_histograms(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    thumb = cv2.resize(rgb, (160, max(rgb.shape[0] * 160 // rgb.shape[1], 8)), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(cv2.resize(rgb, (320, max(rgb.shape[0] * 320 // rgb.shape[1], 8))), cv2.COLOR_RGB2GRAY)
    hsv = cv2.cvtColor(thumb, cv2.COLOR_RGB2HSV)
    colour = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    luma = cv2.calcHist([gray], [0], None, [32], [0, 256])
    return cv2.normalize(colour, colour, 1.0, 0.0, cv2.NORM_L1), cv2.normalize(luma, luma, 1.0, 0.0, cv2.NORM_L1)


def _previous_cuts(path: Path, start: float, end: float, rate: float) -> list[float]:
    """Cuts as the previous release found them: histograms of consecutive analysed frames."""
    cuts, previous, previous_time = [], None, 0.0
    for frame in iter_frames(path, start=start, end=end, rate=rate):
        hist = _previous_histograms(frame.rgb)
        if previous is not None:
            pairs = zip(previous, hist, strict=True)
            distance = max(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA) for a, b in pairs)
            if distance > 0.35:
                cuts.append(0.5 * (previous_time + frame.time) - start)
        previous, previous_time = hist, frame.time
    return cuts


def _previous_hits(motion: np.ndarray, expression: np.ndarray, rate: float, cuts: list[float]) -> list[Marker]:
    """The previous release's detect_hits: slope peaks, half-height expression edges, fixed cut strength."""
    from scipy.signal import find_peaks

    threshold, spacing = 1.0, 0.4
    found = []
    for curve, kind in ((motion, "motion"), (expression, "expression")):
        peaks, props = find_peaks(curve, height=threshold, distance=max(int(round(spacing * rate)), 1))
        for peak, height in zip(peaks, props["peak_heights"], strict=True):
            index = int(peak)
            if kind == "expression":
                while index > 0 and curve[index - 1] >= 0.5 * curve[peak]:
                    index -= 1
            found.append((index / rate, kind, float(height)))
    found += [(c, "cut", 2.0) for c in cuts]
    kept: list[tuple[float, str, float]] = []
    for hit in sorted(found, key=lambda h: (h[1] != "cut", -h[2])):
        if all(abs(hit[0] - other[0]) >= spacing for other in kept):
            kept.append(hit)
    return [Marker(t, f"{k} {i}", "hit", strength=s, cause=k) for i, (t, k, s) in enumerate(sorted(kept))]


# --------------------------------------------------------------------------- figures


@dataclass
class Tally:
    """Matches of hits to events over the set."""

    errors: list[float]
    events: int = 0
    near: int = 0
    same_scene: int = 0
    same_scene_found: int = 0
    rank_pairs: int = 0
    rank_wins: int = 0
    hits: int = 0
    moves: int = 0
    moves_named: int = 0

    def add(self, events: tuple[SyncEvent, ...], hits: list[Marker]) -> None:
        times = np.array([h.time for h in hits])
        self.hits += len(hits)
        cut_strengths, move_strengths = [], []
        for event in events:
            self.events += 1
            j = int(np.argmin(np.abs(times - event.time))) if len(times) else -1
            found = j >= 0 and abs(times[j] - event.time) <= TOLERANCE
            self.near += bool(j >= 0 and abs(times[j] - event.time) <= NEAR)
            if found:
                self.errors.append(float(times[j] - event.time))
                (cut_strengths if event.cause == "cut" else move_strengths).append(hits[j].strength)
                if event.cause != "cut":
                    self.moves += 1
                    self.moves_named += hits[j].cause == event.cause
            if event.same_scene:
                self.same_scene += 1
                self.same_scene_found += bool(found and hits[j].cause == "cut")
        for c in cut_strengths:
            for m in move_strengths:
                self.rank_pairs += 1
                self.rank_wins += c > m

    def row(self, name: str) -> str:
        e = np.array(self.errors) * 1000.0
        recall = len(e) / max(self.events, 1)
        near = 100 * self.near / max(self.events, 1)
        return (f"{name:<22} {100 * recall:6.1f} % {near:6.1f} %  {np.median(np.abs(e)) if len(e) else np.nan:7.1f} ms "
                f"{e.mean() if len(e) else np.nan:+8.1f} ms  {self.same_scene_found:3d}/{self.same_scene:<3d}    "
                f"{100 * self.rank_wins / max(self.rank_pairs, 1):6.1f} %   {self.hits / max(self.events, 1):5.2f}  "
                f"{100 * self.moves_named / max(self.moves, 1):10.1f} %")


def analyse(clip: SyncClip) -> tuple[ControlTrack, list[Marker], float]:
    """The current analysis of ``clip`` and the previous method's hits on the same curves; seconds taken."""
    captured = {}
    real = control_build.detect_hits

    def spy(motion, expression, rate, activity, **kwargs):
        captured.update(motion=motion, expression=expression, rate=rate)
        return real(motion, expression, rate, activity, **kwargs)

    control_build.detect_hits = spy
    try:
        started = time.perf_counter()
        track = analyze_video(clip.clip.path, AnalysisSettings(start=clip.start or None))
        seconds = time.perf_counter() - started
    finally:
        control_build.detect_hits = real
    source = track.source
    cuts = _previous_cuts(clip.clip.path, source.start, source.end, 10.0)
    previous = _previous_hits(captured["motion"], captured["expression"], captured["rate"], cuts)
    return track, previous, seconds


def music_figures(tracks: list[ControlTrack], preset_name: str, label: str = "current engine") -> None:
    """Score every track with the procedural engine and measure the mixes with librosa."""
    import librosa

    from expotion_engine.engines import get_engine
    from expotion_engine.types import GenerationRequest
    from studio.presets import load_preset

    engine = get_engine("procedural")
    preset = load_preset(preset_name).table
    strong = strong_heard = chosen = chosen_heard = accents = accents_on_grid = onsets_total = onsets_on_grid = 0
    flams = 0
    started = time.perf_counter()
    for seed, track in enumerate(tracks):
        take = engine.generate(GenerationRequest(controls=track, preset=preset, seed=seed, sample_rate=44100))
        mono = take.mix.mean(axis=0)
        onsets = librosa.onset.onset_detect(y=mono, sr=take.sample_rate, hop_length=256, backtrack=True,
                                            units="time")
        hits = [m for m in track.markers if m.kind == "hit"]
        for hit in hits:
            if hit.strength >= STRONG:
                strong += 1
                strong_heard += bool(len(onsets) and np.min(np.abs(onsets - hit.time)) <= TOLERANCE)
        for hit in take.info.get("hit_fit", {}).get("per_hit", []):
            if float(hit.get("strength", 0.0)) >= STRONG:
                chosen += 1
                chosen_heard += bool(len(onsets) and np.min(np.abs(onsets - float(hit["event"]))) <= TOLERANCE)
        beats = np.arange(0.0, take.tempo_map.beat_at(track.duration) + 0.25, 0.25)
        grid = np.array([take.tempo_map.time_at(b) for b in beats])
        hit_times = np.array([h.time for h in hits])
        for onset in onsets:
            on_grid = np.min(np.abs(grid - onset)) <= GRID_TOLERANCE
            onsets_total += 1
            onsets_on_grid += on_grid
            if len(hit_times) and np.min(np.abs(hit_times - onset)) <= TOLERANCE:
                accents += 1
                accents_on_grid += on_grid
        flams += int(np.sum(np.diff(onsets) < FLAM))
    print(f"\n{label}: procedural engine, preset {preset_name!r}, {len(tracks)} takes in "
          f"{time.perf_counter() - started:.0f} s; onsets by librosa.onset.onset_detect(backtrack=True, hop 256)")
    print(f"  strong hits (>= {STRONG}) with an onset within 40 ms: {strong_heard}/{strong} "
          f"({100 * strong_heard / max(strong, 1):.1f} %)")
    print(f"  ... of those the engine marked (take's per_hit):    {chosen_heard}/{chosen} "
          f"({100 * chosen_heard / max(chosen, 1):.1f} %)")
    print(f"  accent onsets within 20 ms of the 16th grid:        {accents_on_grid}/{accents} "
          f"({100 * accents_on_grid / max(accents, 1):.1f} %)")
    print(f"  all onsets within 20 ms of the 16th grid:           {onsets_on_grid}/{onsets_total} "
          f"({100 * onsets_on_grid / max(onsets_total, 1):.1f} %)")
    print(f"  flams (two onsets < 90 ms apart):                   {flams}")


def previous_music_figures(tracks: list[ControlTrack], preset_name: str, rev: str) -> None:
    """The music figures of the engine at ``rev`` (its expotion_engine/ and studio/ from git archive) on ``tracks``."""
    with tempfile.TemporaryDirectory(prefix="expotion-sync-previous-") as folder:
        tree = Path(folder) / "tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "expotion_engine", "studio", "presets"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        data = Path(folder) / "tracks"
        for index, track in enumerate(tracks):  # the ControlTrack's own files (NPZ + JSON, the same format then)
            track.save(data / f"track_{index:03d}")
        env = {**os.environ, "EXPOTION_SYNC_ENGINE_ROOT": str(tree)}
        subprocess.run([sys.executable, __file__, "--music-only", str(data), "--preset", preset_name,
                        "--label", f"previous release ({rev[:7]})"], check=True, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="sync set seeds (8 clips each)")
    parser.add_argument("--preset", default="cinematic", help="preset for the engine run")
    parser.add_argument("--skip-music", action="store_true", help="only the analysis figures")
    parser.add_argument("--previous", default=PREVIOUS, help="git revision of the previous engine ('' skips it)")
    parser.add_argument("--music-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--label", default="current engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.music_only:
        tracks = [ControlTrack.load(path) for path in sorted(args.music_only.glob("track_*.npz"))]
        music_figures(tracks, args.preset, args.label)
        return 0
    with tempfile.TemporaryDirectory(prefix="expotion-sync-") as folder:
        started = time.perf_counter()
        clips = build_sync_set(folder, seeds=args.seeds)
        built = time.perf_counter() - started
        current, previous = Tally([]), Tally([])
        tracks, seconds, video = [], 0.0, 0.0
        for clip in clips:
            track, old, took = analyse(clip)
            events = clip.expected(track.source.start)
            current.add(events, [m for m in track.markers if m.kind == "hit"])
            previous.add(events, old)
            tracks.append(track)
            seconds += took
            video += track.duration
        n_events = current.events
        print(f"sync set: {len(clips)} clips, {video:.0f} s of video, {n_events} events "
              f"({current.same_scene} cuts within one scene); built in {built:.0f} s, analysed at "
              f"{video / seconds:.1f}x real time (320x240)")
        print(f"{'method':<22} {'40 ms':>8} {'100 ms':>8}  {'median|e|':>9} {'mean e':>11}  {'same-scene':>10}  "
              f"{'cut>move':>8}  {'hits/event':>10}  {'cause right':>11}")
        print(current.row("current (event time)"))
        print(previous.row("previous (slope peak)"))
        if not args.skip_music:
            music_figures(tracks, args.preset)
            if args.previous:
                previous_music_figures(tracks, args.preset, args.previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
