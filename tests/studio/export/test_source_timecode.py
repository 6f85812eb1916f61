"""The video's own timecode: ``expotion score`` starts the delivery at it (an explicit ``--timecode-start``
wins), the EDL's source side is in the media's timecode, the scored video carries the music's start,
and ``expotion check`` fails when the scored video's timecode is not the delivery's."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from expotion_engine.media.probe import probe_video
from studio.cli import main
from studio.demo.scenarios import Clip
from studio.export import readback
from studio.export.check import check_delivery
from studio.export.source_timecode import label_seconds
from studio.timecode import TimecodeRate, parse_frames, parse_rate, to_frame

DF = parse_rate("29.97")
SOURCE_TC = "01:00:00;00"


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, face_clip: Clip) -> Path:
    """The face clip at 29.97 fps carrying the camera timecode 01:00:00;00 (a tmcd track)."""
    path = tmp_path_factory.mktemp("tagged") / "camera clip.mp4"
    _ffmpeg("-i", str(face_clip.path), "-r", "30000/1001", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-timecode", SOURCE_TC, str(path))
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("analysis_cache")


def _score(video: Path, out: Path, cache: Path, *extra: str) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(cache))
        return main(["score", str(video), "-o", str(out), "--start", "1.0", "--end", "3.0", "--seed", "3",
                     "--format", "audio", "edl", "video", *extra])


def _video_event(edl: Path) -> list[str]:
    (line,) = [line for line in edl.read_text().splitlines() if re.match(r"^\d{3}\s", line)]
    return line.split()[-4:]


def test_labels_read_drop_frame_from_their_separator() -> None:
    assert label_seconds("01:00:00;00", DF) == pytest.approx(107892 * 1001 / 30000)
    assert label_seconds("01:00:00:00", DF) == pytest.approx(108000 * 1001 / 30000)  # non-drop label
    assert label_seconds("10:00:00:00", TimecodeRate(25)) == 36000.0


def test_score_starts_the_delivery_at_the_videos_own_timecode(tagged, tmp_path, cache, capfd):
    out = tmp_path / "out"
    assert _score(tagged, out, cache) == 0
    assert f"start timecode {SOURCE_TC} (the video's own timecode" in capfd.readouterr().err
    delivery = out / "delivery"
    mix = readback.read_bwf(next(delivery.glob("*_mix.wav")))
    assert to_frame(mix.start_seconds, DF) == parse_frames("01:00:01;00", DF)  # the in point, 1 s into the media
    source_in, source_out, record_in, record_out = _video_event(delivery / "camera_clip.edl")
    assert (source_in, source_out) == (record_in, record_out) == ("01:00:01;00", "01:00:03;00")
    media_end = parse_frames(SOURCE_TC, DF) + probe_video(tagged).frame_count
    assert parse_frames(SOURCE_TC, DF) <= parse_frames(source_in, DF) < parse_frames(source_out, DF) <= media_end
    assert probe_video(next(delivery.glob("*_scored.mp4"))).timecode == "01:00:01;00"
    assert all(r.passed for r in check_delivery(delivery)), check_delivery(delivery)

    # a delivery whose scored video says another timecode than its audio fails the check
    wrong = tmp_path / "wrong"
    shutil.copytree(delivery, wrong)
    scored = next(wrong.glob("*_scored.mp4"))
    _ffmpeg("-i", str(scored), "-map", "0:v", "-map", "0:a", "-c", "copy", "-timecode", SOURCE_TC,
            str(scored.with_name("retagged.mp4")))
    scored.with_name("retagged.mp4").replace(scored)
    (timecode,) = [r for r in check_delivery(wrong) if r.name == "timecode"]
    assert not timecode.passed and f"camera_clip_scored.mp4 carries timecode {SOURCE_TC}" in timecode.detail


def test_an_explicit_timecode_start_wins(tagged, tmp_path, cache, capfd):
    out = tmp_path / "out"
    assert _score(tagged, out, cache, "--timecode-start", "0") == 0
    assert f"start timecode 00:00:00;00 (--timecode-start; the video's own is {SOURCE_TC})" in capfd.readouterr().err
    delivery = out / "delivery"
    mix = readback.read_bwf(next(delivery.glob("*_mix.wav")))
    assert to_frame(mix.start_seconds, DF) == parse_frames("00:00:01;00", DF)
    assert _video_event(delivery / "camera_clip.edl")[2:] == ["00:00:01;00", "00:00:03;00"]
    assert probe_video(next(delivery.glob("*_scored.mp4"))).timecode == "00:00:01;00"
    assert all(r.passed for r in check_delivery(delivery))
