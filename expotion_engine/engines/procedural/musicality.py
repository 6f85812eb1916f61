"""Measures of how a take sounds to a listener: key and tempo heard in the audio, line density, form, stereo, spectrum.

Used by the musicality benchmark and tests; every measure takes plain audio or a Score so
it can be applied to any take (or to reference recordings) the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from expotion_engine.engines.procedural.harmony import NOTE_NAMES
from expotion_engine.engines.procedural.score import Score
from expotion_engine.types import Note, TempoMap

#: Krumhansl-Kessler key profiles (probe-tone ratings), C first
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
#: a tempo estimate within this fraction of the tempo map counts as agreement
TEMPO_TOLERANCE = 0.04
DRUM_CHANNEL = 9
#: the rate key and tempo are heard at
ANALYSIS_RATE = 22050


@dataclass(frozen=True)
class KeyEstimate:
    """The key a listener would name: tonic pitch class, "major" or "minor", and the profile correlation."""

    tonic: int
    mode: str
    correlation: float

    @property
    def name(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"


def mono(audio: np.ndarray) -> np.ndarray:
    """Channel mean of ``[channels, samples]`` (or a 1-D signal unchanged) as float32."""
    audio = np.asarray(audio, np.float32)
    return audio.mean(axis=0) if audio.ndim == 2 else audio


def analysis_signal(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """The mono signal at :data:`ANALYSIS_RATE` (librosa's default), so key and tempo do not depend on the
    render rate."""
    import librosa

    y = mono(audio)
    if sample_rate != ANALYSIS_RATE:
        y = librosa.resample(y, orig_sr=sample_rate, target_sr=ANALYSIS_RATE)
    return y, ANALYSIS_RATE


def estimate_key(audio: np.ndarray, sample_rate: int) -> KeyEstimate:
    """Krumhansl-Schmuckler key finding on the mean constant-Q chroma of the audio (at 22050 Hz)."""
    import librosa

    y, sample_rate = analysis_signal(audio, sample_rate)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sample_rate, hop_length=1024)
    profile = chroma.mean(axis=1)
    best = KeyEstimate(0, "major", -2.0)
    for tonic in range(12):
        for mode, template in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
            r = float(np.corrcoef(profile, np.roll(template, tonic))[0, 1])
            if r > best.correlation:
                best = KeyEstimate(tonic, mode, r)
    return best


def estimate_tempo(audio: np.ndarray, sample_rate: int) -> float:
    """Tempo in BPM heard by librosa's beat tracker: the median interval of the tracked beats.

    The audio is heard at librosa's own analysis rate (22050 Hz), whatever it was rendered at, and
    the tracker follows librosa's onset strength with its default band aggregation (the mean);
    beat_track's own median aggregation is near zero on almost every frame of sparse textures
    (a solo piano: 0.1 % of frames), which leaves it nothing to track.
    """
    import librosa

    y, sample_rate = analysis_signal(audio, sample_rate)
    hop = 256
    envelope = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=hop)
    _, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=sample_rate, hop_length=hop, units="time")
    if len(beats) < 3:
        return 0.0
    return float(60.0 / np.median(np.diff(beats)))


def map_tempo(tempo_map: TempoMap, end: float) -> float:
    """The tempo map's typical tempo over ``0..end`` s (median of its beat intervals)."""
    beats = tempo_map.beat_times(end)
    return float(60.0 / np.median(np.diff(beats))) if len(beats) > 2 else tempo_map.bpm_at(0.0)


def tempo_agrees(heard: float, expected: float, tolerance: float = TEMPO_TOLERANCE) -> bool:
    """True when ``heard`` is within ``tolerance`` of ``expected`` (half or double tempo is a miss)."""
    return expected > 0 and abs(heard - expected) <= tolerance * expected


def side_to_mid_db(audio: np.ndarray) -> float:
    """Energy of the side signal relative to the mid signal, in dB (-inf for mono)."""
    audio = np.asarray(audio, np.float64)
    if audio.ndim != 2 or audio.shape[0] != 2:
        return float("-inf")
    mid, side = (audio[0] + audio[1]) / 2, (audio[0] - audio[1]) / 2
    m, s = float(np.sum(mid ** 2)), float(np.sum(side ** 2))
    return 10 * np.log10(s / m) if s > 0 and m > 0 else float("-inf")


def spectral_flatness_db(audio: np.ndarray, sample_rate: int) -> float:
    """Median over sounding frames of the spectral flatness, in dB (noisier spectra are nearer 0)."""
    import librosa

    y = mono(audio)
    flat = librosa.feature.spectral_flatness(y=y, n_fft=2048, hop_length=1024)[0]
    rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=1024)[0]
    sounding = flat[rms > 0.01 * max(float(rms.max()), 1e-12)]
    return float(10 * np.log10(max(float(np.median(sounding)), 1e-12))) if sounding.size else float("-inf")


