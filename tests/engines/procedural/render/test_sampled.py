"""Sampled voices: real notes through the General MIDI bank found on this machine, checked by independent analysis.

Onsets come from librosa's onset detector, pitch from librosa's pYIN, percussiveness from
librosa's harmonic/percussive separation, pan from the channel levels; bank discovery runs on
temporary folders holding copies of pretty_midi's TimGM6mb bank; the pull runs on a Debian
package built here and served from a ``file://`` URL.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import librosa
import numpy as np
import pytest

from expotion_engine.engines.procedural.render import ALIASES, INSTRUMENTS, render_score
from expotion_engine.engines.procedural.render import soundfont as soundfont_module
from expotion_engine.engines.procedural.render.sampled import (
    FAMILY_LUFS,
    GM_VOICES,
    gm_voice,
    render_sampled,
    voice_of,
)
from expotion_engine.engines.procedural.render.soundfont import ENV_VAR, Bank, bundled_bank, find_soundfont
from expotion_engine.engines.procedural.render.soundfont_pull import FILENAME, pull_soundfont
from expotion_engine.engines.procedural.score import Part
from expotion_engine.engines.procedural.settings import validate_preset
from expotion_engine.errors import EngineError, ModelNotFoundError, PresetError
from expotion_engine.types import Note

SR = 44100


@pytest.fixture(scope="module")
def bank() -> Bank:
    found = find_soundfont()
    if found is None:
        pytest.skip("no SoundFont bank on this machine (not even pretty_midi's TimGM6mb.sf2)")
    return found


def _mono(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).mean(axis=0)


def _onsets(x: np.ndarray) -> np.ndarray:
    return librosa.onset.onset_detect(y=_mono(x), sr=SR, units="time", hop_length=256, backtrack=False)


def _matches(expected: list[float], found: np.ndarray, tolerance: float) -> int:
    return sum(bool(np.any(np.abs(found - t) <= tolerance)) for t in expected)


def test_piano_onsets_land_at_the_note_times(bank: Bank) -> None:
    times = [0.3, 0.85, 1.5, 1.9, 2.7, 3.15, 3.8]
    pitches = [60, 64, 67, 72, 65, 69, 62]
    notes = tuple(Note(p, t, t + 0.3, 100) for p, t in zip(pitches, times, strict=True))
    played = render_sampled(Part("keys", "piano", notes), bank, SR, int(4.5 * SR))
    found = _onsets(played.audio)
    assert _matches(times, found, 0.035) == len(times), found
    assert len(found) <= len(times) + 1, found  # no spurious onsets between the notes


@pytest.mark.parametrize(("instrument", "pitch"), [("strings", 57), ("piano", 64), ("cello", 48), ("flute", 79)])
def test_a_sustained_note_sounds_at_its_pitch(bank: Bank, instrument: str, pitch: int) -> None:
    note = Note(pitch, 0.1, 2.1, 96)
    played = render_sampled(Part("line", instrument, (note,)), bank, SR, int(2.3 * SR))
    middle = _mono(played.audio)[int(0.6 * SR): int(1.8 * SR)]
    f0, voiced, _ = librosa.pyin(middle, fmin=librosa.midi_to_hz(pitch - 7), fmax=librosa.midi_to_hz(pitch + 7),
                                 sr=SR, frame_length=4096)
    assert np.mean(voiced) > 0.5
    cents = 1200.0 * np.log2(np.nanmedian(f0[voiced]) / librosa.midi_to_hz(pitch))
    assert abs(cents) < 25.0


def _energy_db(x: np.ndarray, start: float, stop: float) -> float:
    part = x[:, int(start * SR): int(stop * SR)].astype(np.float64)
    return float(10.0 * np.log10(np.mean(part ** 2) + 1e-20))


def test_velocity_and_note_end_are_honoured(bank: Bank) -> None:
    soft, hard = (render_sampled(Part("keys", "piano", (Note(60, 0.1, 0.6, v),)), bank, SR, SR).audio
                  for v in (40, 110))
    assert _energy_db(hard, 0.1, 0.5) > _energy_db(soft, 0.1, 0.5) + 6.0
    short, long = (render_sampled(Part("bow", "strings", (Note(55, 0.1, end, 100),)), bank, SR, int(2.5 * SR)).audio
                   for end in (1.0, 2.2))
    assert abs(_energy_db(short, 0.5, 0.9) - _energy_db(long, 0.5, 0.9)) < 0.5  # the same note until the release
    assert _energy_db(short, 1.7, 2.1) < _energy_db(long, 1.7, 2.1) - 20.0  # released at its end, held otherwise


@pytest.mark.parametrize(("instrument", "family"), [("strings", "strings"), ("piano", "keys"), ("drums", "drums"),
                                                  ("flute", "lead")])
def test_a_line_sits_at_its_familys_loudness(bank: Bank, lufs, instrument: str, family: str) -> None:
    # phrases unlike the calibration lines: other pitches, rhythms and lengths
    if instrument == "drums":
        pitches = [36, 42, 42, 38, 45, 42, 36, 38, 41, 42] * 2
        notes = tuple(Note(p, 0.3 * i, 0.3 * i + 0.1, 100, 9) for i, p in enumerate(pitches))
    else:
        root = gm_voice(Part("l", instrument, ())).register - 5
        step = 1.5 if instrument == "strings" else 0.4
        notes = tuple(Note(root + (0, 2, 4, 5, 7, 5, 4, 2)[i % 8], step * i, step * (i + 0.9), 100) for i in range(12))
    played = render_sampled(Part("line", instrument, notes), bank, SR, int((notes[-1].end + 0.5) * SR))
    assert abs(lufs(played.audio, SR) - FAMILY_LUFS[family]) < 3.0


def _percussive_share(x: np.ndarray) -> float:
    harmonic, percussive = librosa.effects.hpss(_mono(x))
    return float(np.sum(percussive ** 2) / (np.sum(harmonic ** 2) + np.sum(percussive ** 2)))


def test_drums_play_the_kit_on_channel_10(bank: Bank) -> None:
    times = [0.25, 0.75, 1.25, 1.75, 2.25, 2.75]
    pitches = [36, 38, 42, 36, 38, 49]
    kit = tuple(Note(p, t, t + 0.1, 110, 9) for p, t in zip(pitches, times, strict=True))
    drums = render_sampled(Part("drums", "drums", kit), bank, SR, int(3.5 * SR))
    assert next(iter(drums.presets)) == 9 and drums.presets[9].bank == 128
    found = _onsets(drums.audio)
    assert _matches(times, found, 0.03) == len(times), found
    # the same pitches played by a pitched instrument: a sustained tone, far less percussive
    tones = tuple(Note(60 + i, t, t + 0.45, 110) for i, t in enumerate(times))
    strings = render_sampled(Part("strings", "strings", tones), bank, SR, int(3.5 * SR))
    assert _percussive_share(drums.audio) > 0.5
    assert _percussive_share(drums.audio) > _percussive_share(strings.audio) + 0.3


def test_a_notes_program_overrides_the_instrument_on_its_channel(bank: Bank) -> None:
    notes = (Note(60, 0.1, 1.0, 100, 0), Note(67, 0.1, 1.0, 100, 2, program=73))
    played = render_sampled(Part("mixed", "strings", notes), bank, SR, SR)
    assert played.presets[0].program == 48 and played.presets[2].program == 73


def _side_balance_db(stem: np.ndarray) -> float:
    left, right = (float(np.sqrt(np.mean(stem[c].astype(np.float64) ** 2))) for c in (0, 1))
    return 20.0 * np.log10(right / left)


def test_stereo_position_follows_the_part_pan(bank: Bank, make_score) -> None:
    notes = tuple(Note(60 + 3 * (i % 4), 0.2 + 0.5 * i, 0.6 + 0.5 * i, 100) for i in range(6))
    balance = {}
    for pan in (-0.8, 0.0, 0.8):
        part = Part("line", "strings", notes, pan=pan, voice="sampled")
        rendering = render_score(make_score((part,), 3.6), SR, soundfont=bank.path)
        balance[pan] = _side_balance_db(rendering.stems["line"])
    assert balance[-0.8] < balance[0.0] - 10.0
    assert balance[0.8] > balance[0.0] + 10.0
    assert abs(balance[0.0]) < 4.0


def test_the_rendering_names_the_bank_and_stems_stay_exact(bank: Bank, make_score) -> None:
    notes = tuple(Note(57 + i, 0.1 + 0.4 * i, 0.5 + 0.4 * i, 90) for i in range(5))
    kit = tuple(Note(36 if i % 2 == 0 else 38, 0.5 * i, 0.5 * i + 0.1, 100, 9) for i in range(6))
    parts = (Part("harmony", "strings", notes, voice="sampled", effects={"reverb": 0.4}),
             Part("drums", "drums", kit, voice="sampled"),
             Part("melody", "saw_lead", notes))
    rendering = render_score(make_score(parts, 3.0), SR, soundfont=bank.path)
    info = rendering.info
    assert info["soundfont"] == bank.name
    assert info["parts"]["harmony"]["voice"] == "sampled"
    assert info["parts"]["harmony"]["sound"].startswith(f"soundfont:{bank.name} 0:48 ")
    assert info["parts"]["drums"]["sound"].startswith(f"soundfont:{bank.name} 128:0 ")
    assert info["parts"]["melody"] == {**info["parts"]["melody"], "voice": "synth", "sound": "saw_lead"}
    assert all(stem.shape == (2, 3 * SR) for stem in rendering.stems.values())
    np.testing.assert_allclose(sum(rendering.stems.values()), rendering.mix, atol=1e-5)


def test_the_take_names_the_bank_its_acoustic_preset_played(bank: Bank) -> None:
    from expotion_engine.engines.procedural import ProceduralEngine
    from expotion_engine.types import GenerationRequest
    from studio.presets import load_preset
    from tests.factories import make_control_track

    preset = load_preset("piano-solo").table
    assert preset["parts"]["harmony"]["voice"] == preset["parts"]["melody"]["voice"] == "sampled"
    request = GenerationRequest(controls=make_control_track(8.0, energy=0.6, seed=2), preset=preset, seed=3,
                                sample_rate=SR)
    take = ProceduralEngine().generate(request)
    assert take.info["render"]["soundfont"] == bank.name
    for name in ("harmony", "melody"):
        assert take.info["render"]["parts"][name]["sound"].startswith(f"soundfont:{bank.name} 0:0 ")


def test_sampled_rendering_is_deterministic(bank: Bank, make_score) -> None:
    notes = tuple(Note(48 + 5 * (i % 5), 0.05 + 0.3 * i, 0.9 + 0.3 * i, 70 + 5 * i) for i in range(8))
    score = make_score((Part("keys", "piano", notes, voice="sampled", effects={"reverb": 0.3}),), 3.5)
    first = render_score(score, SR, soundfont=bank.path)
    second = render_score(score, SR, soundfont=bank.path)
    assert np.array_equal(first.mix, second.mix)
    assert np.array_equal(first.stems["keys"], second.stems["keys"])


def _worst_mean_per_second(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    seconds = x.shape[1] // SR
    return float(np.abs(x[:, :seconds * SR].reshape(2, seconds, SR).mean(axis=2)).max())


def _below_20_hz_db(x: np.ndarray) -> float:
    """Energy under 20 Hz against the whole signal's (Hann-windowed FFT of the mono sum)."""
    power = np.abs(np.fft.rfft(_mono(x).astype(np.float64) * np.hanning(x.shape[1]))) ** 2
    return float(10.0 * np.log10(power[np.fft.rfftfreq(x.shape[1], 1.0 / SR) < 20.0].sum() / power.sum()))


