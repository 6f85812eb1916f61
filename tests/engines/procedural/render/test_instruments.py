"""Each built-in instrument on single notes: pitch at the fundamental, onset on time, velocity, drum spectra."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.render import INSTRUMENTS
from expotion_engine.engines.procedural.render.drums import PIECES
from expotion_engine.engines.procedural.render.instruments import NoteCache, instrument, render_notes
from expotion_engine.engines.procedural.render.synth import midi_hz
from expotion_engine.engines.procedural.score import Part
from expotion_engine.types import Note

SR = 48000
PITCHED = sorted(name for name, inst in INSTRUMENTS.items() if inst.family != "drums")
DRUM_KITS = sorted(name for name, inst in INSTRUMENTS.items() if inst.family == "drums")


def dry(part: Part, duration: float = 1.5, sample_rate: int = SR) -> np.ndarray:
    """The part's notes through its instrument, before any effect."""
    return render_notes(part, instrument(part), sample_rate, round(duration * sample_rate), 7, NoteCache())


def onset(x: np.ndarray, fraction: float = 1e-3) -> int:
    """First sample above ``fraction`` of the peak."""
    level = np.abs(x).max(axis=0)
    return int(np.flatnonzero(level > fraction * level.max())[0])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize("name", PITCHED)
@pytest.mark.parametrize("pitch", [45, 64])
def test_pitched_instrument_sounds_at_the_fundamental(name, pitch, one_note, spectrum):
    part = one_note(name, pitch=pitch, start=0.1, length=0.8)
    audio = dry(part)
    freqs, mag = spectrum(audio, SR)
    f0 = midi_hz(pitch)
    near = (freqs > f0 / 1.25) & (freqs < f0 * 1.25)
    peak = freqs[near][np.argmax(mag[near])]
    assert peak == pytest.approx(f0, rel=0.015)
    # the fundamental stands well out of the spectrum's floor and is among the strongest partials
    assert mag[near].max() > 100 * np.median(mag[freqs < 8000])
    assert mag[near].max() > 0.1 * mag[freqs < 0.45 * SR].max()


@pytest.mark.parametrize("name", PITCHED)
def test_pitched_instrument_starts_on_the_note(name, one_note):
    part = one_note(name, pitch=60, start=0.25, length=0.5)
    audio = dry(part)
    assert not np.any(audio[:, : round(0.25 * SR)])
    assert abs(onset(audio) - round(0.25 * SR)) <= 0.005 * SR


@pytest.mark.parametrize("name", PITCHED)
def test_louder_velocity_gives_a_louder_note(name, one_note):
    soft = dry(one_note(name, pitch=60, velocity=40))
    loud = dry(one_note(name, pitch=60, velocity=120))
    assert rms(loud) > 2.0 * rms(soft)


@pytest.mark.parametrize("name", ["piano", "pluck", "pluck_bass", "synth_bass", "saw_lead", "pad"])
def test_harder_notes_are_brighter(name, one_note, spectrum):
    def centroid(velocity: int) -> float:
        freqs, mag = spectrum(dry(one_note(name, pitch=52, velocity=velocity)), SR)
        return float((freqs * mag).sum() / mag.sum())

    assert centroid(125) > 1.1 * centroid(30)


@pytest.mark.parametrize("name", ["piano", "pad", "strings", "epiano", "organ", "saw_lead"])
def test_note_off_releases_the_note(name, one_note):
    audio = dry(one_note(name, pitch=60, start=0.1, length=0.4), duration=3.0)
    held = rms(audio[:, round(0.3 * SR): round(0.5 * SR)])
    assert rms(audio[:, round(2.5 * SR):]) < 0.01 * held


def test_legato_lead_glides_from_the_previous_pitch(spectrum):
    notes = (Note(60, 0.0, 0.5, 100), Note(72, 0.5, 1.0, 100))
    audio = dry(Part("melody", "saw_lead", notes), duration=1.0)
    freqs, mag = spectrum(audio[:, round(0.502 * SR): round(0.522 * SR)], SR)
    band = (freqs > 200) & (freqs < 600)
    assert freqs[band][np.argmax(mag[band])] < midi_hz(70)  # 20 ms in, still on its way up to C5


def test_other_sample_rates_keep_the_pitch(one_note, spectrum):
    audio = dry(one_note("pluck", pitch=69, length=0.8), sample_rate=44100)
    freqs, mag = spectrum(audio, 44100)
    band = (freqs > 300) & (freqs < 600)
    assert freqs[band][np.argmax(mag[band])] == pytest.approx(440.0, rel=0.01)


def band_fraction(x: np.ndarray, spectrum, low: float, high: float) -> float:
    freqs, mag = spectrum(x, SR)
    power = mag**2
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


@pytest.mark.parametrize("kit", DRUM_KITS)
def test_kick_is_low_and_hats_are_high(kit, one_note, spectrum):
    kick = dry(one_note(kit, pitch=36, channel=9))
    hat = dry(one_note(kit, pitch=42, channel=9))
    assert band_fraction(kick, spectrum, 20, 150) > 0.7
    assert band_fraction(hat, spectrum, 5000, 24000) > 0.8


