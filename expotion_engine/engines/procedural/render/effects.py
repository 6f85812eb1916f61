"""A part's channel strip: insert effects, automation, pan and width, then stereo sends whose tails fade at the end.

``Part.effects`` keys (each an amount 0..1): ``lowpass`` (brightness: 0 dark .. 1 open),
``highpass``, ``drive``, ``compress``, ``chorus`` (stereo: the sides sweep apart), ``delay``
(tempo-synced dotted eighth, its echoes alternating left and right) and ``reverb``.
``Part.automation`` keys: ``gain_db`` (dB) and ``brightness`` (0 dark .. 1 bright). Every send
is stereo with decorrelated sides (the reverbs' left and right tanks differ), and a part with
no reverb send can have a short ``room`` instead, so that the mix has the stereo image of
instruments played in a space rather than a mono sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pedalboard import (
    Chorus,
    Compressor,
    Distortion,
    HighpassFilter,
    LadderFilter,
    LowpassFilter,
    Pedalboard,
    Plugin,
    Reverb,
)

from expotion_engine.engines.procedural.render.instruments import is_bass
from expotion_engine.engines.procedural.render.synth import highpass
from expotion_engine.engines.procedural.score import Automation, Part
from expotion_engine.errors import EngineError

EFFECTS = ("lowpass", "highpass", "drive", "compress", "chorus", "delay", "reverb")
AUTOMATION = ("gain_db", "brightness")
TAIL_FADE_S = 1.5
DRY_FADE_S = 0.25
_CURVE_STEP = 16
_ECHO_PLACE = 0.7  # delay echoes alternate between this far left and right (times the width)
_ECHO_FLOOR = 1e-3
_TWIN_RATE = 1.31  # the right side of a stereo chorus sweeps this much faster
_TWIN_DELAY = 1.17  # around this much longer a delay
MONO_BELOW_HZ = 120.0  # a bass line's side is high-passed here
_BLOCK = 1 << 18
MOST_SIDE_DB = -5.0  # no centred stem is wider than this side-to-mid ratio (recorded orchestras: -2 dB for the mix)


def _amounts(part: Part) -> dict[str, float]:
    amounts = {}
    for key, value in part.effects.items():
        if key not in EFFECTS:
            raise EngineError(f"Part {part.name!r} has unknown effect {key!r}; the effects are: {', '.join(EFFECTS)}.")
        try:
            amount = float(value)
        except (TypeError, ValueError):
            amount = float("nan")
        if not 0.0 <= amount <= 1.0:
            raise EngineError(f"Part {part.name!r} effect {key!r} is {value!r}; it must be a number from 0 to 1.")
        amounts[key] = amount
    for key, curve in part.automation.items():
        if key not in AUTOMATION:
            raise EngineError(f"Part {part.name!r} has unknown automation {key!r}; it can be: {', '.join(AUTOMATION)}.")
        if not curve.values or not np.all(np.isfinite(curve.values)):
            raise EngineError(f"Part {part.name!r} automation {key!r} needs at least one value, all finite numbers.")
    return amounts


def check_part(part: Part) -> None:
    """Raise EngineError for effect or automation keys/values the renderer does not know."""
    _amounts(part)


def _inserts(amounts: Mapping[str, float]) -> list[Plugin]:
    chain: list[Plugin] = []
    if amounts.get("highpass", 0.0) > 0:
        chain.append(HighpassFilter(cutoff_frequency_hz=20.0 * 40.0 ** amounts["highpass"]))
    if "lowpass" in amounts and amounts["lowpass"] < 1.0:
        cutoff = 250.0 * 80.0 ** amounts["lowpass"]
        chain.append(LadderFilter(mode=LadderFilter.Mode.LPF12, cutoff_hz=cutoff, resonance=0.1, drive=1.0))
    if amounts.get("drive", 0.0) > 0:
        chain.append(Distortion(drive_db=3.0 + 24.0 * amounts["drive"]))
    if amounts.get("compress", 0.0) > 0:
        a = amounts["compress"]
        chain.append(Compressor(threshold_db=-8.0 - 16.0 * a, ratio=1.5 + 4.5 * a, attack_ms=8.0, release_ms=120.0))
    if amounts.get("chorus", 0.0) > 0:
        a = amounts["chorus"]
        chain.append(Chorus(rate_hz=0.6, depth=0.15 + 0.3 * a, centre_delay_ms=8.0, feedback=0.05, mix=0.5 * a))
    return chain


def stereo_chorus(chorus: Chorus, x: np.ndarray, sample_rate: int) -> np.ndarray:
    """``chorus`` on the left, a twin with a faster sweep and longer delay on the right: the two sides drift
    apart as an analogue stereo chorus does (pedalboard's chorus moves both sides together)."""
    twin = Chorus(rate_hz=chorus.rate_hz * _TWIN_RATE, depth=chorus.depth, centre_delay_ms=chorus.centre_delay_ms
                  * _TWIN_DELAY, feedback=chorus.feedback, mix=chorus.mix)
    return np.concatenate([chorus(x[:1], sample_rate), twin(x[1:], sample_rate)])


def run_chain(chain: list[Plugin], x: np.ndarray, sample_rate: int) -> np.ndarray:
    """``chain`` applied to stereo ``x``, every Chorus in it as a :func:`stereo_chorus`."""
    plain: list[Plugin] = []
    for plugin in chain:
        if isinstance(plugin, Chorus):
            if plain:
                x = Pedalboard(plain)(x, sample_rate)
                plain = []
            x = stereo_chorus(plugin, x, sample_rate)
        else:
            plain.append(plugin)
    return Pedalboard(plain)(x, sample_rate) if plain else x


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _curve(auto: Automation, n: int, sample_rate: int) -> np.ndarray:
    """Automation values at every sample: linear between points (so never a step), held past the ends.

    Interpolated every 16 samples (a third of a millisecond) and held in between, which is inaudible
    and keeps long curves cheap.
    """
    values = np.asarray(auto.values, dtype=np.float64)
    blocks = -(-n // _CURVE_STEP)
    at = (np.arange(blocks) * _CURVE_STEP + _CURVE_STEP / 2) / sample_rate
    coarse = np.interp(at, np.arange(values.size) / auto.rate, values).astype(np.float32)
    return np.repeat(coarse, _CURVE_STEP)[:n]


def apply_automation(x: np.ndarray, part: Part, sample_rate: int) -> np.ndarray:
    """Brightness (crossfade with a 600 Hz low-passed copy) and gain in dB, interpolated per sample (in place)."""
    n = x.shape[-1]
    if "brightness" in part.automation:
        b = np.clip(_curve(part.automation["brightness"], n, sample_rate), 0.0, 1.0)
        dark = Pedalboard([LowpassFilter(cutoff_frequency_hz=600.0), LowpassFilter(cutoff_frequency_hz=600.0)])(
            x, sample_rate)
        x -= dark
        x *= b
        x += dark
        del dark
    if "gain_db" in part.automation:
        db = _curve(part.automation["gain_db"], n, sample_rate)
        db *= np.float32(np.log(10.0) / 20.0)
        x *= np.exp(db, out=db)
    return x


def pan(x: np.ndarray, position: float) -> np.ndarray:
    """Constant-power balance (in place): 0 keeps both sides, -1 only left, +1 only right."""
    angle = (position + 1.0) * np.pi / 4.0
    x *= np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)[:, None] * np.float32(np.sqrt(2.0))
    return x


def fade_tail(x: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """Fade the last ``seconds`` of ``x`` (in place) with a half cosine to silence at the last sample."""
    length = min(x.shape[-1], int(seconds * sample_rate))
    if length:
        x[..., -length:] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, length, dtype=np.float32))
    return x