@pytest.fixture(scope="module", params=["found", "bundled"])
def any_bank(request, bank: Bank) -> Bank:
    """The bank this machine finds, and pretty_midi's TimGM6mb (what plays when none is installed)."""
    if request.param == "found":
        return bank
    path = bundled_bank()
    if path is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    return find_soundfont(path)


def test_sampled_parts_carry_no_dc_or_sub_sonic_drift(any_bank: Bank) -> None:
    # cinematic's string pad and brass line as the engine composes them: the banks' strings averaged 4-8e-3 every
    # second and held energy 16-40 dB under their level below 20 Hz before the parts were high-passed
    from expotion_engine.engines.procedural import ProceduralEngine
    from expotion_engine.types import GenerationRequest
    from studio.presets import load_preset
    from tests.factories import make_control_track

    request = GenerationRequest(controls=make_control_track(12.0, energy=0.6, seed=2),
                                preset=load_preset("cinematic").table, seed=3, sample_rate=SR)
    score = ProceduralEngine().compose(request)
    rendering = render_score(score, SR, soundfont=any_bank.path)
    for name in ("harmony", "melody"):
        assert rendering.info["parts"][name]["voice"] == "sampled"
        part = next(p for p in score.parts if p.name == name)
        dry = render_sampled(part, any_bank, SR, rendering.mix.shape[1]).audio
        for label, audio in (("dry", dry), ("stem", rendering.stems[name])):
            assert _worst_mean_per_second(audio) < 1e-4, (name, label)
            assert _below_20_hz_db(audio) < -50.0, (name, label)
    mix = rendering.mix.astype(np.float64)
    residual = mix - sum(stem.astype(np.float64) for stem in rendering.stems.values())
    assert 10.0 * np.log10(np.sum(residual ** 2) / np.sum(mix ** 2)) < -120.0