def pulse_clarity(audio: np.ndarray, sample_rate: int) -> float:
    """Height of the strongest beat-range peak (0.25..1.5 s) of the normalised onset autocorrelation, 0..1."""
    import librosa

    y = mono(audio)
    hop = 256
    envelope = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=hop)
    envelope = envelope - envelope.mean()
    ac = np.correlate(envelope, envelope, mode="full")[len(envelope) - 1:]
    if ac[0] <= 0:
        return 0.0
    ac = ac / ac[0]
    lo, hi = int(0.25 * sample_rate / hop), int(1.5 * sample_rate / hop)
    return float(max(ac[lo:hi].max(), 0.0)) if hi > lo < len(ac) else 0.0


def high_band_db(audio: np.ndarray, sample_rate: int, cutoff: float = 10000.0) -> float:
    """Share of the energy above ``cutoff`` Hz, in dB relative to the whole."""
    y = mono(audio).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1.0 / sample_rate)
    total = float(spectrum.sum())
    high = float(spectrum[freqs >= cutoff].sum())
    return 10 * np.log10(high / total) if high > 0 and total > 0 else float("-inf")


def notes_per_second(score: Score, part: str = "melody") -> float:
    """Onsets per second of ``part`` over the score (0 when the score has no such part)."""
    names = [p.name for p in score.parts]
    if part not in names:
        return 0.0
    return len({round(n.start, 3) for n in score.part(part).notes}) / score.duration


def chord_blocks(score: Score) -> int:
    """How many different 4-bar chord sequences the score plays (from its chord symbols per bar)."""
    chords = score.info.get("chord_bars") or []
    blocks = {tuple(chords[i:i + 4]) for i in range(0, len(chords) - 3, 4)}
    return len(blocks)


def overlaps(notes: Iterable[Note]) -> int:
    """How many notes start before the previous note of the same (monophonic) line has ended."""
    ordered = sorted(notes, key=lambda n: (n.start, n.pitch))
    return sum(1 for a, b in zip(ordered, ordered[1:], strict=False) if b.start < a.end - 1e-6)


def hit_accent_fraction(score: Score, window: float = 0.06) -> float:
    """Share of the drum notes that sit within ``window`` s of a hit or cue marker (the accents, not the groove)."""
    names = [p.name for p in score.parts]
    if "drums" not in names:
        return 0.0
    times = np.array(sorted(m.time for m in score.markers if m.kind in ("hit", "cue")))
    notes = score.part("drums").notes
    if not notes or not times.size:
        return 0.0
    near = sum(1 for n in notes if np.min(np.abs(times - n.start)) <= window)
    return near / len(notes)


def note_set(score: Score) -> set[tuple[str, int, int]]:
    """The pitched notes as (part, pitch, onset in 16ths of a beat) so takes at different tempos compare."""
    out = set()
    for part in score.parts:
        if part.name == "drums":
            continue
        for n in part.notes:
            out.add((part.name, n.pitch, int(round(score.tempo_map.beat_at(n.start) * 4))))
    return out


def jaccard(a: set, b: set) -> float:
    """Shared share of two sets (|a & b| / |a | b|; 0 for two empty sets)."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def _events(notes: Iterable[Note], t0: float, t1: float) -> tuple[int, int]:
    """(onset events, notes) in ``t0..t1``; notes starting within 30 ms of each other are one event."""
    events, last, count = 0, -1.0, 0
    for start in sorted(n.start for n in notes if t0 <= n.start < t1):
        count += 1
        if start - last > 0.03:
            events += 1
            last = start
    return events, count


def section_textures(score: Score) -> list[tuple]:
    """One texture signature per section before the final cadence: which parts play, which drums, the harmony's
    and the bass's onset events per beat (in half steps) and notes per event (broken or block chords), and where
    the harmony sits (its median pitch in major thirds); loudness plays no part in it."""
    sections = score.info.get("sections", [])
    cadence = float(score.info.get("cadence_time", score.duration))
    out = []
    for i, section in enumerate(sections):
        t0 = float(section["start"])
        t1 = float(sections[i + 1]["start"]) if i + 1 < len(sections) else score.duration
        t1 = min(t1, cadence)
        if t1 - t0 < 1.0:
            continue
        playing = tuple(sorted(p.name for p in score.parts if any(t0 <= n.start < t1 for n in p.notes)))
        drums = tuple(sorted({n.pitch for p in score.parts if p.name == "drums" for n in p.notes
                              if t0 <= n.start < t1}))
        beats = max(score.tempo_map.beat_at(t1) - score.tempo_map.beat_at(t0), 1e-9)
        figures = []
        for p in score.parts:
            if p.name in ("harmony", "bass"):
                events, count = _events(p.notes, t0, t1)
                figures.append((round(2 * events / beats) / 2, min(round(count / max(events, 1)), 4)))
        harmony = [n.pitch for p in score.parts if p.name == "harmony" for n in p.notes if t0 <= n.start < t1]
        register = int(np.median(harmony) // 4) if harmony else -1
        out.append((playing, drums, tuple(figures), register))
    return out


def distinct_textures(score: Score) -> int:
    """How many different section textures the score has."""
    return len(set(section_textures(score)))
