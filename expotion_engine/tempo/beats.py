"""Beat times of a mix: a smooth local-tempo path, dynamic-programming beats, fine timing.

1. Local tempo: librosa's autocorrelation tempogram (8 s windows, corrected for the
   window's own decay), scored on a 1 %-spaced BPM grid by a comb over the first four
   multiples of each beat period (so the level whose bars also repeat wins over the
   eighth-note level) and a log-normal prior around 120 BPM; a Viterbi path through it
   may drift freely but pays for jumps, so a ramp is followed and octave flips are not.
2. Beats: ``librosa.beat.beat_track`` with that time-varying tempo; missed single beats
   are filled in, an end beat on no onset at all is dropped, and the beats it trims at
   either end are put back while onsets keep arriving on time (and last beats that slipped
   onto off-beat hits of a loop cut at the end are put back on the grid). Where the kick and bass
   rise clearly more between the beats than on them (a fast rock backbeat taken at half
   tempo), the beats are tracked again at twice the tempo.
3. Timing: each beat moves to the strongest rise of a 2.9 ms onset envelope within
   ±7 % of a beat, with parabolic interpolation (beat_track's 11.6 ms grid alone
   misreads a 120 BPM click as 117.5).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from expotion_engine.tempo.onsets import ANALYSIS_RATE, FINE_HOP, HOP

MIN_BPM, MAX_BPM = 40.0, 240.0
LOOSE_TIGHTNESS = 100.0  # librosa's default: follows steps, but chases off-beat onsets
TIGHTNESS = 400.0  # the second pass, along the first pass's median tempo
MEDIAN_BEATS = 9
REACH = 0.07  # how far (in beats) refinement may move a beat
SLIP = 0.15  # an end interval this far off the steady period before it is a tracker slip, if onsets say so
COMB = (1, 2, 3, 4)
# The low band rising this many times more midway between tracked beats than on them means
# the tracker took every other beat (kick between its beats; the reference takes reach 1.0).
LOW_BETWEEN_RATIO = 1.4
# Seconds by which the fine envelope's peak trails a click's start (measured on clicks).
FINE_LAG = 0.0


def _window_decay(length: int) -> np.ndarray:
    window = scipy.signal.get_window("hann", length, fftbins=True)
    decay = np.correlate(window, window, mode="full")[length - 1:]
    return decay / decay[0]


def tempo_path(
    envelope: np.ndarray,
    frame_rate: float,
    *,
    window_s: float = 8.0,
    step_s: float = 0.25,
    jump_cost: float = 3.0,
    prior_bpm: float = 120.0,
) -> np.ndarray:
    """Local tempo in BPM for every frame of ``envelope`` (a smooth Viterbi path)."""
    import librosa

    win = max(int(round(window_s * frame_rate)), 16)
    gram = librosa.feature.tempogram(onset_envelope=envelope, sr=frame_rate * HOP, hop_length=HOP,
                                     win_length=win, norm=None)
    gram = gram / np.maximum(_window_decay(win)[:, None], 0.2)
    gram = gram / np.maximum(gram.max(axis=0, keepdims=True), 1e-9)
    bpms = np.exp(np.arange(np.log(MIN_BPM), np.log(MAX_BPM), np.log(1.01)))
    lag = 60.0 * frame_rate / bpms
    step = max(int(round(step_s * frame_rate)), 1)
    columns = np.arange(0, gram.shape[1], step)
    lags = np.arange(gram.shape[0])
    sampled = gram[:, columns]
    salience = np.zeros((len(bpms), len(columns)))
    for multiple in COMB:
        salience += np.stack([np.interp(multiple * lag, lags, sampled[:, j], right=0.0)
                              for j in range(len(columns))], axis=1)
    prior = np.exp(-0.5 * np.log2(bpms / prior_bpm) ** 2)[:, None]
    emission = np.log(np.maximum(salience / len(COMB) * prior, 1e-6))
    transition = -jump_cost * np.abs(np.log2(bpms[:, None] / bpms[None, :]))
    score = emission[:, 0].copy()
    back = np.zeros(emission.shape, dtype=np.int32)
    for j in range(1, emission.shape[1]):
        candidates = score[None, :] + transition
        back[:, j] = candidates.argmax(axis=1)
        score = candidates.max(axis=1) + emission[:, j]
    path = np.empty(emission.shape[1], dtype=np.int64)
    path[-1] = int(score.argmax())
    for j in range(emission.shape[1] - 1, 0, -1):
        path[j - 1] = back[path[j], j]
    return np.interp(np.arange(len(envelope)), columns, bpms[path])


def dp_beats(envelope: np.ndarray, bpm_path: np.ndarray, frame_rate: float, tightness: float) -> np.ndarray:
    """Beat times (s) from librosa's dynamic-programming tracker, following ``bpm_path``."""
    import librosa

    if not np.any(envelope > 0):
        return np.zeros(0)
    _, frames = librosa.beat.beat_track(onset_envelope=envelope, sr=frame_rate * HOP, hop_length=HOP,
                                        bpm=bpm_path, tightness=tightness, units="frames")
    return np.asarray(frames, dtype=np.float64) / frame_rate