def test_kick_pitch_falls(one_note, spectrum):
    kick = dry(one_note("drums", pitch=36, start=0.0, channel=9))

    def main_freq(a: float, b: float) -> float:
        freqs, mag = spectrum(kick[:, round(a * SR): round(b * SR)], SR)
        return float(freqs[np.argmax(mag)])

    assert main_freq(0.0, 0.02) > 1.5 * main_freq(0.1, 0.3)


def test_snare_has_a_tone_and_noise(one_note, spectrum):
    snare = dry(one_note("drums", pitch=38, channel=9))
    assert band_fraction(snare, spectrum, 150, 450) > 0.1
    assert band_fraction(snare, spectrum, 2000, 12000) > 0.3


@pytest.mark.parametrize("kit", DRUM_KITS)
@pytest.mark.parametrize("pitch", sorted(set(PIECES) - {55}))
def test_every_drum_hits_on_time_and_louder_when_harder(kit, pitch, one_note):
    soft = dry(one_note(kit, pitch=pitch, start=0.2, velocity=40, channel=9))
    loud = dry(one_note(kit, pitch=pitch, start=0.2, velocity=120, channel=9))
    assert abs(onset(loud, 0.01) - round(0.2 * SR)) <= 0.003 * SR
    assert rms(loud) > 2.0 * rms(soft)


def test_toms_go_down_in_pitch(one_note, spectrum):
    def main_freq(pitch: int) -> float:
        freqs, mag = spectrum(dry(one_note("drums", pitch=pitch, channel=9)), SR)
        return float(freqs[np.argmax(mag)])

    assert main_freq(50) > main_freq(47) > main_freq(45) > main_freq(41)


@pytest.mark.parametrize("kit", DRUM_KITS)
def test_reverse_cymbal_swells_into_its_note_on(kit, one_note):
    audio = dry(one_note(kit, pitch=55, start=1.2, length=1.0, channel=9), duration=2.5)
    envelope = np.abs(audio).max(axis=0)
    assert not np.any(audio[:, : round(0.19 * SR)])
    assert abs(int(np.argmax(envelope)) - round(1.2 * SR)) <= 0.02 * SR
    assert rms(audio[:, round(0.25 * SR): round(0.45 * SR)]) < 0.2 * rms(audio[:, round(1.0 * SR): round(1.2 * SR)])
    assert rms(audio[:, round(1.25 * SR): round(1.5 * SR)]) > 0.05 * rms(audio[:, round(1.0 * SR): round(1.2 * SR)])


def test_repeated_hats_vary_but_the_render_is_deterministic():
    notes = tuple(Note(42, 0.25 * i, 0.25 * i + 0.05, 100, 9) for i in range(4))
    part = Part("drums", "drums", notes)
    audio = dry(part)
    hits = [audio[:, round(0.25 * i * SR): round(0.25 * i * SR) + 2000] for i in range(2)]
    assert not np.array_equal(hits[0], hits[1])
    np.testing.assert_array_equal(audio, dry(part))


FAMILY_LUFS = {"lead": -17.0, "drums": -18.0, "keys": -18.0, "bass": -19.0, "bell": -20.0, "strings": -20.0,
               "pad": -21.0}


def calibration_line(name: str) -> tuple[Note, ...]:
    family = INSTRUMENTS[name].family
    if family == "drums":
        beat = [Note(42, 0.25 * i, 0.25 * i + 0.05, 90, 9) for i in range(32)]
        beat += [Note(36 if i % 4 == 0 else 38, 0.25 * i, 0.25 * i + 0.1, 110 if i % 4 == 0 else 100, 9)
                 for i in range(0, 32, 2)]
        return tuple(beat)
    if family in ("pad", "strings"):
        return tuple(Note(60 + (0, 4, 7, 5)[i], 2.0 * i, 2.0 * i + 1.9, 100) for i in range(4))
    base = 36 if family == "bass" else 60
    return tuple(Note(base + (0, 2, 4, 5, 7, 9, 11, 12)[i % 8], 0.5 * i, 0.5 * i + 0.45, 100) for i in range(16))


@pytest.mark.parametrize("name", sorted(INSTRUMENTS))
def test_instruments_are_calibrated_to_their_family_loudness(name, lufs):
    audio = dry(Part("x", name, calibration_line(name)), duration=9.0)
    assert lufs(audio, SR) == pytest.approx(FAMILY_LUFS[INSTRUMENTS[name].family], abs=1.0)


def test_a_chord_part_sits_as_loud_as_a_line(lufs):
    line = tuple(Note(60 + (0, 4, 7)[i % 3], 1.0 * i, 1.0 * i + 0.9, 100) for i in range(6))
    chords = tuple(Note(60 + d, 1.0 * i, 1.0 * i + 0.9, 100) for i in range(6) for d in (0, 4, 7))
    single = lufs(dry(Part("x", "organ", line), duration=7.0), SR)
    triads = lufs(dry(Part("x", "organ", chords), duration=7.0), SR)
    assert triads == pytest.approx(single, abs=1.5)
