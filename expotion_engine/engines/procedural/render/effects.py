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
from scipy.signal import sosfilt

from expotion_engine.engines.procedural.render.instruments import is_bass
from expotion_engine.engines.procedural.render.synth import _sos, highpass
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


def _curve(auto: Automation, n: int, sample_rate: int, start: int = 0) -> np.ndarray:
    """Automation values at samples ``start`` .. ``start + n``: linear between points (so never a step), held past
    the ends.

    Interpolated every 16 samples (a third of a millisecond) and held in between, which is inaudible
    and keeps long curves cheap.
    """
    values = np.asarray(auto.values, dtype=np.float64)
    first, skip = divmod(start, _CURVE_STEP)
    blocks = -(-(n + skip) // _CURVE_STEP)
    at = ((first + np.arange(blocks)) * _CURVE_STEP + _CURVE_STEP / 2) / sample_rate
    coarse = np.interp(at, np.arange(values.size) / auto.rate, values).astype(np.float32)
    return np.repeat(coarse, _CURVE_STEP)[skip:skip + n]


def _darkener() -> Pedalboard:
    return Pedalboard([LowpassFilter(cutoff_frequency_hz=600.0), LowpassFilter(cutoff_frequency_hz=600.0)])


def apply_automation(x: np.ndarray, part: Part, sample_rate: int, start: int = 0,
                     dark_filter: Pedalboard | None = None) -> np.ndarray:
    """Brightness (crossfade with a 600 Hz low-passed copy) and gain in dB, interpolated per sample (in place).

    ``x`` starts at sample ``start`` of the part; ``dark_filter`` is the low-pass that keeps its state from the
    block before (a part rendered block by block), None for a fresh one.
    """
    n = x.shape[-1]
    if "brightness" in part.automation:
        b = np.clip(_curve(part.automation["brightness"], n, sample_rate, start), 0.0, 1.0)
        if dark_filter is None:
            dark = _darkener()(x, sample_rate)
        else:
            dark = dark_filter(x, sample_rate, reset=False)
        x -= dark
        x *= b
        x += dark
        del dark
    if "gain_db" in part.automation:
        db = _curve(part.automation["gain_db"], n, sample_rate, start)
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
    return _reverb_board(low_cut, size, damping, level)(x, sample_rate)


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


class _ChainStream:
    """A plugin chain that keeps its state from one block to the next (every Chorus as a :func:`stereo_chorus`)."""

    def __init__(self, chain: list[Plugin]) -> None:
        self.steps: list[Pedalboard | tuple[Chorus, Chorus]] = []
        plain: list[Plugin] = []
        for plugin in chain:
            if isinstance(plugin, Chorus):
                if plain:
                    self.steps.append(Pedalboard(plain))
                    plain = []
                self.steps.append((plugin, Chorus(rate_hz=plugin.rate_hz * _TWIN_RATE, depth=plugin.depth,
                                                  centre_delay_ms=plugin.centre_delay_ms * _TWIN_DELAY,
                                                  feedback=plugin.feedback, mix=plugin.mix)))
            else:
                plain.append(plugin)
        if plain:
            self.steps.append(Pedalboard(plain))

    def __call__(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        for step in self.steps:
            if isinstance(step, tuple):
                x = np.concatenate([step[0](x[:1], sample_rate, reset=False), step[1](x[1:], sample_rate, reset=False)])
            else:
                x = step(x, sample_rate, reset=False)
        return x


class _EchoStream:
    """:func:`ping_pong` block by block: the band-limited source's last echoes' worth kept between blocks."""

    def __init__(self, sample_rate: int, n_samples: int, seconds: float, feedback: float, level: float,
                 width: float) -> None:
        self.sample_rate = sample_rate
        self.source = Pedalboard([HighpassFilter(cutoff_frequency_hz=300.0), LowpassFilter(cutoff_frequency_hz=5000.0)])
        step = max(1, int(round(seconds * sample_rate)))
        place = float(np.clip(_ECHO_PLACE * width, 0.0, 1.0))
        self.taps: list[tuple[int, np.float32, np.float32]] = []
        gain, k = level, 1
        while gain > _ECHO_FLOOR and k * step < n_samples:
            angle = (place * (-1.0 if k % 2 else 1.0) + 1.0) * np.pi / 4.0
            self.taps.append((k * step, np.float32(gain * np.cos(angle) * np.sqrt(2.0)),
                              np.float32(gain * np.sin(angle) * np.sqrt(2.0))))
            gain *= feedback
            k += 1
        self.history = np.zeros(self.taps[-1][0] if self.taps else 0, dtype=np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        m = x.shape[-1]
        src = self.source(x.mean(axis=0, keepdims=True), self.sample_rate, reset=False)[0]
        held = self.history.size
        joined = np.concatenate([self.history, src])
        out = np.zeros_like(x)
        for delay, left, right in self.taps:
            past = joined[held - delay: held - delay + m]
            out[0] += left * past
            out[1] += right * past
        self.history = joined[joined.size - held:] if held else self.history
        return out


def _fade_at(x: np.ndarray, start: int, n_samples: int, length: int) -> np.ndarray:
    """:func:`fade_tail` of a part ``n_samples`` long on its block ``x`` that starts at ``start`` (in place)."""
    length = min(length, n_samples)
    begin = n_samples - length
    a, b = max(start, begin), min(start + x.shape[-1], n_samples)
    if length and b > a:
        ramp = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, length, dtype=np.float32))
        x[..., a - start:b - start] *= ramp[a - begin:b - begin]
    return x


class StripStream:
    """:func:`channel_strip` block by block in time order, every effect keeping its state between blocks.

    :meth:`process` returns the stem's block before :func:`cap_side`, whose scale depends on the whole
    stem: it is known once every block went through (:meth:`side_scale`) and is applied when the stem is
    read back. A part with ``drive`` needs its level change first (:meth:`measure_drive` on every dry
    block of a first pass, then :meth:`use_drive_level`), since :func:`channel_strip` takes it over the
    whole part.
    """

    def __init__(self, part: Part, sample_rate: int, n_samples: int, bpm: float,
                 voicing: list[Plugin] | None = None, width: float = 1.0, room: float = 0.0) -> None:
        self.part, self.sample_rate, self.n_samples, self.width = part, sample_rate, n_samples, width
        self.amounts = amounts = _amounts(part)
        self.voicing = _ChainStream(voicing) if voicing else None
        inserts = _inserts(amounts)
        self.inserts = _ChainStream(inserts) if inserts else None
        self.drive = "drive" in amounts
        self.drive_level = np.float32(1.0)
        self._energy = [0.0, 0.0]  # before and after the inserts, for the drive's level
        self.dark = _darkener() if "brightness" in part.automation else None
        self.bass = is_bass(part)
        self._mono_sos = _sos("highpass", float(min(MONO_BELOW_HZ, 0.45 * sample_rate)), sample_rate, 4)
        self._mono_state = np.zeros((self._mono_sos.shape[0], 2), dtype=np.float32)
        self.sends: list[Any] = []
        if amounts.get("delay", 0.0) > 0:
            self.sends.append(_EchoStream(sample_rate, n_samples, min(2.0, 0.75 * 60.0 / bpm), 0.35,
                                          0.5 * amounts["delay"], width))
        if amounts.get("reverb", 0.0) > 0:
            a = amounts["reverb"]
            self.sends.append(_reverb_board(150.0, 0.55 + 0.4 * a, 0.45, 0.45 * a))
            room = 0.0  # a part with a reverb send is in a space already
        if room > 0:
            self.sends.append(_reverb_board(200.0, 0.3, 0.6, 0.3 * room))
        self.room = room
        self._mid = self._side = 0.0

    def _front(self, dry: np.ndarray) -> np.ndarray:
        x = dry
        if self.voicing is not None:
            x = self.voicing(x, self.sample_rate)
        if self.inserts is not None:
            x = self.inserts(x, self.sample_rate)
        return x

    def measure_drive(self, dry: np.ndarray) -> None:
        """First pass of a part with drive: the energy before and after the inserts, block by block."""
        x = dry if self.voicing is None else self.voicing(dry, self.sample_rate)
        self._energy[0] += float(np.sum(np.square(x, dtype=np.float64)))
        if self.inserts is not None:
            x = self.inserts(x, self.sample_rate)
        self._energy[1] += float(np.sum(np.square(x, dtype=np.float64)))

    def use_drive_level(self, measured: StripStream) -> None:
        """Take the drive's level change from the first pass ``measured`` (drive changes colour, not level)."""
        before, after = measured._energy
        if after > 0:
            self.drive_level = np.float32(np.sqrt(before / after))

    def process(self, dry: np.ndarray, start: int) -> np.ndarray:
        """The stem's samples ``start`` .. ``start + len(dry)`` from the part's dry audio there (changed in place)."""
        x = self._front(dry)
        if self.drive:
            x *= self.drive_level
        x = apply_automation(x, self.part, self.sample_rate, start, self.dark)
        if self.bass:
            side = (x[0] - x[1]) * np.float32(0.5)
            high, self._mono_state = sosfilt(self._mono_sos, side, zi=self._mono_state)
            low = side - high.astype(np.float32, copy=False)
            x[0] -= low
            x[1] += low
        if self.part.gain_db:
            x *= np.float32(10.0 ** (self.part.gain_db / 20.0))
        if self.part.pan:
            x = pan(x, self.part.pan)
        wet = None
        for send in self.sends:
            tail = send(x) if isinstance(send, _EchoStream) else send(x, self.sample_rate, reset=False)
            tail = _fade_at(tail, start, self.n_samples, int(TAIL_FADE_S * self.sample_rate))
            if wet is None:
                wet = tail
            else:
                wet += tail
        stem = _fade_at(x, start, self.n_samples, int(DRY_FADE_S * self.sample_rate))
        if wet is not None:
            stem += wet
        stem = widen(stem, self.width)
        if not self.part.pan:
            left, right = stem[0].astype(np.float64), stem[1].astype(np.float64)
            self._mid += float(np.sum(np.square(left + right)))
            self._side += float(np.sum(np.square(left - right)))
        return stem

    def side_scale(self, most_db: float = MOST_SIDE_DB) -> float:
        """The width :func:`cap_side` gives the whole stem (1.0: left as it is)."""
        m, s = self._mid, self._side
        if m > 0 and s > m * 10.0 ** (most_db / 10.0):
            return float(np.sqrt(m / s) * 10.0 ** (most_db / 20.0))
        return 1.0

    def info(self) -> dict[str, Any]:
        return {"effects": dict(self.amounts), "automation": sorted(self.part.automation), "width": self.width,
                "room": self.room}


def _reverb_board(low_cut: float, size: float, damping: float, level: float) -> Pedalboard:
    """The reverb send: a high-pass at ``low_cut`` into a wet-only stereo Freeverb."""
    return Pedalboard([HighpassFilter(cutoff_frequency_hz=low_cut),
                       Reverb(room_size=size, damping=damping, wet_level=level, dry_level=0.0, width=1.0)])