def test_a_part_streamed_in_windows_is_the_part_rendered_whole(bank: Bank) -> None:
    # the DC blocker's state carries from window to window, as the block-streaming render needs
    from expotion_engine.engines.procedural.render.sampled import SampledStream

    notes = tuple(Note(p, 0.4 * i, 0.4 * i + 1.5, 90) for i, p in enumerate((48, 55, 60, 64, 43, 50, 57, 62)))
    part = Part("pad", "strings", notes, voice="sampled")
    n = int(5.0 * SR)
    whole = render_sampled(part, bank, SR, n).audio
    stream = SampledStream(part, bank, SR)
    ends = [1, 4097, 30000, 30000, 81234, n]
    pieces = [stream.render(b) for b in ends]
    assert sum(p.shape[1] for p in pieces) == n
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), whole)


def test_without_a_bank_the_synthesiser_plays_the_stand_in(monkeypatch, make_score) -> None:
    from expotion_engine.engines.procedural import render

    monkeypatch.setattr(render, "find_soundfont", lambda soundfont=None: None)
    notes = (Note(48, 0.1, 1.5, 100),)
    rendering = render_score(make_score((Part("low", "cello", notes),), 2.0), SR)
    assert rendering.info["soundfont"] is None
    assert rendering.info["parts"]["low"]["voice"] == "synth"
    assert rendering.info["parts"]["low"]["sound"] == "strings"
    assert np.max(np.abs(rendering.stems["low"])) > 0.01