def widen(x: np.ndarray, width: float) -> np.ndarray:
    """Scale the side (L-R) of stereo ``x`` by ``width`` (in place): 0 mono, 1 as it is, above 1 wider."""
    if width != 1.0:
        side = (x[0] - x[1]) * np.float32(0.5 * (width - 1.0))
        x[0] += side
        x[1] -= side
    return x


def cap_side(x: np.ndarray, most_db: float = MOST_SIDE_DB) -> np.ndarray:
    """Stereo ``x`` with its side scaled down (in place) where its side-to-mid energy ratio is above ``most_db``:
    a stem stays mono-compatible however wide its sound (a sampled piano, a chorus, a wide setting) came out."""
    m = s = 0.0
    for a in range(0, x.shape[-1], _BLOCK):  # in blocks: no float64 copy of a long stem
        left, right = x[0, a:a + _BLOCK].astype(np.float64), x[1, a:a + _BLOCK].astype(np.float64)
        m += float(np.sum(np.square(left + right)))
        s += float(np.sum(np.square(left - right)))
    if m > 0 and s > m * 10.0 ** (most_db / 10.0):
        widen(x, float(np.sqrt(m / s) * 10.0 ** (most_db / 20.0)))
    return x


def mono_below(x: np.ndarray, sample_rate: int, hz: float = MONO_BELOW_HZ) -> np.ndarray:
    """Stereo ``x`` with its side (L-R) high-passed at ``hz`` (in place): the low end in the centre, as a mastering
    engineer's mono-maker leaves it (no bass moving between the speakers, nothing lost in mono)."""
    side = (x[0] - x[1]) * np.float32(0.5)
    low = side - highpass(side, hz, sample_rate, order=4)
    x[0] -= low
    x[1] += low
    return x


