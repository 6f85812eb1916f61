"""The probe on generated files: the start timecode a file carries, a download cut off after its
index, and one clear sentence for an audio-only or a damaged file."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
import pytest

from expotion_engine.errors import VideoError
from expotion_engine.media.probe import probe_video


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=120)


def _clip(path: Path, rate: str, *extra: str, seconds: float = 2.0, size: str = "64x48") -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={seconds}",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", *extra, str(path))
    return path


@pytest.mark.parametrize(("rate", "container", "timecode"), [
    ("30000/1001", "mp4", "01:00:00;00"),  # drop frame, as cameras write it
    ("25", "mov", "10:00:00:00"),  # a QuickTime tmcd track
    ("24000/1001", "mp4", "00:59:58:12"),
])
def test_the_files_start_timecode_is_read(tmp_path, rate, container, timecode):
    path = _clip(tmp_path / f"tc.{container}", rate, "-timecode", timecode)
    assert probe_video(path).timecode == timecode


def test_a_file_without_timecode_has_none(tmp_path):
    assert probe_video(_clip(tmp_path / "plain.mp4", "25")).timecode is None


def _decodable_seconds(path: Path) -> float:
    """How much picture PyAV actually decodes (frames x frame duration), FFmpeg's complaints silenced."""
    with av.logging.Capture(), av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = 0
        try:
            for _ in container.decode(stream):
                count += 1
        except av.error.FFmpegError:
            pass
        return count / float(stream.average_rate)


def test_a_download_cut_off_after_its_index_is_scored_only_as_far_as_its_data(tmp_path, caplog, monkeypatch):
    whole = _clip(tmp_path / "whole.mp4", "30000/1001", "-movflags", "+faststart", "-timecode", "01:00:00;00",
                  seconds=8.0, size="320x180")
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the index (moov) is at the front and stays whole
    with caplog.at_level(logging.WARNING, logger="expotion_engine.media.probe"):
        info = probe_video(cut)
    decodable = _decodable_seconds(cut)
    assert 1.0 < decodable < 6.0
    assert info.frame_count == probe_video(whole).frame_count  # the index still lists every frame
    assert info.duration == pytest.approx(decodable, abs=2.5 / info.fps)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("cut.mp4" in w and "truncated" in w and f"only {info.duration:.2f} s will be scored" in w
               for w in warnings), warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="expotion_engine.media.probe"), monkeypatch.context() as m:
        m.chdir(tmp_path)
        again = probe_video(Path("cut.mp4"))  # the same file named another way: no second warning
    assert again.path == Path("cut.mp4") and again.duration == info.duration
    assert not [r for r in caplog.records if "truncated" in r.getMessage()]


def test_a_whole_faststart_file_keeps_its_duration(tmp_path, caplog):
    whole = _clip(tmp_path / "whole.mp4", "30000/1001", "-movflags", "+faststart", seconds=3.0)
    with caplog.at_level(logging.WARNING, logger="expotion_engine.media.probe"):
        info = probe_video(whole)
    assert info.duration == pytest.approx(90 * 1001 / 30000, abs=1e-3)
    assert not [r for r in caplog.records if "truncated" in r.getMessage()]


def test_an_audio_only_file_says_it_has_no_video_stream(tmp_path):
    tone = tmp_path / "tone.mp4"
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(tone))
    with pytest.raises(VideoError) as caught:
        probe_video(tone)
    assert str(caught.value) == f"{tone}: the file has audio but no video stream; give a video."


def test_a_song_with_cover_art_says_it_has_a_picture_but_no_video(tmp_path):
    """An MP3 or M4A with its artwork shows a one-frame "video" stream; it said "invalid frame rate (90000)"."""
    art = tmp_path / "art.png"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:duration=1", "-frames:v", "1", str(art))
    songs = {"song.mp3": ("-c:a", "libmp3lame", "-c:v", "mjpeg"), "song.m4a": ("-c:a", "aac", "-c:v", "png")}
    for name, codecs in songs.items():
        song = tmp_path / name
        _ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-i", str(art), "-map", "0:a", "-map", "1:v", *codecs,
                "-disposition:v", "attached_pic", str(song))
        with pytest.raises(VideoError) as caught:
            probe_video(song)
        assert str(caught.value) == f"{song}: the file holds audio and a cover picture but no video; give a video."


def test_a_damaged_file_gets_one_sentence_that_names_no_library(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)
    with pytest.raises(VideoError) as caught:
        probe_video(broken)
    message = str(caught.value)
    assert message.startswith(f"{broken}: not a video file") and "OpenCV" not in message
    assert "audio" not in message


def test_a_copy_cut_off_a_keyframe_lasts_what_its_edit_list_shows(tmp_path):
    source = _clip(tmp_path / "long.mp4", "25", "-g", "250", seconds=8.0)  # one keyframe at 0 s
    cut = tmp_path / "cut.mp4"
    _ffmpeg("-ss", "4", "-i", str(source), "-t", "3", "-c", "copy", str(cut))
    info = probe_video(cut)
    assert info.frame_count > 150  # the frames from the keyframe on are in the file ...
    decodable = _decodable_seconds(cut)
    assert decodable < 3.5  # ... but only those after the cut are shown
    assert info.duration == pytest.approx(decodable, abs=1.5 / info.fps)
    assert probe_video(source).duration == pytest.approx(8.0, abs=1e-3)