def beat_tempo_path(beats: np.ndarray, n_frames: int, frame_rate: float, fallback: np.ndarray) -> np.ndarray:
    """Per-frame tempo from beat intervals, median-filtered over :data:`MEDIAN_BEATS` beats.

    A median keeps a real step sharp and a ramp intact but removes a tracker's brief
    phase slip (a few short or long intervals in a row).
    """
    import scipy.ndimage

    if len(beats) < 3:
        return fallback
    bpm = scipy.ndimage.median_filter(60.0 / np.diff(beats), size=MEDIAN_BEATS, mode="nearest")
    frames = np.arange(n_frames) / frame_rate
    which = np.clip(np.searchsorted(beats, frames, side="right") - 1, 0, len(bpm) - 1)
    return bpm[which]


def refine(beats: np.ndarray, fine: np.ndarray, fine_rate: float) -> np.ndarray:
    """Move each beat to the strongest nearby rise of ``fine`` (sub-frame, parabolic)."""
    if len(beats) < 2:
        return beats.copy()
    out = beats.copy()
    periods = np.diff(beats)
    local = np.concatenate([[periods[0]], np.minimum(periods[:-1], periods[1:]), [periods[-1]]])
    for i, (t, period) in enumerate(zip(beats, local, strict=True)):
        reach = int(round(REACH * period * fine_rate))
        centre = int(round(t * fine_rate))
        lo, hi = max(centre - reach, 0), min(centre + reach + 1, len(fine) - 1)
        if hi <= lo:
            continue
        k = lo + int(np.argmax(fine[lo:hi]))
        if fine[k] <= 0:
            continue
        a, b, c = fine[max(k - 1, 0)], fine[k], fine[k + 1]
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom < 0 and k > 0 else 0.0
        out[i] = (k + float(np.clip(offset, -0.5, 0.5))) / fine_rate - FINE_LAG
    return np.maximum.accumulate(out)


def _peak_near(t: float, period: float, fine: np.ndarray, fine_rate: float) -> tuple[float, float]:
    """``(time, strength)`` of the strongest rise of ``fine`` within ±7 % of a period of ``t``."""
    reach = max(int(round(REACH * period * fine_rate)), 1)
    centre = int(round(t * fine_rate))
    lo, hi = max(centre - reach, 0), min(centre + reach + 1, len(fine))
    if hi <= lo:
        return t, 0.0
    k = lo + int(np.argmax(fine[lo:hi]))
    return k / fine_rate, float(fine[k])


def extend(beats: np.ndarray, fine: np.ndarray, fine_rate: float, *, min_ratio: float = 0.3,
           silent_ratio: float = 0.05) -> np.ndarray:
    """Mend the tracker's ends: drop end beats on no onset, add the beats it trimmed while onsets keep coming on time.

    An end beat is dropped when the envelope within reach of it rises less than
    ``silent_ratio`` times as much as at a typical tracked beat: no onset at all (the
    tracker's last beat can fall 0.1-0.2 s short of the last click, out of :func:`refine`'s
    reach, and would read as a tempo change; a quiet hi-hat beat still rises 0.14 times as
    much). A beat one period before the first (after the last) is added when the envelope
    there rises at least ``min_ratio`` times as much as at a typical beat.
    """
    if len(beats) < 4:
        return beats
    typical = float(np.median([_peak_near(t, p, fine, fine_rate)[1] for t, p in
                               zip(beats[1:], np.diff(beats), strict=True)]))
    out = list(beats)
    while len(out) > 4 and _peak_near(out[-1], out[-2] - out[-3], fine, fine_rate)[1] < silent_ratio * typical:
        out.pop()
    while len(out) > 4 and _peak_near(out[0], out[2] - out[1], fine, fine_rate)[1] < silent_ratio * typical:
        out.pop(0)
    while True:
        period = float(np.median(np.diff(out[:5])))
        guess = out[0] - period
        if guess < -REACH * period:
            break
        t, strength = _peak_near(max(guess, 0.0), period, fine, fine_rate)
        if strength < min_ratio * typical or t >= out[0] - 0.5 * period:
            break
        out.insert(0, t)
    return np.asarray(_extend_end(out, fine, fine_rate, min_ratio * typical))


def _extend_end(beats: list[float], fine: np.ndarray, fine_rate: float, min_rise: float) -> list[float]:
    """``beats`` with a beat added one period after the last while the envelope rises at least ``min_rise`` there."""
    out = list(beats)
    duration = len(fine) / fine_rate
    while True:
        period = float(np.median(np.diff(out[-5:])))
        guess = out[-1] + period
        if guess > duration:
            break
        t, strength = _peak_near(guess, period, fine, fine_rate)
        if strength < min_rise or t <= out[-1] + 0.5 * period:
            break
        out.append(t)
    return out


