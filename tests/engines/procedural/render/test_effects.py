"""The channel strip: automation, pan, inserts and sends on real rendered parts."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.render import render_score
from expotion_engine.engines.procedural.render.effects import channel_strip
from expotion_engine.engines.procedural.render.instruments import NoteCache, instrument, render_notes
from expotion_engine.engines.procedural.score import Automation, Part
from expotion_engine.errors import EngineError
from expotion_engine.types import Note

SR = 48000


def held_chord(instrument: str = "organ", seconds: float = 4.0, **kwargs) -> Part:
    notes = tuple(Note(p, 0.0, seconds, 100) for p in (48, 55, 64))
    return Part("harmony", instrument, notes, **kwargs)


def strip(part: Part, seconds: float = 4.0) -> np.ndarray:
    """The part's stem at its own level (before the bus gain)."""
    inst = instrument(part)
    dry = render_notes(part, inst, SR, round(seconds * SR), 0, NoteCache())
    return channel_strip(dry, part, SR, 120.0, inst.voicing() if inst.voicing else None)[0]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_gain_automation_follows_the_curve_smoothly():
    curve = Automation(2.0, (0.0, 0.0, 0.0, 0.0, -20.0, -20.0, -20.0, -20.0))
    audio = strip(held_chord(automation={"gain_db": curve}))
    plain = strip(held_chord())
    early = rms(audio[:, SR // 2: SR]) / rms(plain[:, SR // 2: SR])
    late = rms(audio[:, round(2.5 * SR): 3 * SR]) / rms(plain[:, round(2.5 * SR): 3 * SR])
    assert early == pytest.approx(1.0, abs=0.02)
    assert 20 * np.log10(late) == pytest.approx(-20.0, abs=0.5)
    envelope = [rms(audio[:, a: a + 480]) / rms(plain[:, a: a + 480]) for a in range(round(1.5 * SR), 2 * SR, 480)]
    steps = np.abs(np.diff(20 * np.log10(envelope)))
    assert steps.max() < 1.0  # -20 dB over 500 ms in 10 ms windows: a ramp of ~0.4 dB a step, not a jump


def test_brightness_automation_darkens_the_sound(spectrum):
    curve = Automation(1.0, (1.0, 1.0, 0.0, 0.0))
    audio = strip(held_chord("saw_lead", automation={"brightness": curve}))

    def high_share(x: np.ndarray) -> float:
        freqs, mag = spectrum(x, SR)
        return float((mag[freqs > 2000] ** 2).sum() / (mag**2).sum())

    assert high_share(audio[:, round(2.5 * SR): round(3.5 * SR)]) < 0.3 * high_share(audio[:, : SR])


def test_pan_moves_the_part_between_the_speakers():
    left = strip(held_chord("sub_bass", pan=-1.0))  # a mono sound: organ notes are spread by pitch
    centre = strip(held_chord("sub_bass", pan=0.0))
    assert rms(left[1]) < 1e-6 * rms(left[0])
    assert rms(centre[0]) == pytest.approx(rms(centre[1]), rel=0.01)
    assert rms(left[0]) ** 2 == pytest.approx(rms(centre[0]) ** 2 + rms(centre[1]) ** 2, rel=0.02)


def test_gain_db_scales_the_stem():
    quiet = strip(held_chord(gain_db=-12.0))
    plain = strip(held_chord())
    assert 20 * np.log10(rms(quiet) / rms(plain)) == pytest.approx(-12.0, abs=0.1)


@pytest.mark.parametrize("effect", ["reverb", "delay"])
def test_sends_add_a_tail_after_the_note(effect):
    note = (Note(60, 0.0, 0.2, 110),)
    wet = strip(Part("keys", "pluck", note, effects={effect: 0.8}), seconds=3.0)
    dry = strip(Part("keys", "pluck", note), seconds=3.0)
    window = slice(round(0.6 * SR), round(1.2 * SR))
    assert rms(wet[:, window]) > 5 * rms(dry[:, window])


def test_lowpass_effect_removes_highs(spectrum):
    bright = strip(held_chord("saw_lead"))
    dark = strip(held_chord("saw_lead", effects={"lowpass": 0.2}))

    def highs(x: np.ndarray) -> float:
        freqs, mag = spectrum(x, SR)
        return float((mag[freqs > 3000] ** 2).sum())

    assert highs(dark) < 0.1 * highs(bright)


def test_drive_keeps_the_level_but_adds_harmonics(spectrum):
    clean = strip(Part("bass", "sub_bass", (Note(45, 0.0, 2.0, 110),)), seconds=2.0)
    driven = strip(Part("bass", "sub_bass", (Note(45, 0.0, 2.0, 110),), effects={"drive": 0.8}), seconds=2.0)
    assert rms(driven) == pytest.approx(rms(clean), rel=0.05)
    freqs, clean_mag = spectrum(clean, SR)
    _, driven_mag = spectrum(driven, SR)
    upper = freqs > 400
    assert (driven_mag[upper] ** 2).sum() > 3 * (clean_mag[upper] ** 2).sum()


@pytest.mark.parametrize(("automation", "word"), [({"pitch": Automation(1.0, (0.0,))}, "'pitch'"),
                                                   ({"gain_db": Automation(1.0, ())}, "at least one value"),
                                                   ({"brightness": Automation(1.0, (0.5, float("nan")))}, "finite")])
def test_bad_automation_is_an_engine_error_naming_the_part(automation, word, make_score):
    with pytest.raises(EngineError, match=word) as err:
        render_score(make_score((held_chord(automation=automation),), 1.0), SR)
    assert "'harmony'" in str(err.value)