def test_voices_default_per_instrument_and_every_name_is_playable() -> None:
    assert voice_of(Part("a", "cello", ())) == "sampled"
    assert voice_of(Part("a", "strings", ())) == "synth"
    assert voice_of(Part("a", "strings", (), voice="sampled")) == "sampled"
    assert voice_of(Part("a", "flute", (), voice="synth")) == "synth"
    for name in [*INSTRUMENTS, *ALIASES]:  # every instrument name has a General MIDI program
        assert gm_voice(Part("a", name, ())).program in range(128)
    assert set(GM_VOICES) - set(INSTRUMENTS) <= set(ALIASES)
    with pytest.raises(EngineError, match="no General MIDI program"):
        gm_voice(Part("a", "theremin", ()))
    with pytest.raises(ValueError, match="voice 'sample'"):
        Part("a", "piano", (), voice="sample")


def test_presets_validate_the_voice_key() -> None:
    table = validate_preset({"parts": {"harmony": {"instrument": "strings", "voice": "sampled"}}})
    assert table["parts"]["harmony"]["voice"] == "sampled"
    assert "voice" not in table["parts"]["melody"]
    with pytest.raises(PresetError, match="parts.harmony.voice"):
        validate_preset({"parts": {"harmony": {"voice": "samples"}}})


