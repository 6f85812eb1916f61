"""Sampled voices: a part's notes played by a General MIDI SoundFont bank through TinySoundFont.

Each part plays on its own copy of the loaded bank (the samples are shared), so its stem holds
only its own notes. A note plays on its own MIDI channel (``Note.channel``) with the GM program of
the part's instrument (a note's non-zero ``Note.program`` overrides it for its channel); a drum kit
plays every note on channel 10 from bank 128. The bank's own level differs per preset and per
bank, so every (bank, program) is measured once on the synth path's calibration line for its
family and scaled to the loudness that family has there (a line at velocity 100 and gain 0: lead
-17 LUFS, drums and keys -18, bass -19, strings and bells -20, pads -21); chord parts are scaled
by 1/sqrt(polyphony) as in the synth path. A bank's samples and TinySoundFont's voices carry a DC
offset and sub-sonic drift (a string pad averaged +1..+6e-3 every second, its content below 20 Hz
only 20 dB under its level), so every part is high-passed at 20 Hz (:class:`DCBlocker`) before
its channel strip: the stems still sum to the mix, and a part streamed window by window keeps the
filter's state. Rendering is deterministic: the same notes give the same samples.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.signal import butter, sosfilt

from expotion_engine.engines.procedural.render.bus import integrated_loudness
from expotion_engine.engines.procedural.render.instruments import ALIASES, polyphony
from expotion_engine.engines.procedural.render.soundfont import Bank, load_bank
from expotion_engine.engines.procedural.score import Part
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, check_cancel

DRUM_CHANNEL = 9  # MIDI channel 10
DRUM_BANK = 128
FAMILY_LUFS = {"lead": -17.0, "drums": -18.0, "keys": -18.0, "bass": -19.0, "strings": -20.0, "bell": -20.0,
               "pad": -21.0}
_MAX_VOICES = 256
_BLOCK = 8192  # frames rendered per call
#: the DC blocker's corner (Hz) and order: 4th-order Butterworth, -24 dB at 10 Hz, 0.02 dB down at 40 Hz
DC_CUTOFF_HZ = 20.0
DC_ORDER = 4


@dataclass(frozen=True)
class GMVoice:
    """The General MIDI program an instrument name plays, its level family and the register it is measured in."""

    program: int
    family: str
    register: int = 60
    drums: bool = False
    stand_in: str | None = None  # built-in synth sound when there is no bank (None: the name is a built-in sound)


GM_VOICES: dict[str, GMVoice] = {
    # the built-in sounds' nearest General MIDI programs
    "drums": GMVoice(0, "drums", drums=True),
    "electronic_drums": GMVoice(25, "drums", drums=True),
    "sub_bass": GMVoice(38, "bass", 36),
    "pluck_bass": GMVoice(33, "bass", 36),
    "synth_bass": GMVoice(38, "bass", 36),
    "pad": GMVoice(89, "pad"),
    "strings": GMVoice(48, "strings"),
    "brass": GMVoice(61, "strings"),
    "piano": GMVoice(0, "keys"),
    "epiano": GMVoice(4, "keys"),
    "pluck": GMVoice(46, "keys"),
    "organ": GMVoice(19, "keys"),
    "saw_lead": GMVoice(81, "lead", 72),
    "square_lead": GMVoice(80, "lead", 72),
    "bell": GMVoice(9, "bell", 84),
    # orchestral and acoustic sounds only a bank has (the synthesiser plays the stand-in without one)
    "violin": GMVoice(40, "strings", 72, stand_in="strings"),
    "cello": GMVoice(42, "strings", 48, stand_in="strings"),
    "contrabass": GMVoice(43, "bass", 36, stand_in="strings"),
    "pizzicato": GMVoice(45, "keys", stand_in="pluck"),
    "harp": GMVoice(46, "keys", stand_in="pluck"),
    "slow_strings": GMVoice(49, "strings", stand_in="strings"),
    "choir": GMVoice(52, "pad", stand_in="pad"),
    "trumpet": GMVoice(56, "lead", 72, stand_in="brass"),
    "trombone": GMVoice(57, "strings", 48, stand_in="brass"),
    "french_horn": GMVoice(60, "strings", stand_in="brass"),
    "oboe": GMVoice(68, "lead", 72, stand_in="square_lead"),
    "bassoon": GMVoice(70, "bass", 48, stand_in="synth_bass"),
    "clarinet": GMVoice(71, "lead", 67, stand_in="square_lead"),
    "flute": GMVoice(73, "lead", 79, stand_in="square_lead"),
    "timpani": GMVoice(47, "drums", 43, stand_in="sub_bass"),
    "orchestral_drums": GMVoice(48, "drums", drums=True, stand_in="drums"),  # concert bass drum, snare, cymbals
    "brush_drums": GMVoice(40, "drums", drums=True, stand_in="drums"),
    "acoustic_bass": GMVoice(32, "bass", 36, stand_in="pluck_bass"),
    "nylon_guitar": GMVoice(24, "keys", stand_in="pluck"),
    "celesta": GMVoice(8, "bell", 84, stand_in="bell"),
    "marimba": GMVoice(12, "bell", 72, stand_in="bell"),
}
#: the synth sound each bank-only instrument falls back to
STAND_INS = {name: voice.stand_in for name, voice in GM_VOICES.items() if voice.stand_in is not None}


def gm_voice(part: Part) -> GMVoice:
    """The General MIDI voice of ``part``'s instrument (EngineError naming the instruments a bank can play)."""
    name = ALIASES.get(part.instrument, part.instrument)
    if name not in GM_VOICES:
        raise EngineError(f"Part {part.name!r} asks for the sampled voice of {part.instrument!r}, which has no "
                          f"General MIDI program; sampled instruments are: {', '.join(sorted(GM_VOICES))}.")
    return GM_VOICES[name]


