"""From a mix to a :class:`TempoMap`: envelopes, beats, steady segments, meter, map."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from expotion_engine.errors import AudioError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress
from expotion_engine.tempo.beats import track_beats
from expotion_engine.tempo.build import build_tempo_map
from expotion_engine.tempo.meter import estimate_meter
from expotion_engine.tempo.onsets import ANALYSIS_RATE, envelopes, to_analysis_rate
from expotion_engine.tempo.segments import segment_beats, timing_noise
from expotion_engine.types import TempoMap

log = logging.getLogger(__name__)

MIN_BEATS = 4
DEFAULT_BPM = 120.0


@dataclass(frozen=True, eq=False)
class TempoAnalysis:
    """The tempo map of a mix with the evidence it was built from.

    ``beats`` and ``downbeats`` are the detected times in seconds; ``info`` says how
    confident the estimate is (timing jitter, meter strength) or why there is none.
    """

    tempo_map: TempoMap
    beats: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    info: dict[str, Any] = field(default_factory=dict)


def _check(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim not in (1, 2) or array.size == 0:
        raise AudioError(f"Audio of shape {np.shape(audio)} is not (channels, samples) or (samples,).")
    if not np.all(np.isfinite(array)):
        raise AudioError("Audio contains NaN or infinite samples.")
    if not (isinstance(sample_rate, (int, np.integer)) and 1000 <= sample_rate <= 384000):
        raise AudioError(f"Sample rate {sample_rate!r} is not an integer between 1000 and 384000 Hz.")
    return array


def analyze_tempo(
    audio: np.ndarray,
    sample_rate: int,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> TempoAnalysis:
    """Beats, downbeats, meter and a smoothed :class:`TempoMap` of ``audio``.

    Audio with too few beats to measure (silence, a drone) gets a constant 120 BPM 4/4
    map and ``info["note"]`` saying so, never an invented grid presented as detected.
    """
    report = progress or no_progress
    started = time.perf_counter()
    array = _check(audio, sample_rate)
    report(0.0, "onsets")
    y = to_analysis_rate(array, sample_rate)
    env = envelopes(y)
    check_cancel(cancel)
    report(0.4, "beats")
    beats, path = track_beats(env.coarse, env.fine, env.bands[0])
    check_cancel(cancel)
    duration = len(y) / ANALYSIS_RATE
    if len(beats) < MIN_BEATS:
        note = f"only {len(beats)} beats found in {duration:.1f} s: no tempo detected, using {DEFAULT_BPM:g} BPM 4/4"
        log.warning(note)
        report(1.0, "no beat found")
        return TempoAnalysis(TempoMap.constant(DEFAULT_BPM), beats, np.zeros(0), 4, {"note": note})
    report(0.7, "tempo segments")
    segments = segment_beats(beats)
    meter = estimate_meter(beats, env)
    check_cancel(cancel)
    tempo_map = build_tempo_map(beats, segments, meter.beats_per_bar, meter.first_downbeat)
    downbeats = beats[meter.first_downbeat::meter.beats_per_bar]
    info = {
        "beats": len(beats),
        "tempo_changes": len(tempo_map.tempos),
        "timing_jitter_ms": round(timing_noise(beats) * 1000.0, 2),
        "meter": f"{meter.beats_per_bar}/4",
        "meter_strength": round(meter.strength, 3),
        "median_bpm": round(float(60.0 / np.median(np.diff(beats))), 2),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if not meter.detected:
        info["note"] = (f"no bar pattern above chance (meter strength {meter.strength:.3f}): 4/4 assumed, "
                        "bar 1 on the first beat")
    log.info("tempo map: %s", info)
    report(1.0, "tempo map")
    return TempoAnalysis(tempo_map, beats, downbeats, meter.beats_per_bar, info)


def estimate_tempo_map(
    audio: np.ndarray,
    sample_rate: int,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> TempoMap:
    """Just the :class:`TempoMap` of :func:`analyze_tempo`."""
    return analyze_tempo(audio, sample_rate, progress=progress, cancel=cancel).tempo_map


__all__ = ["TempoAnalysis", "analyze_tempo", "estimate_tempo_map"]
