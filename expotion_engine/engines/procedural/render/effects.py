"""A part's channel strip: insert effects, automation, pan, then reverb/delay sends whose tails fade at the end.

``Part.effects`` keys (each an amount 0..1): ``lowpass`` (brightness: 0 dark .. 1 open),
``highpass``, ``drive``, ``compress``, ``chorus``, ``delay`` (tempo-synced dotted eighth) and
``reverb``. ``Part.automation`` keys: ``gain_db`` (dB) and ``brightness`` (0 dark .. 1 bright).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pedalboard import (
    Chorus,
    Compressor,
    Delay,
    Distortion,
    Gain,
    HighpassFilter,
    LadderFilter,
    LowpassFilter,
    Pedalboard,
    Plugin,
    Reverb,
)

from expotion_engine.engines.procedural.score import Automation, Part
from expotion_engine.errors import EngineError

EFFECTS = ("lowpass", "highpass", "drive", "compress", "chorus", "delay", "reverb")
AUTOMATION = ("gain_db", "brightness")
TAIL_FADE_S = 1.5
DRY_FADE_S = 0.25
_CURVE_STEP = 16


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


def channel_strip(dry: np.ndarray, part: Part, sample_rate: int, bpm: float,
                  voicing: list[Plugin] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """The part's stem from its dry note audio (float32, changed in place): voicing, inserts, automation, pan, sends."""
    amounts = _amounts(part)
    x = dry
    if voicing:
        x = Pedalboard(voicing)(x, sample_rate)
    inserts = _inserts(amounts)
    if inserts:
        before = _rms(x)
        x = Pedalboard(inserts)(x, sample_rate)
        after = _rms(x)
        if "drive" in amounts and after > 0:
            x *= np.float32(before / after)  # drive changes colour, not level
    x = apply_automation(x, part, sample_rate)
    if part.gain_db:
        x *= np.float32(10.0 ** (part.gain_db / 20.0))
    if part.pan:
        x = pan(x, part.pan)
    sends = []
    if amounts.get("delay", 0.0) > 0:
        sends.append(Pedalboard([HighpassFilter(cutoff_frequency_hz=300.0), LowpassFilter(cutoff_frequency_hz=5000.0),
                                 Delay(delay_seconds=min(2.0, 0.75 * 60.0 / bpm), feedback=0.35, mix=1.0),
                                 Gain(gain_db=20.0 * np.log10(0.5 * amounts["delay"]))]))
    if amounts.get("reverb", 0.0) > 0:
        a = amounts["reverb"]
        sends.append(Pedalboard([HighpassFilter(cutoff_frequency_hz=150.0),
                                 Reverb(room_size=0.55 + 0.4 * a, damping=0.45, wet_level=0.45 * a, dry_level=0.0,
                                        width=1.0)]))
    wet = None
    for send in sends:
        tail = fade_tail(send(x, sample_rate), sample_rate, TAIL_FADE_S)
        if wet is None:
            wet = tail
        else:
            wet += tail
        del tail
    stem = fade_tail(x, sample_rate, DRY_FADE_S)
    if wet is not None:
        stem += wet
    return stem, {"effects": dict(amounts), "automation": sorted(part.automation)}
