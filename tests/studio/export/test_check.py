"""``expotion check``: a delivery the exporters write passes; a folder broken by hand names each fault."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import pytest

from expotion_engine.types import Marker
from studio.cli import main
from studio.demo.scenarios import Clip
from studio.export import export_delivery
from studio.export.check import check_delivery
from studio.export.job import ExportJob, ExportSettings


@pytest.fixture(scope="module")
def delivery(take, face_clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every format of the test take on the face clip (01:00:02:00, 25 fps), as ``export_delivery`` writes it."""
    job = ExportJob(take=take, title="My Clip", video=face_clip.path, video_in=2.0, timecode_start=3600.0, fps=25.0,
                    markers=tuple(sorted((*take.markers, Marker(1.8, "client note", "user")), key=lambda m: m.time)))
    out = tmp_path_factory.mktemp("check") / "delivery"
    export_delivery(job, out)
    return out


def _results(folder: Path) -> dict[str, tuple[bool, str]]:
    return {r.name: (r.passed, r.detail) for r in check_delivery(folder)}


def test_a_written_delivery_passes_every_check(delivery: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(delivery)]) == 0
    out = capsys.readouterr().out
    names = ["stems null", "lengths", "timecode", "markers", "paths", "timeline audio", "peak/loudness"]
    for name in names:
        assert re.search(rf"^{re.escape(name)}\s+pass\s", out, re.M), out
    assert "7/7 checks passed" in out
    results = _results(delivery)
    assert "every file at 01:00:02:00 (25 fps)" in results["timecode"][1]
    assert "7 markers agree in 8 files" in results["markers"][1]  # EDL, FCP 7, FCPXML, otio, RPP, DAWproject, MIDI, CSV


def _scale_samples(path: Path, start: int, count: int) -> None:
    """Halve ``count`` 24-bit samples of a WAV's data chunk from sample ``start`` (its bext/iXML untouched)."""
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 8 + start * 3
    for i in range(count):
        value = int.from_bytes(data[at + 3 * i: at + 3 * i + 3], "little", signed=True) // 2
        data[at + 3 * i: at + 3 * i + 3] = value.to_bytes(3, "little", signed=True)
    path.write_bytes(bytes(data))


def test_a_broken_delivery_names_each_fault(delivery: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(delivery, broken)
    _scale_samples(broken / "My_Clip_stems" / "My_Clip_melody.wav", 48000, 48000)  # a stem altered
    (broken / "My_Clip_stems" / "My_Clip_bass.wav").rename(broken / "My_Clip_bass.wav")  # a file moved
    edl = broken / "My_Clip.edl"  # a marker shifted by one frame
    edl.write_text(edl.read_text().replace("* LOC: 01:00:03:06 RED     HIT 2", "* LOC: 01:00:03:07 RED     HIT 2"))
    fcp7 = broken / "My_Clip_fcp7.xml"  # the stems switched on beside the mix
    fcp7.write_text(fcp7.read_text().replace("<enabled>FALSE</enabled>", "<enabled>TRUE</enabled>"))
    rpp = broken / "My_Clip.rpp"  # the project start moved by a second
    rpp.write_text(rpp.read_text().replace("PROJOFFS 3602 ", "PROJOFFS 3603 "))

    assert main(["check", str(broken)]) == 1
    assert "failed: " in capsys.readouterr().out
    results = _results(broken)
    assert results["lengths"][0] and results["peak/loudness"][0]
    passed, detail = results["stems null"]
    assert not passed and "3 stems" in detail
    passed, detail = results["paths"]
    assert not passed and "refers to missing My_Clip_stems/My_Clip_bass.wav" in detail
    passed, detail = results["markers"]
    assert not passed and "'hit 2' at 01:00:03:07 in My_Clip.edl (elsewhere 01:00:03:06)" in detail
    passed, detail = results["timeline audio"]
    assert not passed and "My_Clip_fcp7.xml plays My_Clip_mix.wav, My_Clip_drums.wav" in detail
    assert float(re.search(r"residual (-?\d+\.\d) dB", detail).group(1)) > -60.0
    assert "My_Clip.otio" not in detail and "EDL" not in detail  # the untouched timelines still play it once
    passed, detail = results["timecode"]
    assert not passed and "My_Clip.rpp starts at 01:00:03:00" in detail


def test_a_stem_whose_samples_changed_fails_the_null_test(delivery: Path, tmp_path: Path) -> None:
    altered = tmp_path / "altered"
    shutil.copytree(delivery, altered)
    _scale_samples(altered / "My_Clip_stems" / "My_Clip_drums.wav", 0, 4800)
    passed, detail = _results(altered)["stems null"]
    assert not passed and "4 stems" in detail
    assert float(re.search(r"(-?\d+\.\d) dB", detail).group(1)) > -60.0


def test_a_folder_without_a_mix_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path)]) == 2
    assert "not a delivery folder" in capsys.readouterr().err