def default_voice(instrument: str) -> str:
    """``sampled`` for instruments only a bank has, ``synth`` for the built-in sounds."""
    return "sampled" if instrument in STAND_INS else "synth"


def voice_of(part: Part) -> str:
    """The voice ``part`` asks for: its own ``voice``, else its instrument's default."""
    return part.voice or default_voice(part.instrument)


def synth_part(part: Part) -> Part:
    """``part`` as the synthesiser plays it: a bank-only instrument becomes its built-in stand-in."""
    stand_in = STAND_INS.get(part.instrument)
    return part if stand_in is None else replace(part, instrument=stand_in)


@dataclass(frozen=True)
class BankPreset:
    """The bank preset a channel plays: its bank and program numbers and the bank's name for it."""

    bank: int
    program: int
    name: str


def _preset(font: Any, program: int, drums: bool) -> BankPreset:
    """The bank's preset for ``program``; a bank without it plays its standard kit or piano instead."""
    bank = DRUM_BANK if drums else 0
    for b, p in ((bank, program), (bank, 0), (0, program), (0, 0)):
        if font.get_preset_index(b, p) >= 0:
            return BankPreset(b, p, font.get_preset_name(b, p))
    raise EngineError(f"The SoundFont has no preset for bank {bank} program {program} and no piano to stand in; "
                      "use a General MIDI bank.")


def _synth(font: Any, sample_rate: int) -> Any:
    # the binding's own SoundFont class: the public ``tinysoundfont.Synth`` cannot copy a loaded bank
    from tinysoundfont import _tinysoundfont

    synth = _tinysoundfont.SoundFont(font)  # a copy: its own channels and voices, the bank's samples shared
    synth.set_output(_tinysoundfont.OutputMode.StereoInterleaved, sample_rate, 0.0)
    synth.set_max_voices(_MAX_VOICES)
    return synth