def ping_pong(x: np.ndarray, sample_rate: int, seconds: float, feedback: float, level: float,
              width: float = 1.0) -> np.ndarray:
    """Echoes of ``x`` (band-limited to 300 Hz..5 kHz) every ``seconds``, each ``feedback`` quieter than the last,
    alternating left and right; the first at ``level``."""
    n = x.shape[-1]
    source = Pedalboard([HighpassFilter(cutoff_frequency_hz=300.0), LowpassFilter(cutoff_frequency_hz=5000.0)])(
        x.mean(axis=0, keepdims=True), sample_rate)[0]
    out = np.zeros_like(x)
    step = max(1, int(round(seconds * sample_rate)))
    place = float(np.clip(_ECHO_PLACE * width, 0.0, 1.0))
    gain, k = level, 1
    while gain > _ECHO_FLOOR and k * step < n:
        angle = (place * (-1.0 if k % 2 else 1.0) + 1.0) * np.pi / 4.0
        for channel, weight in enumerate((np.cos(angle), np.sin(angle))):
            out[channel, k * step:] += np.float32(gain * weight * np.sqrt(2.0)) * source[: n - k * step]
        gain *= feedback
        k += 1
    return out


def _reverb(x: np.ndarray, sample_rate: int, low_cut: float, size: float, damping: float, level: float) -> np.ndarray:
    """A stereo (Freeverb: decorrelated left and right tanks) reverb of ``x``, wet only."""
    return Pedalboard([HighpassFilter(cutoff_frequency_hz=low_cut),
                       Reverb(room_size=size, damping=damping, wet_level=level, dry_level=0.0, width=1.0)])(
        x, sample_rate)


def channel_strip(dry: np.ndarray, part: Part, sample_rate: int, bpm: float,
                  voicing: list[Plugin] | None = None, width: float = 1.0,
                  room: float = 0.0) -> tuple[np.ndarray, dict[str, Any]]:
    """The part's stem from its dry note audio (float32, changed in place): voicing, inserts, automation, pan,
    the delay and reverb sends (or, with no reverb, a short stereo room at ``room`` 0..1), then its side scaled
    by ``width`` (a centred part no wider than :data:`MOST_SIDE_DB`); a bass line's own stereo (its voices,
    saturation) is kept out of its low end before the pan."""
    amounts = _amounts(part)
    x = dry
    if voicing:
        x = run_chain(voicing, x, sample_rate)
    inserts = _inserts(amounts)
    if inserts:
        before = _rms(x)
        x = run_chain(inserts, x, sample_rate)
        after = _rms(x)
        if "drive" in amounts and after > 0:
            x *= np.float32(before / after)  # drive changes colour, not level
    x = apply_automation(x, part, sample_rate)
    if is_bass(part):
        x = mono_below(x, sample_rate)
    if part.gain_db:
        x *= np.float32(10.0 ** (part.gain_db / 20.0))
    if part.pan:
        x = pan(x, part.pan)
    wet = None

    def add(tail: np.ndarray) -> None:
        nonlocal wet
        tail = fade_tail(tail, sample_rate, TAIL_FADE_S)
        if wet is None:
            wet = tail
        else:
            wet += tail

    if amounts.get("delay", 0.0) > 0:
        add(ping_pong(x, sample_rate, min(2.0, 0.75 * 60.0 / bpm), 0.35, 0.5 * amounts["delay"], width))
    if amounts.get("reverb", 0.0) > 0:
        a = amounts["reverb"]
        add(_reverb(x, sample_rate, 150.0, 0.55 + 0.4 * a, 0.45, 0.45 * a))
    if amounts.get("reverb", 0.0) > 0:
        room = 0.0  # a part with a reverb send is in a space already
    if room > 0:
        add(_reverb(x, sample_rate, 200.0, 0.3, 0.6, 0.3 * room))
    stem = fade_tail(x, sample_rate, DRY_FADE_S)
    if wet is not None:
        stem += wet
    stem = widen(stem, width)
    if not part.pan:  # a part panned on purpose keeps its place; a centred one stays mono-compatible
        stem = cap_side(stem)
    return stem, {"effects": dict(amounts), "automation": sorted(part.automation), "width": width, "room": room}