def test_a_marker_on_a_half_frame_agrees_in_the_dawproject_though_the_bwf_start_rounds_to_a_sample(
        take, tmp_path: Path) -> None:
    # 01:00:00;00 at 29.97 drop frame is 107892 frames: 172 799 827.2 samples at 48 kHz, so the BWF starts
    # 0.2 sample early; a marker half a frame after frame 30 lies, read from the DAWproject, below its half
    start = 107892 * 1001 / 30000
    half = 30.5 * 1001 / 30000
    job = ExportJob(take=take, title="Half", timecode_start=start, fps=30000 / 1001, timecode_rate="29.97df",
                    markers=(Marker(half, "on the half", "user"),))
    out = tmp_path / "delivery"
    export_delivery(job, out)
    results = _results(out)
    assert results["markers"][0], results["markers"][1]
    assert "agree in" in results["markers"][1] and any(p.suffix == ".dawproject" for p in out.iterdir())


def _remux_audio(video: Path, audio_filter: str) -> None:
    """Re-encode ``video``'s audio through ffmpeg's ``audio_filter`` (its picture stream-copied, untouched)."""
    scratch = video.with_name("remuxed" + video.suffix)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-map", "0:v", "-map",
                    "0:a", "-c:v", "copy", "-c:a", "aac", "-af", f"{audio_filter},aformat=channel_layouts=stereo",
                    str(scratch)], check=True)
    scratch.replace(video)


@pytest.mark.parametrize(("audio_filter", "found"), [("apad=pad_dur=0.5", "3.500 s"), ("atrim=end=2.5", "2.500 s")])
def test_a_scored_video_whose_audio_is_not_its_pictures_length_fails(
        delivery: Path, tmp_path: Path, audio_filter: str, found: str) -> None:
    altered = tmp_path / "altered"
    shutil.copytree(delivery, altered)
    _remux_audio(altered / "My_Clip_scored.mp4", audio_filter)
    passed, detail = _results(altered)["lengths"]
    assert not passed
    assert f"My_Clip_scored.mp4: its audio track lasts {found} and its picture 3.000 s" in detail, detail


def test_a_scored_videos_audio_within_a_frame_of_its_picture_passes(delivery: Path, tmp_path: Path) -> None:
    altered = tmp_path / "altered"
    shutil.copytree(delivery, altered)
    _remux_audio(altered / "My_Clip_scored.mp4", "apad=pad_dur=0.02")  # half a frame at 25 fps
    passed, detail = _results(altered)["lengths"]
    assert passed and "My_Clip_scored.mp4: picture and audio as long" in detail, detail


@pytest.mark.parametrize(("second_track", "found"), [("anull", None), ("atrim=end=2.5", "2.5")])
def test_a_matroska_scored_video_is_measured_on_every_audio_track(
        delivery: Path, tmp_path: Path, second_track: str, found: str | None) -> None:
    """Matroska states no stream duration: each track's packets are measured, the second track's too."""
    mkv = tmp_path / "mkv"
    shutil.copytree(delivery, mkv)
    video = mkv / "My_Clip_scored.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-map", "0:v", "-map",
                    "0:a", "-map", "0:a", "-c", "copy", "-c:a:1", "aac", "-filter:a:1", second_track,
                    str(video.with_suffix(".mkv"))], check=True)  # the Score and a source audio track, as for VP8
    video.unlink()
    passed, detail = _results(mkv)["lengths"]
    if found is None:
        assert passed and "My_Clip_scored.mkv: picture and audio as long" in detail, detail
    else:
        assert not passed and re.search(rf"My_Clip_scored\.mkv: its audio track 2 lasts {found}\d\d s and its "
                                        r"picture 3\.0\d\d s", detail), detail
        assert "track 1" not in detail


