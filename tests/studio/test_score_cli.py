"""``expotion score`` and ``expotion export`` in-process: the files, their length to the sample,
the session file, refusing to overwrite, and re-exporting without generating."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mido
import pytest
import soundfile as sf

from studio.cli import main
from studio.demo.scenarios import Clip
from studio.session import Session

START, END = 0.4, 2.9
RATE = 44100
SAMPLES = round((END - START) * RATE)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("score", "export"))]
    assert "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("expotion: error: "), stderr
    return lines[0]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, face_clip: Clip) -> Iterator[Path]:
    """``expotion score`` of the face clip's 0.4-2.9 s at 44.1 kHz into an output folder."""
    folder = tmp_path_factory.mktemp("score_cli")
    out = folder / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        code = main(["score", str(face_clip.path), "-o", str(out), "--start", str(START), "--end", str(END),
                     "--seed", "11", "--preset", "lo-fi", "--prompt", "no drums, piano", "--sample-rate",
                     str(RATE), "--timecode-start", "01:00:00:00", "--format", "audio", "midi", "markers"])
        assert code == 0
        yield out


def test_score_writes_the_take_session_and_delivery(scored: Path, face_clip: Clip) -> None:
    mix, rate = sf.read(scored / "mix.wav", always_2d=True)
    assert rate == RATE
    assert mix.shape[0] == SAMPLES
    take = json.loads((scored / "take.json").read_text())
    assert take["seed"] == 11 and take["n_samples"] == SAMPLES
    for stem in take["stems"]:
        assert sf.info(scored / stem["file"]).frames == SAMPLES
    assert take["request"]["prompt"] == "no drums, piano"
    assert take["request"]["controls"]["source"]["start"] == pytest.approx(START)

    title = Path(face_clip.path).stem
    session = Session.load(scored / f"{title}.expotion")
    assert session.video == Path(face_clip.path).resolve() and session.video_found
    assert (session.video_in, session.video_out) == (START, END)
    assert (session.preset, session.seed, session.export.sample_rate) == ("lo-fi", 11, RATE)
    assert session.timecode_start == 3600.0
    assert session.chosen_take_folder() == scored.resolve()

    delivery = scored / "delivery"
    assert sf.info(delivery / f"{title}_mix.wav").frames == SAMPLES
    midi = mido.MidiFile(delivery / f"{title}.mid")
    assert any(msg.type == "set_tempo" for msg in midi.tracks[0])
    assert (delivery / f"{title}_markers.csv").is_file()


def test_score_refuses_a_non_empty_folder(scored: Path, face_clip: Clip, capsys: pytest.CaptureFixture[str]) -> None:
    before = (scored / "mix.wav").read_bytes()
    assert main(["score", str(face_clip.path), "-o", str(scored)]) == 2
    assert "is not empty" in one_error_line(capsys.readouterr().err)
    assert (scored / "mix.wav").read_bytes() == before


def test_score_rejects_an_unknown_preset_before_working(tmp_path: Path, face_clip: Clip,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "o"), "--preset", "polka-metal"]) == 2
    assert "Unknown preset 'polka-metal'" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_an_out_point_past_the_end_of_the_video_is_said_once_and_scored_to_its_end(
        tmp_path: Path, face_clip: Clip, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "out"), "--start", "3", "--end", "9",
                 "--analysis-fps", "5", "--format", "midi"]) == 0
    err = capfd.readouterr().err
    said = [line for line in err.splitlines() if "--end" in line]
    assert said == ["--end 9 s is past the end of the video (5.00 s); scoring to its end"], err
    assert sf.info(str(tmp_path / "out" / "mix.wav")).duration == pytest.approx(2.0, abs=0.05)
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "inside"), "--start", "3", "--end", "5",
                 "--analysis-fps", "5", "--format", "midi"]) == 0
    assert "--end" not in capfd.readouterr().err


def test_musicgen_options_are_refused_for_another_engine(tmp_path: Path, face_clip: Clip,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "o"), "--model", "musicgen-small"]) == 2
    assert "only apply to --engine musicgen" in one_error_line(capsys.readouterr().err)