def test_models_list_shows_where_the_bank_is(bank: Bank, capsys) -> None:
    from studio.cli import main

    assert main(["models", "list", "--family", "soundfont"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("soundfont")
    assert (str(bank.path) in out) == (bank.source != "pretty_midi")


# --- where the bank comes from ---------------------------------------------------------------------------------


@pytest.fixture()
def banks(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """Copies of TimGM6mb under different names: an explicit file, the models folder, two system folders."""
    source = bundled_bank()
    if source is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    data = source.read_bytes()
    places = {"env": tmp_path / "mine" / "Custom.sf2", "models": tmp_path / "models" / "soundfont" / "Pulled.sf3",
              "fluid": tmp_path / "sf2" / "FluidR3_GM.sf2", "default": tmp_path / "sf2" / "default-GM.sf2",
              "other": tmp_path / "sf2" / "Another.sf2", "musescore": tmp_path / "sf3" / "MuseScore_General.sf3"}
    for path in places.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    monkeypatch.setenv("EXPOTION_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv(ENV_VAR, str(places["env"]))
    return places


def test_bank_discovery_order(banks: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    system = (tmp_path / "sf2", tmp_path / "none", tmp_path / "sf3")
    found = find_soundfont(system_folders=system)
    assert (found.path, found.source) == (banks["env"], f"${ENV_VAR}")
    assert find_soundfont(banks["fluid"], system_folders=system).path == banks["fluid"]  # explicit beats all
    monkeypatch.delenv(ENV_VAR)
    found = find_soundfont(system_folders=system)
    assert (found.path, found.source) == (banks["models"], "models folder")
    banks["models"].unlink()
    found = find_soundfont(system_folders=system)  # FluidR3 GM wins across the system folders
    assert (found.path, found.source) == (banks["fluid"], "system")
    banks["fluid"].unlink()
    assert find_soundfont(system_folders=system).path == banks["musescore"]
    banks["musescore"].unlink()
    assert find_soundfont(system_folders=system).path == banks["other"]  # a named bank before Debian's alias
    found = find_soundfont(system_folders=(tmp_path / "none",))
    assert (found.path, found.source) == (bundled_bank(), "pretty_midi")
    assert found.name == "TimGM6mb.sf2"


def test_a_bank_that_is_not_there_is_an_error(banks: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(EngineError, match="does not exist"):
        find_soundfont(tmp_path / "missing.sf2")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone.sf3"))
    with pytest.raises(EngineError, match=ENV_VAR):
        find_soundfont()
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF0000not a soundfont")
    with pytest.raises(EngineError, match="could not be read"):
        soundfont_module.load_bank(Bank(broken, "test"))


def _deb(members: dict[str, bytes]) -> bytes:
    """A Debian package (ar archive: debian-binary, control.tar.gz, data.tar.xz) holding ``members``."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    entries = [("debian-binary", b"2.0\n"), ("control.tar.gz", b"\x1f\x8b" + bytes(20)), ("data.tar.xz",
                                                                                        data.getvalue())]
    out = bytearray(b"!<arch>\n")
    for name, blob in entries:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(blob):<10}`\n".encode()
        out += blob + (b"\n" if len(blob) % 2 else b"")
    return bytes(out)


def test_pull_fetches_verifies_and_unpacks_the_bank(tmp_path: Path, monkeypatch) -> None:
    source = bundled_bank()
    if source is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    member = "usr/share/sounds/sf2/FluidR3_GM.sf2"
    package = tmp_path / "fluid-soundfont-gm_all.deb"
    bank = source.read_bytes()[: 1 << 18]  # the pull copies bytes; it does not need a whole bank
    package.write_bytes(_deb({"usr/share/doc/copyright": b"MIT", member: bank}))
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("EXPOTION_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(EngineError, match="checksum"):
        pull_soundfont(url=package.as_uri(), sha256="0" * 64, member=member)
    with pytest.raises(ModelNotFoundError, match="expotion models pull soundfont"):
        pull_soundfont(url=(tmp_path / "offline.deb").as_uri(), sha256=digest, member=member)
    assert not (tmp_path / "models" / "soundfont" / FILENAME).exists()
    path = pull_soundfont(url=package.as_uri(), sha256=digest, member=member)
    assert path == tmp_path / "models" / "soundfont" / FILENAME
    assert path.read_bytes() == bank
    assert sorted(p.name for p in path.parent.iterdir()) == [FILENAME]  # nothing half-done left behind
    found = find_soundfont(system_folders=())
    assert (found.path, found.source) == (path, "models folder")
