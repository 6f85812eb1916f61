"""The mix bus: BS.1770 loudness normalisation, glue compression and a true-peak look-ahead limiter.

Loudness is ITU-R BS.1770 integrated loudness (pyloudnorm); true peak is the largest sample of
the signal oversampled four times (BS.1770 Annex 2, here a 16-tap windowed-sinc interpolator per
phase, within 0.1 dB up to 0.8 x Nyquist). The mix is low-passed there, so that little is left
where the interpolator would under-read.

The bus is one linear filter (that low-pass) and one gain curve (compressor, make-up and limiter
together, computed once on the whole mix and shared by both channels). :func:`finish` puts a stem
through the same filter and curve, so the finished stems sum to the mix to float precision: a
delivery's stems null against its mix.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pyloudnorm.iirfilter import IIRfilter
from scipy.signal import butter, sosfilt

_OVERSAMPLE = 4
_TAPS = 16  # interpolation taps per phase: samples i-7 .. i+8 give the points after i (flat to 0.8 x Nyquist)
_BETA = 5.0
_CHUNK = 1 << 20
_AIR_HZ = 19000.0  # the mix is low-passed here (at most 0.8 x Nyquist), the top of the interpolator's flat band
_ATTACK_DB_S = 1500.0  # the reduction ramps in at most this fast before a peak (6 dB in 4 ms)
_RELEASE_DB_S = 40.0  # and recovers this fast after it (3 dB in 75 ms)
_BLOCK = 32
_LOUDNESS_TRIES = 6
_AIM = 0.99  # the gain aims this far under the ceiling: smoothing it nudges interpolated peaks
_GLUE_ABOVE_DB = 6.0  # the glue compressor's threshold at compression 0: this far above the premix's loudness
_GLUE_DEPTH_DB = 10.0  # and this much lower at compression 1
_GLUE_RATIO = 1.5  # its ratio at compression 0
_GLUE_RATIO_SPAN = 3.0  # and this much more at compression 1
_GLUE_ATTACK_S = 0.025
_GLUE_RELEASE_S = 0.25
_GLUE_BLOCK = 64  # the compressor's detector measures blocks of this many samples
_GLUE_STEPS = 1 << 16  # detector blocks turned into reduction at a time


def _k_weighting(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting (pyloudnorm's high shelf + high pass) as second-order sections."""
    stages = (IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf"),
              IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass"))
    return np.array([np.concatenate([f.b / f.a[0], f.a / f.a[0]]) for f in stages])


def integrated_loudness(x: np.ndarray, sample_rate: int) -> float:
    """BS.1770 integrated loudness of stereo ``(2, n)`` audio in LUFS (-inf for silence).

    The same measurement as ``pyloudnorm.Meter(rate).integrated_loudness`` (400 ms blocks, 75 %
    overlap, absolute and relative gates), vectorised and streamed in chunks so it is fast on
    long audio; audio shorter than one block is measured with silence after it.
    """
    x = np.atleast_2d(x)
    n, block, bounds, lo_at, hi_at = _block_bounds(x.shape[-1], sample_rate)  # the last block may run past the end
    sos = _k_weighting(sample_rate)

    def channel_blocks(channel: np.ndarray) -> np.ndarray:
        state = np.zeros((sos.shape[0], 2))
        energy = np.zeros(bounds.size)  # sum of squared K-weighted samples before each bound
        total = 0.0
        for a in range(0, n, _CHUNK):
            piece = np.zeros(min(_CHUNK, n - a))
            real = channel[a:a + piece.size]
            piece[:real.size] = real
            filtered, state = sosfilt(sos, piece, zi=state)
            sums = np.cumsum(np.square(filtered, out=filtered), out=filtered)
            sums += total
            inside = (bounds > a) & (bounds <= a + piece.size)
            energy[inside] = sums[bounds[inside] - a - 1]
            total = float(sums[-1])
        return (energy[hi_at] - energy[lo_at]) / block

    with ThreadPoolExecutor(max_workers=min(2, x.shape[0])) as pool:  # scipy filters release the GIL
        z = np.sum(list(pool.map(channel_blocks, x)), axis=0)
    return _gated(z)


def _gated(z: np.ndarray) -> float:
    """Integrated loudness (LUFS) from the mean square of each 400 ms block, summed over channels (BS.1770 gates)."""
    z = np.maximum(z, 0.0)  # differences of running sums can round just below zero in silence
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10.0 * np.log10(z)
        gated = z[loud >= -70.0]
        if gated.size == 0:
            return float("-inf")
        relative = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
        gated = z[(loud > relative) & (loud > -70.0)]
        if gated.size == 0:
            return float("-inf")
        return float(-0.691 + 10.0 * np.log10(gated.mean()))


def _block_bounds(n: int, sample_rate: int) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
    """Length measured (at least one block), block size and the 400 ms blocks' sample bounds (as
    :func:`integrated_loudness` lays them out)."""
    block = 0.4 * sample_rate
    n = max(n, int(math.ceil(block)) + 1)
    blocks = int(np.round((n / sample_rate - 0.4) / 0.1)) + 1
    j = np.arange(blocks)
    lo = np.minimum((0.4 * (j * 0.25) * sample_rate).astype(np.int64), n)
    hi = np.minimum((0.4 * (j * 0.25 + 1) * sample_rate).astype(np.int64), n)
    bounds = np.unique(np.concatenate([lo, hi]))
    return n, block, bounds, np.searchsorted(bounds, lo), np.searchsorted(bounds, hi)


class LoudnessMeter:
    """BS.1770 integrated loudness of ``n`` samples given block by block in order (:meth:`add`), as
    :func:`integrated_loudness` measures them whole: a long mix is measured without holding it."""

    def __init__(self, n: int, sample_rate: int, channels: int = 2) -> None:
        self._n, self._block, self._bounds, self._lo_at, self._hi_at = _block_bounds(n, sample_rate)
        self._sos = _k_weighting(sample_rate)
        self._state = np.zeros((channels, self._sos.shape[0], 2))
        self._energy = np.zeros((channels, self._bounds.size))  # sums of squared K-weighted samples before bounds
        self._total = np.zeros(channels)
        self._at = 0

    def add(self, x: np.ndarray) -> None:
        """The next ``(channels, m)`` samples."""
        m = x.shape[-1]
        if m == 0:
            return
        inside = (self._bounds > self._at) & (self._bounds <= self._at + m)
        for c in range(x.shape[0]):
            filtered, self._state[c] = sosfilt(self._sos, np.asarray(x[c], dtype=np.float64), zi=self._state[c])
            sums = np.cumsum(np.square(filtered, out=filtered), out=filtered)
            sums += self._total[c]
            self._energy[c, inside] = sums[self._bounds[inside] - self._at - 1]
            self._total[c] = float(sums[-1])
        self._at += m

    def result(self) -> float:
        """Integrated loudness in LUFS (-inf for silence); audio shorter than one block is measured with silence
        after it."""
        if self._at < self._n:
            self.add(np.zeros((self._state.shape[0], self._n - self._at)))
        z = ((self._energy[:, self._hi_at] - self._energy[:, self._lo_at]) / self._block).sum(axis=0)
        return _gated(z)


def _interpolator() -> np.ndarray:
    """Kaiser-windowed sinc phases for the three points between samples (rows), taps for i-7 .. i+8."""
    offsets = np.arange(-(_TAPS // 2) + 1, _TAPS // 2 + 1)
    radius = _TAPS / 2
    rows = []
    for p in range(1, _OVERSAMPLE):
        d = p / _OVERSAMPLE - offsets
        h = np.sinc(d) * np.i0(_BETA * np.sqrt(1.0 - (d / radius) ** 2)) / np.i0(_BETA)
        rows.append(h / h.sum())
    return np.array(rows, dtype=np.float32)


_PHASES = _interpolator()
_PHASE_GAIN = float(np.abs(_PHASES).sum(axis=1).max())  # no interpolated point exceeds this x its window's peak


def peak_envelope(x: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per-sample true peak: the largest |value| over channels of each sample and the three 4x-oversampled
    points after it (a 16-tap windowed-sinc interpolator per phase), wherever that can exceed ``floor``.

    An interpolated point is at most ``_PHASE_GAIN`` times the largest sample of its window, so only
    blocks near samples above ``floor / _PHASE_GAIN`` are interpolated (usually a small part of a
    mix); elsewhere the sample peak is returned.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    n = x.shape[-1]
    env = np.abs(x[0]) if x.shape[0] else np.zeros(n, dtype=np.float32)
    for channel in x[1:]:
        np.maximum(env, np.abs(channel), out=env)
    if n == 0:
        return env
    blocks = -(-n // _TAPS)
    top = np.pad(env, (0, blocks * _TAPS - n)).reshape(blocks, _TAPS).max(axis=1)
    padded = np.pad(top, 1)
    hot = np.flatnonzero(np.maximum(top, np.maximum(padded[:-2], padded[2:])) * _PHASE_GAIN > floor)
    if hot.size > 0.4 * blocks:
        before = _TAPS // 2 - 1
        for channel in x:
            padded = np.pad(channel, (before, _TAPS - before - 1), mode="edge")
            for phase in _PHASES:
                np.maximum(env, np.abs(np.correlate(padded, phase, mode="valid")), out=env)
        return env
    at = (hot[:, None] * _TAPS + np.arange(_TAPS)).ravel()
    at = at[at < n]
    env[at] = peaks_at(x, at)
    return env


def peaks_at(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The same true peak as :func:`peak_envelope`, only at the sample indices ``at``."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    n = x.shape[-1]
    before = _TAPS // 2 - 1
    out = np.empty(at.size, dtype=np.float32)
    for a in range(0, at.size, _CHUNK // _TAPS):
        idx = at[a:a + _CHUNK // _TAPS]
        windows = x[:, np.clip(idx[:, None] + np.arange(-before, _TAPS - before), 0, n - 1)]
        out[a:a + idx.size] = np.maximum(np.abs(windows @ _PHASES.T).max(axis=(0, 2)), np.abs(x[:, idx]).max(axis=0))
    return out


def true_peak_db(x: np.ndarray) -> float:
    """True peak in dBTP (4x oversampling); -inf for silence."""
    if x.size == 0:
        return float("-inf")
    if not np.any(x):
        return float("-inf")
    return 20.0 * math.log10(float(peak_envelope(x, float(np.abs(x).max())).max()))


def _reduction_curve(need_db: np.ndarray, attack: float, release: float) -> np.ndarray:
    """Smallest curve >= ``need_db`` that rises at most ``attack`` and falls at most ``release`` dB per step.

    Both ramps are running maxima of the needed reduction tilted by the ramp (exact, vectorised):
    the attack ramp is built backwards from each peak (look-ahead), the release forwards.
    """
    k = np.arange(need_db.size, dtype=np.float64)
    ahead = np.maximum.accumulate((need_db - k * attack)[::-1])[::-1] + k * attack
    return np.maximum.accumulate(ahead + k * release) - k * release


def limit(x: np.ndarray, sample_rate: int, ceiling_db: float,
          pre_gain_db: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Look-ahead true-peak limiting of ``x`` raised by ``pre_gain_db`` to ``ceiling_db``.

    Returns the audio, the limiter's gain curve and the result's true peak.
    The reduction each block of 32 samples needs ramps in over the look-ahead before a peak and
    recovers at the release rate after it (linear in dB), then is interpolated to every sample,
    so peaks are caught without a hard edge; a pass that still finds an over is followed by another.
    """
    ceiling = 10.0 ** (ceiling_db / 20.0)
    pre = np.float32(10.0 ** (pre_gain_db / 20.0))
    n = x.shape[-1]
    gain = np.ones(n, dtype=np.float32)
    if n == 0:
        return x.astype(np.float32), gain, 0.0
    y = None
    blocks = -(-n // _BLOCK)
    centres = np.arange(blocks) * _BLOCK + (_BLOCK - 1) / 2.0
    step = _BLOCK / sample_rate
    env = peak_envelope(x, ceiling / pre)
    env *= pre
    for attempt in range(4):
        peak = float(env.max())
        if peak <= ceiling:
            break
        if attempt == 3:  # still over after three passes: trim the whole signal, never let a peak through
            gain *= np.float32(ceiling / peak)
            y, peak = None, ceiling
            break
        over = np.pad(env, (0, blocks * _BLOCK - n)).reshape(blocks, _BLOCK).max(axis=1) / (_AIM * ceiling)
        need_db = 20.0 * np.log10(np.maximum(over, 1.0))
        padded = np.pad(need_db, 1)
        need_db = np.maximum(need_db, np.maximum(padded[:-2], padded[2:]))  # a sample's curve spans two blocks
        curve = _reduction_curve(need_db, _ATTACK_DB_S * step, _RELEASE_DB_S * step)
        active = np.flatnonzero(curve > 1e-4)
        active = np.unique(np.clip(np.concatenate([active - 1, active, active + 1]), 0, blocks - 1))
        at = (active[:, None] * _BLOCK + np.arange(_BLOCK)).ravel()
        at = at[at < n]
        gain[at] *= np.power(10.0, -np.interp(at, centres, curve) / 20.0).astype(np.float32)
        y = x * (gain * pre)
        env[at] = peaks_at(y, at)  # elsewhere the gain is 1 and the envelope unchanged
    if y is None:
        y = x * (gain * pre)
    return y.astype(np.float32, copy=False), gain, peak


def _air_sos(sample_rate: int) -> np.ndarray:
    return butter(4, min(_AIR_HZ, 0.4 * sample_rate), fs=sample_rate, output="sos").astype(np.float32)


def air_filter(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """The bus's low-pass (at most 0.8 x Nyquist): a new float32 array. Linear, so it commutes with summing stems."""
    return sosfilt(_air_sos(sample_rate), x, axis=-1).astype(np.float32, copy=False)


def glue_gain(x: np.ndarray, sample_rate: int, threshold_db: float, ratio: float = _GLUE_RATIO,
              attack: float = _GLUE_ATTACK_S, release: float = _GLUE_RELEASE_S) -> np.ndarray:
    """Per-sample gain of a stereo-linked feed-forward compressor on ``x``: the RMS of both channels in blocks of
    64 samples above ``threshold_db`` (dBFS) is reduced by ``ratio``, the reduction following with one-pole
    ``attack`` and ``release`` times (seconds) and interpolated between block centres."""
    x = np.atleast_2d(x)
    n = x.shape[-1]
    if n == 0:
        return np.ones(0, dtype=np.float32)
    curve = GlueCurve(x.shape[0])
    for a in range(0, n, _CHUNK):  # _CHUNK is a whole number of blocks; no copy of the whole signal
        curve.add(x[:, a:a + _CHUNK])
    curve.finish(sample_rate, threshold_db, ratio, attack, release)
    return curve.gain(0, n)


class GlueCurve:
    """The glue compressor's detector and gain curve, fed block by block (:meth:`add`, every block but the last a
    whole number of 64-sample detector blocks), then read back for any range (:meth:`gain`)."""

    def __init__(self, channels: int) -> None:
        self._channels = channels
        self._powers: list[np.ndarray] = []
        self.n = 0
        self.linear: np.ndarray | None = None
        self.max_reduction_db = 0.0

    def add(self, piece: np.ndarray) -> None:
        """The next ``(channels, m)`` samples of the signal the compressor listens to."""
        whole = piece.shape[-1] // _GLUE_BLOCK * _GLUE_BLOCK
        sums = np.square(piece[:, :whole]).reshape(piece.shape[0], -1, _GLUE_BLOCK).sum(axis=(0, 2), dtype=np.float64)
        self._powers.append(sums)
        if whole < piece.shape[-1]:
            self._powers.append(np.array([float(np.sum(np.square(piece[:, whole:], dtype=np.float64)))]))
        self.n += piece.shape[-1]

    def finish(self, sample_rate: int, threshold_db: float, ratio: float = _GLUE_RATIO,
               attack: float = _GLUE_ATTACK_S, release: float = _GLUE_RELEASE_S) -> None:
        """Run the detector over every block's level (one-pole ``attack``/``release``, reduction by ``ratio`` above
        ``threshold_db``)."""
        reduction = np.concatenate(self._powers) if self._powers else np.zeros(0)  # the powers, then reduced
        self._powers = []
        step = _GLUE_BLOCK / sample_rate
        rise, fall = math.exp(-step / max(attack, 1e-4)), math.exp(-step / max(release, 1e-4))
        held, reducing = 0.0, False
        for c in range(0, reduction.size, _GLUE_STEPS):  # in pieces: no Python list of a whole film's blocks
            power = reduction[c:c + _GLUE_STEPS] / (self._channels * _GLUE_BLOCK)
            level = 10.0 * np.log10(np.maximum(power, 1e-12))
            wanted = (np.maximum(level - threshold_db, 0.0) * (1.0 - 1.0 / ratio)).tolist()
            reducing = reducing or any(wanted)
            for i, want in enumerate(wanted, start=c):  # one value per 64 samples: a plain loop is fast enough
                pole = rise if want > held else fall
                held = pole * held + (1.0 - pole) * want
                reduction[i] = held
        if not reducing:
            return
        self.max_reduction_db = float(reduction.max())
        reduction /= -20.0
        self.linear = np.power(10.0, reduction, out=reduction)

    def gain(self, a: int, b: int) -> np.ndarray:
        """The gain at samples ``a`` .. ``b`` (float32), interpolated between detector block centres."""
        if self.linear is None:
            return np.ones(max(0, b - a), dtype=np.float32)
        first = max(0, (a - _GLUE_BLOCK) // _GLUE_BLOCK)
        last = min(self.linear.size, b // _GLUE_BLOCK + 2)
        centres = np.arange(first, last) * _GLUE_BLOCK + (_GLUE_BLOCK - 1) / 2.0
        gain = np.empty(max(0, b - a), dtype=np.float32)
        for c in range(a, b, _CHUNK):  # interpolated chunk by chunk: no float64 curve of the whole length
            gain[c - a:c - a + _CHUNK] = np.interp(np.arange(c, min(b, c + _CHUNK)), centres, self.linear[first:last])
        return gain


def glue_settings(loudness_lufs: float, compression: float) -> tuple[float, float]:
    """The glue compressor's threshold (dBFS) and ratio for a premix at ``loudness_lufs`` and ``compression`` 0..1."""
    return (loudness_lufs + _GLUE_ABOVE_DB - _GLUE_DEPTH_DB * compression,
            _GLUE_RATIO + _GLUE_RATIO_SPAN * compression)


def search_makeup(measure: Callable[[float], float], loudness_lufs: float, makeup: float) -> tuple[float, float]:
    """Find the make-up gain (dB) whose limited mix is on ``loudness_lufs``: ``measure(makeup)`` limits and measures.

    Starts at ``makeup`` and corrects by secant steps (the limiter makes loudness rise slower than the gain) until
    within 0.15 dB or no longer getting louder. Returns ``(make-up, loudness)`` of the closest try (which
    need not be the last one ``measure`` was called with).
    """
    tried: list[tuple[float, float]] = []
    best: tuple[float, float] | None = None  # (make-up, loudness) closest to the target
    for _ in range(_LOUDNESS_TRIES):
        level = measure(makeup)
        if not math.isfinite(level):
            best = (makeup, level)
            break
        if best is None or abs(level - loudness_lufs) < abs(best[1] - loudness_lufs):
            best = (makeup, level)
        if abs(level - loudness_lufs) <= 0.15 or (tried and abs(level - tried[-1][1]) < 0.05):
            break  # on target, or the limiter cannot make it any louder
        tried.append((makeup, level))
        slope = 1.0  # dB of loudness per dB of make-up; the limiter makes it smaller, so estimate it (secant)
        if len(tried) > 1 and tried[-1][0] != tried[-2][0]:
            slope = min(1.0, max(0.25, (tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0])))
        makeup += min(6.0, (loudness_lufs - level) / slope)
    return best


def first_makeup(loudness_lufs: float, start: float, before: float, after: float) -> float:
    """First guess of the make-up (dB): the way from ``start`` to the target plus the compressor's change of
    level (``before``/``after``: the premix's and the compressed signal's energies)."""
    return loudness_lufs - start + (10.0 * math.log10(before / after) if before > 0 and after > 0 else 0.0)


@dataclass(frozen=True, eq=False)
class Bus:
    """What the bus did to the premix: the per-sample gain (compressor x make-up x limiter) after its low-pass."""

    gain: np.ndarray

    def finish(self, stem: np.ndarray, sample_rate: int) -> np.ndarray:
        """``stem`` (stereo float32) through the bus's low-pass and gain, in place, chunk by chunk (the filter's
        state carried across): finished stems sum to the mix."""
        sos = _air_sos(sample_rate)
        state = np.zeros((sos.shape[0], stem.shape[0], 2), dtype=np.float32)
        for a in range(0, stem.shape[-1], _CHUNK):
            piece = stem[:, a:a + _CHUNK]
            filtered, state = sosfilt(sos, piece, axis=-1, zi=state)
            np.multiply(filtered, self.gain[a:a + _CHUNK], out=piece)
        return stem


def master(premix: np.ndarray, sample_rate: int, loudness_lufs: float, true_peak_db_target: float,
           premix_lufs: float | None = None,
           compression: float = 0.3) -> tuple[np.ndarray, Bus, dict[str, float | None]]:
    """The final mix from the premix (at ``premix_lufs``, default on target): glue compression, make-up, limiting.

    ``compression`` (0..1) sets how hard the glue compressor works: 0 leaves an orchestra's swells
    open (threshold 6 dB above the loudness, ratio 1.5), 1 packs a dance mix dense (4 dB below, 4.5).
    Returns the mix, the :class:`Bus` that made it (to finish the stems the same way) and its measurements.
    """
    start = loudness_lufs if premix_lufs is None else premix_lufs
    filtered = air_filter(premix, sample_rate)
    glue = glue_gain(filtered, sample_rate, *glue_settings(start, compression))
    compressed = filtered  # compressed in place: one copy of the mix fewer
    compressed *= glue
    makeup = first_makeup(loudness_lufs, start, float(np.vdot(premix, premix)), float(np.vdot(compressed, compressed)))
    ceiling = true_peak_db_target - 0.1
    last: dict[str, tuple[float, np.ndarray, np.ndarray, float]] = {}

    def measure(gain_db: float) -> float:
        last.clear()
        mix, gain, peak = limit(compressed, sample_rate, ceiling, gain_db)
        last["try"] = (gain_db, mix, gain, peak)
        return integrated_loudness(mix, sample_rate)

    makeup, level = search_makeup(measure, loudness_lufs, makeup)
    if last["try"][0] != makeup:  # the last try was not the closest: make the closest again
        measure(makeup)
    _, mix, gain, peak = last.pop("try")
    reduced = gain[gain < 1.0]
    reduction = -20.0 * np.log10(np.maximum(reduced, 1e-9))
    glue_db = -20.0 * np.log10(np.maximum(glue, 1e-9))
    info = {
        "loudness_lufs": _finite(level),
        "true_peak_db": 20.0 * math.log10(peak) if peak > 0 else None,
        "bus_makeup_db": makeup,
        "glue_max_reduction_db": float(glue_db.max()) if glue_db.size else 0.0,
        "limiter_max_reduction_db": float(reduction.max()) if reduction.size else 0.0,
        "limiter_mean_reduction_db": float(reduction.sum() / gain.size) if reduction.size else 0.0,
        "limiter_active_fraction": float(reduction.size / gain.size) if gain.size else 0.0,
    }
    gain *= glue
    gain *= np.float32(10.0 ** (makeup / 20.0))
    return mix, Bus(gain), info


def null_residual_db(mix: np.ndarray, stems: list[np.ndarray]) -> float | None:
    """How loud the mix minus the sum of ``stems`` is against the mix (dB; None for a silent mix), block by block."""
    energy = left = 0.0
    for a in range(0, mix.shape[-1], _CHUNK):
        piece = mix[:, a:a + _CHUNK].astype(np.float64)
        residual = piece.copy()
        for stem in stems:
            residual -= stem[:, a:a + _CHUNK]
        energy += float(np.vdot(piece, piece))
        left += float(np.vdot(residual, residual))
    if energy <= 0:
        return None
    return 10.0 * math.log10(max(left, 1e-30) / energy)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