def mend_tail(beats: np.ndarray, fine: np.ndarray, fine_rate: float, *, min_ratio: float = 0.05) -> np.ndarray:
    """Put the last beats back on the grid where the tracker slipped onto off-beat hits and onsets say so.

    When the last one or two intervals are over :data:`SLIP` off the steady period
    (:func:`_slipped_tail`), those beats and the one before them (pulled by them) are replaced
    by beats extended along the period, as :func:`extend` does, provided an onset (rising at
    least ``min_ratio`` times a typical beat's; a rock loop's hi-hat-only beat rises 0.15) comes
    on time at every beat as far as the slipped beats reached; a real change of tempo has none
    there and stays.
    """
    slipped = _slipped_tail(list(beats))
    if not slipped:
        return beats
    body = list(beats[:-slipped - 1])
    period = float(np.median(np.diff(body[-8:])))
    typical = float(np.median([_peak_near(t, period, fine, fine_rate)[1] for t in body[-8:]]))
    mended = _extend_end(body, fine, fine_rate, min_ratio * typical)
    if mended[-1] < beats[-1] - 0.5 * period:
        return beats
    return refine(np.asarray(mended), fine, fine_rate)


def _slipped_tail(beats: list[float]) -> int:
    """How many of the last two beats slipped off the steady grid before them (0 when none).

    On a loop cut at the end of the file the tracker can bunch its last beats onto off-beat
    hits (180 BPM rock: 18.97, 19.21, 19.50 s for 19.00, 19.33, 19.67), which would read as
    a 220 BPM tempo change: an interval ending on one of them is over :data:`SLIP` off the period.
    """
    if len(beats) < 8:
        return 0
    period = float(np.median(np.diff(beats[-11:-2])))
    off = np.abs(np.diff(beats[-3:]) / period - 1.0) > SLIP
    return 2 if off[0] else int(off[1])


def regularise(beats: np.ndarray) -> np.ndarray:
    """Fill single missed beats and drop doubled ones, judged against the local period."""
    if len(beats) < 4:
        return beats
    out = [beats[0]]
    for t in beats[1:]:
        recent = np.diff(out[-5:]) if len(out) >= 3 else np.diff(beats[:5])
        period = float(np.median(recent))
        gap = t - out[-1]
        if gap < 0.55 * period:
            continue
        steps = int(round(gap / period))
        if steps >= 2 and abs(gap / steps - period) < 0.1 * period:
            out.extend(out[-1] + gap * np.arange(1, steps) / steps)
        out.append(t)
    return np.asarray(out)


def low_between_beats(beats: np.ndarray, low: np.ndarray, frame_rate: float) -> float:
    """How much more the low band (kick, bass) rises midway between beats than on them (mean ratio)."""
    if len(beats) < 4 or not np.any(low > 0):
        return 0.0

    def peak(t: float, reach: float) -> float:
        lo, hi = int(max((t - reach) * frame_rate, 0)), int(min((t + reach) * frame_rate + 1, len(low)))
        return float(low[lo:hi].max()) if hi > lo else 0.0

    periods = np.diff(beats)
    on = np.mean([peak(t, 0.1 * p) for t, p in zip(beats[:-1], periods, strict=True)])
    between = np.mean([peak(t + p / 2, 0.1 * p) for t, p in zip(beats[:-1], periods, strict=True)])
    return between / on if on > 0 else 0.0


def track_beats(envelope: np.ndarray, fine: np.ndarray,
                low: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(beat times in s, local tempo path in BPM per coarse frame)`` of one mix.

    Where ``low`` (the kick and bass band) rises clearly more midway between the tracked beats
    than on them (:data:`LOW_BETWEEN_RATIO`), the tracker has taken every other beat (a fast
    rock backbeat read at half tempo): the beats are tracked again along twice the tempo.
    """
    frame_rate = ANALYSIS_RATE / HOP
    path = tempo_path(envelope, frame_rate)
    loose = dp_beats(envelope, path, frame_rate, LOOSE_TIGHTNESS)
    path = beat_tempo_path(loose, len(envelope), frame_rate, path)
    beats = dp_beats(envelope, path, frame_rate, TIGHTNESS)
    room = low is not None and 2 * float(np.median(path)) <= MAX_BPM
    if room and low_between_beats(beats, low, frame_rate) > LOW_BETWEEN_RATIO:
        path = 2 * path
        beats = dp_beats(envelope, path, frame_rate, TIGHTNESS)
    fine_rate = ANALYSIS_RATE / FINE_HOP
    beats = refine(extend(regularise(beats), fine, fine_rate), fine, fine_rate)
    return mend_tail(beats, fine, fine_rate), path


__all__ = ["dp_beats", "low_between_beats", "mend_tail", "refine", "regularise", "tempo_path", "track_beats"]