def test_a_delivery_without_a_manifest_is_checked_and_told_how_to_get_one(
        delivery: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old"
    shutil.copytree(delivery, old)
    (old / ".expotion-delivery.json").unlink()
    assert main(["check", str(old)]) == 0
    assert "7/7 checks passed" in capsys.readouterr().out
    passed, detail = _results(old)["paths"]
    assert passed and "My_Clip_README.txt lists every file" in detail
    assert "no manifest (.expotion-delivery.json; a delivery written before Expotion kept one)" in detail
    assert "My_Clip_README.txt was checked against the mix and stems only" in detail
    assert f"export the take again into this folder (expotion export SESSION.expotion -o {old} --force)" in detail

    (old / "My_Clip.mid").unlink()  # what can still be checked is: the guide lists a file that is gone
    passed, detail = _results(old)["paths"]
    assert not passed and "My_Clip_README.txt lists missing My_Clip.mid" in detail and "no manifest" in detail

    (old / "My_Clip_README.txt").unlink()  # written before the guide too
    passed, detail = _results(old)["paths"]
    assert passed and "and no My_Clip_README.txt, so which files the delivery should hold is unknown" in detail
    assert "to write both" in detail


def test_a_delivery_with_its_manifest_says_nothing_of_one(delivery: Path) -> None:
    passed, detail = _results(delivery)["paths"]
    assert passed and "manifest" not in detail


def test_the_scored_videos_score_is_heard_against_the_mix(delivery: Path, tmp_path: Path) -> None:
    passed, detail = _results(delivery)["timeline audio"]
    residual = float(re.search(r"My_Clip_scored\.mp4 (-\d+\.\d) dB \(aac\)", detail).group(1))
    assert passed and residual <= -20.0  # AAC's own error
    inverted = tmp_path / "inverted"
    shutil.copytree(delivery, inverted)
    _remux_audio(inverted / "My_Clip_scored.mp4", "aeval=-val(0)|-val(1)")  # the score in the other polarity
    results = _results(inverted)
    passed, detail = results["timeline audio"]
    assert not passed and "My_Clip_scored.mp4's Score track is not the mix in sync: residual" in detail, detail
    assert "limit -10 dB for aac" in detail and "My_Clip.otio" not in detail
    assert results["lengths"][0]


def test_an_unreadable_scored_video_fails_its_row_and_the_rest_is_checked(delivery: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(delivery, broken)
    (broken / "My_Clip_scored.mp4").write_bytes(b"")  # a copy that failed
    assert main(["check", str(broken)]) == 1
    assert "6/7 checks passed; failed: lengths" in capsys.readouterr().out
    passed, detail = _results(broken)["lengths"]
    assert not passed and detail == "My_Clip_scored.mp4 cannot be read: the file is empty (0 bytes)."


def test_a_scored_video_whose_audio_starts_after_its_picture_fails(delivery: Path, tmp_path: Path) -> None:
    late = tmp_path / "late"
    shutil.copytree(delivery, late)
    video = late / "My_Clip_scored.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(delivery / video.name),
                    "-itsoffset", "0.2", "-i", str(delivery / video.name), "-map", "0:v", "-map", "1:a", "-c", "copy",
                    "-t", "3", str(video)], check=True)  # the same streams, the audio's timestamps 0.2 s later
    passed, detail = _results(late)["lengths"]
    assert not passed and re.search(r"My_Clip_scored\.mp4: its audio track starts 0\.[12]\d\d s after its picture",
                                    detail), detail