class _Player:
    """Note events ``(sample, on, channel, pitch, velocity)`` in time order played by a copy of ``font``, window by
    window (:meth:`render`), so a long part never needs its whole length in memory.

    The synth is always asked for the same pieces (up to each event, in calls of at most 8192 frames) whatever
    the windows: its envelopes step in 64-frame blocks counted from each call, so cutting a call at a window's
    end would change every note sounding across it. A piece running past a window is kept for the next one.
    """

    def __init__(self, font: Any, events: list[tuple[int, int, int, int, int]], programs: dict[int, BankPreset],
                 drums: bool, sample_rate: int) -> None:
        self.synth = _synth(font, sample_rate)
        for channel, preset in programs.items():
            self.synth.channel_set_bank(channel, preset.bank)
            self.synth.channel_set_preset_number(channel, preset.program, drums)
        self.events = events
        self._block = np.zeros((_BLOCK, 2), dtype=np.float32)  # the binding writes interleaved frames
        self._view = memoryview(self._block).cast("B")
        self._pieces = self._play()
        self._carry = np.zeros((2, 0), dtype=np.float32)
        self.at = 0  # frames handed out so far
        self._cancel: CancelEvent | None = None

    def _piece(self, m: int) -> np.ndarray:
        self.synth.render(self._view[: m * 8], False)
        return self._block[:m].T.copy()

    def _play(self) -> Any:
        """Every piece the synth renders, in order: up to each event (then the event), then on without end."""
        at = 0
        for index, (when, on, channel, pitch, velocity) in enumerate(self.events):
            if index % 256 == 0:
                check_cancel(self._cancel)
            while at < when:
                m = min(_BLOCK, when - at)
                yield self._piece(m)
                at += m
            if on:
                self.synth.channel_note_on(channel, pitch, velocity / 127.0)
            else:
                self.synth.channel_note_off(channel, pitch)
        while True:
            yield self._piece(_BLOCK)

    def render(self, b: int, cancel: CancelEvent | None = None) -> np.ndarray:
        """Stereo float32 from where the last call ended up to sample ``b``."""
        self._cancel = cancel
        pieces, have = [self._carry], self._carry.shape[1]
        while have < b - self.at:
            piece = next(self._pieces)
            pieces.append(piece)
            have += piece.shape[1]
        joined = np.concatenate(pieces, axis=1) if len(pieces) > 1 else self._carry
        out, self._carry = joined[:, :b - self.at], joined[:, b - self.at:]
        self.at = b
        return np.ascontiguousarray(out)


def _play(font: Any, events: list[tuple[int, int, int, int, int]], programs: dict[int, BankPreset], drums: bool,
          sample_rate: int, n_samples: int, cancel: CancelEvent | None = None) -> np.ndarray:
    """Stereo float32 ``(2, n_samples)`` of note events ``(sample, on, channel, pitch, velocity)`` in time order."""
    return _Player(font, events, programs, drums, sample_rate).render(n_samples, cancel)


