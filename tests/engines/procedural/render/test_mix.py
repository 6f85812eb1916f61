"""The stereo mix: every preset's side-to-mid in the range of recorded music, width from mono to wide, decorrelated
stereo sends, and cymbals at a recorded cymbal's brightness and level."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from expotion_engine.engines.procedural import ProceduralEngine
from expotion_engine.engines.procedural.render import render_score
from expotion_engine.engines.procedural.render.effects import channel_strip, ping_pong
from expotion_engine.engines.procedural.render.instruments import NoteCache, instrument, render_notes
from expotion_engine.engines.procedural.score import Part
from expotion_engine.engines.procedural.settings import validate_preset
from expotion_engine.errors import EngineError, PresetError
from expotion_engine.types import GenerationRequest, Note
from studio.presets import load_preset, preset_names
from tests.factories import make_control_track

SR = 22050
HI_SR = 44100  # for measurements above 10 kHz


def side_to_mid_db(x: np.ndarray) -> float:
    """Side (L-R) energy against mid (L+R) energy in dB, as a stereo meter reads it."""
    x = np.asarray(x, dtype=np.float64)
    mid, side = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2
    return float(10 * np.log10(np.sum(side**2) / np.sum(mid**2)))


def energy_above_db(x: np.ndarray, sample_rate: int, hz: float = 10000.0) -> float:
    """Share of the energy above ``hz`` in dB."""
    mono = np.asarray(x, dtype=np.float64).reshape(-1, x.shape[-1]).mean(axis=0)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1.0 / sample_rate)
    return float(10 * np.log10(power[freqs > hz].sum() / power.sum()))


@pytest.fixture(scope="module")
def controls():
    return make_control_track(12.0, energy=lambda t: 0.55 + 0.3 * np.sin(2 * np.pi * t / 12.0),
                              valence=lambda t: 0.3 * np.sin(t / 4.0), hits=[4.0, 8.5], seed=3)


@pytest.mark.parametrize("voice", ["preset", "synth"])
@pytest.mark.parametrize("name", preset_names())
def test_every_preset_has_a_stereo_image_like_recorded_music(name, voice, controls):
    """Recorded orchestral music measures about -2 dB side-to-mid, electronic about -6; a mono-ish mix below -12.

    ``preset``: the voices the preset chooses (sampled where a bank is installed); ``synth``: every part synthesised.
    """
    table = copy.deepcopy(load_preset(name).table)
    if voice == "synth":
        for part in table.get("parts", {}).values():
            part["voice"] = "synth"
    take = ProceduralEngine().generate(GenerationRequest(controls=controls, preset=table, seed=1, sample_rate=SR))
    assert -12.0 < side_to_mid_db(take.mix) < -2.0


def test_the_bass_stays_in_the_centre(controls):
    request = GenerationRequest(controls=controls, preset=load_preset("dance").table, seed=1, sample_rate=SR)
    bass = next(s for s in ProceduralEngine().generate(request).stems if s.name == "bass").audio
    low = np.fft.rfft(bass.astype(np.float64), axis=-1)
    below = np.fft.rfftfreq(bass.shape[-1], 1.0 / SR) < 100.0
    assert side_to_mid_db(np.fft.irfft(low * below, n=bass.shape[-1], axis=-1)) < -30.0


def test_width_zero_is_mono_and_more_width_is_wider(groove, make_score):
    score = make_score(groove(4.0), 4.0)
    mono = render_score(score, SR, width=0.0).mix
    np.testing.assert_allclose(mono[0], mono[1], atol=1e-6)
    ratios = [side_to_mid_db(render_score(score, SR, width=w).mix) for w in (0.5, 1.0, 1.5)]
    assert ratios[0] + 2.0 < ratios[1] < ratios[2] - 1.0


def test_more_bus_compression_packs_the_mix_denser_and_the_stems_still_null(groove, make_score, lufs):
    score = make_score(groove(6.0), 6.0)
    open_mix, dense_mix = (render_score(score, SR, compression=c) for c in (0.0, 1.0))

    def crest_db(x: np.ndarray) -> float:
        """Peak against RMS in 50 ms windows: how much louder the hits are than the body of the mix."""
        window = round(0.05 * SR)
        blocks = np.square(x[:, : x.shape[-1] // window * window].astype(np.float64)).mean(axis=0)
        rms = np.sqrt(blocks.reshape(-1, window).mean(axis=1))
        return float(20 * np.log10(rms.max() / np.median(rms[rms > 0])))

    assert dense_mix.info["glue_max_reduction_db"] > open_mix.info["glue_max_reduction_db"] + 2.0
    assert crest_db(dense_mix.mix) < crest_db(open_mix.mix) - 0.5
    for rendering in (open_mix, dense_mix):
        assert abs(lufs(rendering.mix, SR) - -14.0) <= 0.5
        assert rendering.info["stems_null_db"] < -60.0


def test_width_and_compression_are_checked(groove, make_score):
    with pytest.raises(EngineError, match="width"):
        render_score(make_score(groove(1.0), 1.0), SR, width=2.5)
    with pytest.raises(EngineError, match="compression"):
        render_score(make_score(groove(1.0), 1.0), SR, compression=1.5)
    with pytest.raises(PresetError, match="mix.width"):
        validate_preset({"mix": {"width": -0.5}})
    with pytest.raises(PresetError, match="mix.compression"):
        validate_preset({"mix": {"compression": 2}})
    assert validate_preset({})["mix"]["width"] == 1.0
    assert validate_preset({})["mix"]["compression"] == 0.3


def test_presets_differ_in_width_and_density():
    mixes = {name: validate_preset(load_preset(name).table)["mix"] for name in preset_names()}
    assert mixes["dance"]["compression"] > mixes["orchestral-tension"]["compression"] + 0.3
    assert mixes["dance"]["width"] > mixes["piano-solo"]["width"]
    assert len({(m["width"], m["compression"]) for m in mixes.values()}) >= 5


@pytest.mark.parametrize(("effects", "room"), [({"reverb": 0.6}, 0.0), ({}, 1.0)])
def test_reverb_and_room_are_stereo_from_a_mono_source(effects, room):
    hit = Part("drums", "drums", (Note(38, 0.1, 0.2, 110, 9),), effects=effects)
    dry = render_notes(hit, instrument(hit), SR, 3 * SR, 0, NoteCache()).mean(axis=0, keepdims=True)
    stem, _ = channel_strip(np.repeat(dry, 2, axis=0), hit, SR, 120.0, room=room)
    tail = stem[:, round(0.45 * SR):].astype(np.float64)  # the snare has died away: only the space sounds
    assert np.abs(dry[:, round(0.45 * SR):]).max() < 1e-3 * np.abs(dry).max()
    assert np.sqrt(np.mean(tail**2)) > 1e-4
    assert abs(np.corrcoef(tail[0], tail[1])[0, 1]) < 0.5


def test_delay_echoes_alternate_sides():
    x = np.zeros((2, SR), dtype=np.float32)
    x[:, 100] = 1.0
    echoes = ping_pong(x, SR, 0.2, 0.5, 0.5)
    first, second = (echoes[:, 100 + k * round(0.2 * SR): 100 + k * round(0.2 * SR) + 400] for k in (1, 2))
    assert np.abs(first[0]).max() > 3 * np.abs(first[1]).max()
    assert np.abs(second[1]).max() > 3 * np.abs(second[0]).max()
    assert np.abs(second).max() == pytest.approx(0.5 * np.abs(first).max(), rel=0.05)


def kit_part(with_crashes: bool) -> Part:
    """Four bars of kick, snare and eighth hats at 120 BPM, with a crash on every downbeat if asked."""
    notes = []
    for beat in range(16):
        t = 0.5 * beat
        notes.append(Note(36 if beat % 2 == 0 else 38, t, t + 0.1, 105, 9))
        notes += [Note(42, t + h, t + h + 0.05, 80, 9) for h in (0.0, 0.25)]
        if with_crashes and beat % 4 == 0:
            notes.append(Note(49, t, t + 0.5, 115, 9))
    return Part("drums", "drums", tuple(notes))


@pytest.mark.parametrize("kit", ["drums", "electronic_drums"])
def test_crashes_are_not_a_wash_of_highs(kit):
    """A crash on every bar puts well under a tenth of the kit's energy above 10 kHz (white-noise crashes: a third)."""
    part = Part("drums", kit, kit_part(True).notes)
    audio = render_notes(part, instrument(part), HI_SR, 9 * HI_SR, 1, NoteCache())
    assert energy_above_db(audio, HI_SR) < -14.0
    crash = render_notes(Part("c", kit, (Note(49, 0.0, 0.5, 115, 9),)), instrument(part), HI_SR, 3 * HI_SR, 1,
                         NoteCache())
    assert energy_above_db(crash, HI_SR) < -10.0


def test_a_crash_sits_under_the_snare(lufs):
    part = kit_part(False)
    inst = instrument(part)
    snare = render_notes(Part("s", "drums", (Note(38, 0.0, 0.1, 110, 9),)), inst, HI_SR, 2 * HI_SR, 1, NoteCache())
    crash = render_notes(Part("c", "drums", (Note(49, 0.0, 0.5, 110, 9),)), inst, HI_SR, 2 * HI_SR, 1, NoteCache())
    assert lufs(crash, HI_SR) < lufs(snare, HI_SR) - 1.0