def test_a_delivery_without_its_stems_names_the_folder(delivery: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(delivery, bare)
    shutil.rmtree(bare / "My_Clip_stems")
    passed, detail = _results(bare)["stems null"]
    assert not passed and detail == "no stems in My_Clip_stems/: nothing to null against the mix"


def test_a_scores_output_folder_points_to_the_delivery_inside_it(delivery: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(delivery, tmp_path / "out" / "delivery")  # OUT of `expotion score`: the take, then delivery/
    assert main(["check", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "not a delivery folder; check the delivery folder inside it, " + str(tmp_path / "out" / "delivery") in err


def test_a_scored_video_without_audio_fails(delivery: Path, tmp_path: Path) -> None:
    silent = tmp_path / "silent"
    shutil.copytree(delivery, silent)
    video = silent / "My_Clip_scored.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(delivery / video.name), "-map",
                    "0:v", "-c", "copy", str(video)], check=True)
    passed, detail = _results(silent)["lengths"]
    assert not passed and detail == "My_Clip_scored.mp4 has no audio track: the score is not in it"


def test_the_midi_file_and_daw_projects_carry_one_tempo_map(delivery: Path, tmp_path: Path) -> None:
    passed, detail = _results(delivery)["markers"]
    assert passed and ("one tempo map (1 tempo change) and its time signatures in My_Clip.mid, My_Clip.rpp, "
                       "My_Clip.dawproject") in detail
    edited = tmp_path / "edited"
    shutil.copytree(delivery, edited)
    rpp = edited / "My_Clip.rpp"  # the change to 90 BPM made 92 in the REAPER project only
    rpp.write_text(rpp.read_text().replace("PT 1 90 1\n", "PT 1 92 1\n"))
    passed, detail = _results(edited)["markers"]
    assert not passed and detail == ("the tempo maps differ at 1.000 s My_Clip.mid 90.00 BPM, My_Clip.rpp 92.00 BPM, "
                                     "My_Clip.dawproject 90.00 BPM"), detail


def test_a_midi_file_with_a_pre_roll_to_the_musics_timecode_has_the_same_tempo_map(take, tmp_path: Path) -> None:
    job = ExportJob(take=take, title="Roll", timecode_start=3600.0, fps=25.0,
                    settings=ExportSettings(midi_start="timecode"))  # the MIDI file starts at 00:00:00:00
    export_delivery(job, tmp_path / "delivery", ["audio", "midi", "reaper", "dawproject"])
    passed, detail = _results(tmp_path / "delivery")["markers"]
    assert passed and ("one tempo map (1 tempo change) and its time signatures in Roll.mid, Roll.rpp, "
                       "Roll.dawproject") in detail, detail


def test_a_second_mix_in_the_folder_is_not_taken_for_the_delivery(delivery: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A user's copy of another mix beside the delivery: the manifest says which mix is the delivery's;
    without a manifest the check refuses to guess."""
    two = tmp_path / "two"
    shutil.copytree(delivery, two)
    shutil.copy(two / "My_Clip_mix.wav", two / "Another_mix.wav")  # sorts before the delivery's own mix
    assert main(["check", str(two)]) == 0
    assert "7/7 checks passed" in capsys.readouterr().out
    (two / ".expotion-delivery.json").unlink()
    assert main(["check", str(two)]) != 0
    err = capsys.readouterr().err
    assert "holds 2 mixes (Another_mix.wav, My_Clip_mix.wav) and no delivery manifest names one of them" in err


def test_the_midi_file_and_daw_projects_carry_one_set_of_time_signatures(delivery: Path, tmp_path: Path) -> None:
    """A REAPER project turned to 3/4 while the MIDI file and the DAWproject say 4/4: a DAW would draw other bars."""
    assert _results(delivery)["markers"][0]
    edited = tmp_path / "three"
    shutil.copytree(delivery, edited)
    rpp = edited / "My_Clip.rpp"
    four, three = str(65536 * 4 + 4), str(65536 * 4 + 3)
    assert f" {four}\n" in rpp.read_text()
    rpp.write_text(rpp.read_text().replace(f" {four}\n", f" {three}\n"))
    passed, detail = _results(edited)["markers"]
    assert not passed and detail == ("the time signatures differ at 0.000 s My_Clip.mid 4/4, My_Clip.rpp 3/4, "
                                     "My_Clip.dawproject 4/4"), detail


def test_a_steady_tempo_is_named_so(take, tmp_path: Path) -> None:
    from expotion_engine.types import TempoMap

    steady = replace(take, tempo_map=TempoMap.constant(128.0))
    job = ExportJob(take=steady, title="Steady", timecode_start=0.0, fps=25.0)
    export_delivery(job, tmp_path / "steady")
    passed, detail = _results(tmp_path / "steady")["markers"]
    assert passed and "one tempo map (a steady tempo) and its time signatures in Steady.mid" in detail, detail