def test_export_re_exports_without_generating(scored: Path, face_clip: Clip, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    session_file = scored / f"{Path(face_clip.path).stem}.expotion"
    saved = session_file.read_bytes()
    take_before = (scored / "mix.wav").read_bytes()
    out = tmp_path / "again"
    args = ["export", str(session_file), "-o", str(out), "--format", "audio", "--sample-rate", "96000",
            "--bit-depth", "16"]
    assert main(args) == 0
    info = sf.info(out / f"{Path(face_clip.path).stem}_mix.wav")
    assert (info.samplerate, info.subtype) == (96000, "PCM_16")
    assert info.frames == round((END - START) * 96000)
    assert session_file.read_bytes() == saved
    assert (scored / "mix.wav").read_bytes() == take_before
    capsys.readouterr()

    assert main(args) == 2
    assert "already exists" in one_error_line(capsys.readouterr().err)
    assert main([*args, "--force"]) == 0
    assert main(["export", str(session_file), "-o", str(out), "--take", "take-404"]) == 2
    assert "no take 'take-404'" in one_error_line(capsys.readouterr().err)


def test_export_counts_its_files_and_check_names_a_missing_folder(scored: Path, face_clip: Clip, tmp_path: Path,
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    session_file = scored / f"{Path(face_clip.path).stem}.expotion"
    assert main(["export", str(session_file), "-o", str(tmp_path / "midi"), "--format", "midi"]) == 0
    assert f"wrote 2 files into {tmp_path / 'midi'}\n" in capfd.readouterr().err  # the MIDI file and the README
    assert main(["check", str(tmp_path / "nosuch")]) == 2
    assert f"{tmp_path / 'nosuch'} does not exist" in one_error_line(capfd.readouterr().err)
    assert main(["check", str(session_file)]) == 2
    assert "is not a folder" in one_error_line(capfd.readouterr().err)


def test_export_without_the_sessions_video_says_which_formats_it_leaves_out(
        scored: Path, face_clip: Clip, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    session = Session.load(scored / f"{Path(face_clip.path).stem}.expotion")
    session.video = tmp_path / "moved away.mp4"
    session.save(tmp_path / "film.expotion")
    assert main(["export", str(tmp_path / "film.expotion"), "-o", str(tmp_path / "out"), "--format", "midi",
                 "edl", "fcpxml"]) == 0
    err = capfd.readouterr().err
    assert (f"note: the session's video {tmp_path / 'moved away.mp4'} is missing, so this delivery has no edl, "
            "fcpxml; put the video back and export again for them.") in err
    assert not list((tmp_path / "out").glob("*.edl")) and list((tmp_path / "out").glob("*.mid"))


def test_export_of_a_damaged_session_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.expotion"
    bad.write_text('{"format": "expotion.session", "version": 2, "title": ')
    assert main(["export", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "corrupted" in one_error_line(capsys.readouterr().err)


@pytest.fixture(scope="module")
def ten_fps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``expotion score`` of a 10 fps camera-style clip (video stream at 0.85 s) with every delivery format."""
    from studio.demo import scenarios
    from studio.demo.writer import run_ffmpeg

    folder = tmp_path_factory.mktemp("ten_fps")
    clip = scenarios.face_clip(folder / "picture.mp4", size=(160, 120), fps=10.0, duration=2.0)
    video = folder / "cam10.mp4"  # as cameras write them: video at 0.85 s, sound at 0.008 s of the container
    run_ffmpeg(["-itsoffset", "0.85", "-i", str(clip.path), "-itsoffset", "0.008", "-f", "lavfi", "-i",
                "sine=frequency=440:sample_rate=48000:duration=3", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                "-c:a", "aac", str(video)])
    out = folder / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        assert main(["score", str(video), "-o", str(out), "--timecode-start", "01:00:00:00",
                     "--analysis-fps", "5"]) == 0
    return video, out


def test_a_10_fps_video_scores_and_delivers_every_format(ten_fps: tuple[Path, Path]) -> None:
    import opentimelineio as otio

    _, out = ten_fps
    delivery = out / "delivery"
    names = {p.name for p in delivery.rglob("*") if p.is_file()}
    assert {"cam10.mid", "cam10_markers.csv", "cam10.edl", "cam10_fcp7.xml", "cam10.fcpxml", "cam10.otio",
            "cam10.rpp", "cam10.dawproject", "cam10_scored.mp4", "cam10_mix.wav"} <= names
    assert not [p for p in out.parent.rglob(".*partial*")]
    (offset,) = [m for m in mido.MidiFile(delivery / "cam10.mid").tracks[0] if m.type == "smpte_offset"]
    assert (offset.frame_rate, offset.hours, offset.minutes, offset.seconds, offset.frames) == (30, 1, 0, 0, 0)
    timeline = otio.adapters.read_from_file(str(delivery / "cam10.otio"))
    note = timeline.metadata["expotion"]["timecode_note"]
    assert note.startswith("the video's 10 frames/s is counted as 30 frames/s timecode (chosen automatically")
    session = Session.load(out / "cam10.expotion")
    assert (session.frame_rate, session.timecode_rate, session.timecode_start) == (10.0, None, 3600.0)


def test_the_scored_camera_file_keeps_every_frame_and_its_sound(ten_fps: tuple[Path, Path]) -> None:
    import av

    video, out = ten_fps
    with av.open(str(out / "delivery" / "cam10_scored.mp4")) as container:
        times = [frame.time for frame in container.decode(video=0)]
        names = [s.metadata.get("handler_name") for s in container.streams.audio]
    with av.open(str(video)) as container:
        source = [frame.time for frame in container.decode(video=0)]
    assert source[0] == pytest.approx(0.85) and len(times) == len(source) == 20
    assert times == pytest.approx([t - source[0] for t in source], abs=1e-6)
    assert names == ["Score", "Source audio 1"]
    mix, rate = sf.read(out / "mix.wav")
    assert len(mix) == round(len(source) / 10.0 * rate)


def test_export_declares_another_timecode_rate_for_one_delivery(ten_fps: tuple[Path, Path], tmp_path: Path,
                                                                capfd: pytest.CaptureFixture[str]) -> None:
    _, out = ten_fps
    assert main(["export", str(out / "cam10.expotion"), "-o", str(tmp_path / "d"), "--timecode-rate", "24",
                 "--format", "midi"]) == 0
    assert "counted as 24 frames/s timecode (as declared)" in capfd.readouterr().err
    (offset,) = [m for m in mido.MidiFile(tmp_path / "d" / "cam10.mid").tracks[0] if m.type == "smpte_offset"]
    assert offset.frame_rate == 24
    assert Session.load(out / "cam10.expotion").timecode_rate is None


def test_a_timecode_rate_that_is_not_smpte_fails_before_any_work(tmp_path: Path, face_clip: Clip,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "o"), "--timecode-rate", "12.5"]) == 2
    assert "Timecode rate '12.5' is not an SMPTE rate" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_check_passes_on_the_delivery_score_writes(ten_fps: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, out = ten_fps
    assert main(["check", str(out / "delivery")]) == 0
    report = capsys.readouterr().out
    assert "7/7 checks passed" in report and "FAIL" not in report
    assert "every file at 01:00:00:00 (30 fps)" in report  # 10 fps counted at 30 fps timecode, one start everywhere


def test_export_chooses_the_timeline_audio_and_the_midi_start(ten_fps: tuple[Path, Path], tmp_path: Path) -> None:
    import opentimelineio as otio

    _, out = ten_fps
    delivery = tmp_path / "d"
    assert main(["export", str(out / "cam10.expotion"), "-o", str(delivery), "--format", "audio", "midi", "otio",
                 "--timeline-audio", "stems", "--midi-start", "timecode"]) == 0
    timeline = otio.adapters.read_from_file(str(delivery / "cam10.otio"))
    playing = [t.find_clips()[0].media_reference.target_url for t in timeline.audio_tracks() if t.enabled]
    assert playing == [f"cam10_stems/cam10_{name}.wav" for name in ("drums", "bass", "harmony", "melody")]
    now, first_note = 0.0, None
    midi = mido.MidiFile(delivery / "cam10.mid")
    for message in midi:
        now += message.time
        if message.type == "note_on" and first_note is None:
            first_note = now
    (offset,) = [m for m in midi.tracks[0] if m.type == "smpte_offset"]
    assert (offset.hours, offset.minutes, offset.seconds, offset.frames) == (0, 0, 0, 0)
    assert 3600.0 - 1e-6 <= first_note < 3602.0  # the music at its timecode, 01:00:00:00, from the file's start
    assert main(["check", str(delivery)]) == 0


def test_the_scored_midi_has_a_channel_and_gm_program_per_part(ten_fps: tuple[Path, Path]) -> None:
    from expotion_engine.engines.procedural.render.sampled import GM_VOICES

    _, out = ten_fps
    take = json.loads((out / "take.json").read_text())
    instruments = {stem["name"]: stem["info"]["instrument"] for stem in take["stems"] if stem.get("notes")}
    midi = mido.MidiFile(out / "delivery" / "cam10.mid")
    parts = {}
    for track in midi.tracks[1:]:
        name = next(m.name for m in track if m.type == "track_name")
        channels = {m.channel for m in track if m.type == "note_on"}
        (program,) = [m.program for m in track if m.type == "program_change"]
        keys = [m.key for m in track if m.type == "key_signature"]
        parts[name] = (channels, program, keys)
        sounding: set[int] = set()
        for message in track:  # no note starts while the same pitch still sounds on its channel
            if message.type == "note_on" and message.velocity:
                assert message.note not in sounding, (name, message.note)
                sounding.add(message.note)
            elif message.type in ("note_on", "note_off"):
                sounding.discard(message.note)
    assert set(parts) == set(instruments) and len(parts) == 4
    for name, (channels, program, keys) in parts.items():
        voice = GM_VOICES[instruments[name]]
        assert program == voice.program and (channels == {9}) == voice.drums, name
        assert keys == ([] if voice.drums else [m.key for m in midi.tracks[0] if m.type == "key_signature"])
    assert len({next(iter(c)) for c, _, _ in parts.values()}) == 4  # one channel each
    drums = [m.note for t in midi.tracks for m in t if m.type == "note_on" and m.channel == 9]
    assert drums and all(35 <= note <= 81 for note in drums)  # the GM percussion map