def _events(part: Part, voice: GMVoice, sample_rate: int) -> tuple[list[tuple[int, int, int, int, int]],
                                                                    dict[int, int]]:
    """Note-on/off events in sample order (offs before ons at the same sample) and each channel's program."""
    events = []
    programs: dict[int, int] = {}
    for note in part.notes:
        channel = DRUM_CHANNEL if voice.drums else note.channel & 0x0F
        if channel not in programs:
            programs[channel] = note.program if note.program and not voice.drums else voice.program
        start = max(0, int(round(note.start * sample_rate)))
        end = max(start + 1, int(round(note.end * sample_rate)))
        events.append((start, 1, channel, note.pitch, note.velocity))
        events.append((end, 0, channel, note.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    return events, programs


def _reference(voice: GMVoice, sample_rate: int) -> tuple[list[tuple[int, int, int, int, int]], int]:
    """The synth path's calibration line for the voice's family, as events, and its length in samples.

    Drums: 16th hats with kick and snare on alternate 8ths; pads and strings: four 1.9 s notes; the
    rest: 16 notes of a major scale, 0.45 s each every 0.5 s; all from the voice's register, velocity 100.
    """
    if voice.drums:
        notes = [(0.25 * i, 0.25 * i + 0.05, 42, 90) for i in range(32)]
        notes += [(0.25 * i, 0.25 * i + 0.1, 36 if i % 4 == 0 else 38, 110 if i % 4 == 0 else 100)
                  for i in range(0, 32, 2)]
    elif voice.family in ("pad", "strings"):
        notes = [(2.0 * i, 2.0 * i + 1.9, voice.register + (0, 4, 7, 5)[i], 100) for i in range(4)]
    else:
        notes = [(0.5 * i, 0.5 * i + 0.45, voice.register + (0, 2, 4, 5, 7, 9, 11, 12)[i % 8], 100)
                 for i in range(16)]
    channel = DRUM_CHANNEL if voice.drums else 0
    events = []
    for start, end, pitch, velocity in notes:
        events.append((int(round(start * sample_rate)), 1, channel, pitch, velocity))
        events.append((int(round(end * sample_rate)), 0, channel, pitch, 0))
    return sorted(events, key=lambda e: (e[0], e[1])), int(round((max(n[1] for n in notes) + 1.0) * sample_rate))


_LEVELS: dict[tuple, float] = {}
_LEVELS_LOCK = threading.Lock()


def calibration_gain(bank: Bank, voice: GMVoice, preset: BankPreset, sample_rate: int) -> float:
    """Linear gain that brings ``preset``'s reference phrase to its family's loudness (measured once per bank)."""
    stat = bank.path.stat()
    key = (str(bank.path.resolve()), stat.st_mtime_ns, preset.bank, preset.program, voice.drums, voice.register,
           voice.family, sample_rate)
    with _LEVELS_LOCK:
        if key in _LEVELS:
            return _LEVELS[key]
    font = load_bank(bank)
    events, length = _reference(voice, sample_rate)
    audio = _play(font, events, {DRUM_CHANNEL if voice.drums else 0: preset}, voice.drums, sample_rate, length)
    level = integrated_loudness(audio, sample_rate)
    gain = 10.0 ** ((FAMILY_LUFS[voice.family] - level) / 20.0) if np.isfinite(level) else 1.0
    with _LEVELS_LOCK:
        _LEVELS[key] = gain
    return gain


@dataclass(frozen=True, eq=False)
class SampledPart:
    """A part's dry stem from the bank and what played it."""

    audio: np.ndarray
    presets: dict[int, BankPreset]

    def describe(self, bank: Bank) -> str:
        """``soundfont:<bank file> <bank>:<program> <preset name>`` for each channel, as the take reports it."""
        played = ", ".join(f"{p.bank}:{p.program} {p.name}" for p in self.presets.values())
        return f"soundfont:{bank.name} {played}"


class DCBlocker:
    """A stereo high-pass at :data:`DC_CUTOFF_HZ` that keeps its state, so filtering in windows is filtering whole."""

    def __init__(self, sample_rate: int) -> None:
        self.sos = butter(DC_ORDER, DC_CUTOFF_HZ, "highpass", fs=sample_rate, output="sos")
        self.state = np.zeros((self.sos.shape[0], 2, 2))  # (sections, channels, 2): starts from silence

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """``audio`` (2, n) high-passed, continuing from the previous call, as float32."""
        if audio.shape[1] == 0:
            return audio
        out, self.state = sosfilt(self.sos, audio.astype(np.float64), axis=-1, zi=self.state)
        return out.astype(np.float32)


class SampledStream:
    """A part's notes played by ``bank``, levelled like the synth path and DC-blocked, rendered window by window in
    time order."""

    def __init__(self, part: Part, bank: Bank, sample_rate: int) -> None:
        voice = gm_voice(part)
        font = load_bank(bank)
        events, programs = _events(part, voice, sample_rate)
        self.part, self.bank = part, bank
        self.presets = {channel: _preset(font, program, voice.drums) for channel, program in programs.items()}
        self.player = _Player(font, events, self.presets, voice.drums, sample_rate)
        self.gain = np.float32(1.0)
        self.dc_blocker = DCBlocker(sample_rate)
        if self.presets:
            gains = [calibration_gain(bank, voice, preset, sample_rate) for preset in self.presets.values()]
            voices = 1.0 if voice.drums else polyphony(part.notes)
            self.gain = np.float32(float(np.mean(gains)) / np.sqrt(voices))

    def render(self, b: int, cancel: CancelEvent | None = None) -> np.ndarray:
        """Stereo float32 from where the last call ended up to sample ``b``."""
        audio = self.player.render(b, cancel)
        if self.presets:
            audio *= self.gain
        if not np.all(np.isfinite(audio)):
            raise EngineError(f"Part {self.part.name!r}: SoundFont {self.bank.name} produced non-finite samples.")
        return self.dc_blocker(audio)


def render_sampled(part: Part, bank: Bank, sample_rate: int, n_samples: int,
                   cancel: CancelEvent | None = None) -> SampledPart:
    """The part's notes played by ``bank``: stereo float32 ``(2, n_samples)``, levelled like the synth path."""
    stream = SampledStream(part, bank, sample_rate)
    return SampledPart(stream.render(n_samples, cancel), stream.presets)


__all__ = ["DC_CUTOFF_HZ", "DC_ORDER", "DRUM_CHANNEL", "FAMILY_LUFS", "GM_VOICES", "STAND_INS", "BankPreset",
           "DCBlocker", "GMVoice", "SampledPart", "SampledStream", "calibration_gain", "default_voice", "gm_voice",
           "render_sampled", "synth_part", "voice_of"]
