"""The analysis reader (FFmpeg through PyAV) against OpenCV, which it replaced: the same frame
times, upright pictures of the same colours, and signatures close to those of OpenCV's frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from expotion_engine.errors import VideoError
from expotion_engine.media.reader import _scaled, iter_frames, signature
from expotion_engine.vision.changes import histogram_distance
from studio.demo.writer import read_frame_times, run_ffmpeg, set_display_rotation, shift_video_stream

SIZE = "192x108"


def _testsrc(path: Path, rate: str, *, seconds: float = 3.0, size: str = SIZE, codec: tuple[str, ...] = (),
             container: tuple[str, ...] = ()) -> Path:
    """A moving, colourful test pattern (H.264 with B-frames unless ``codec`` says otherwise)."""
    run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
                *(codec or ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")), *container, str(path)])
    return path


def _opencv_frames(path: Path) -> list[tuple[float, np.ndarray]]:
    """Every frame as OpenCV reads it (rotation applied): ``(CAP_PROP_POS_MSEC / 1000, BGR)``."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append((capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, image))
    capture.release()
    return frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """NTSC-rate clips, one whose video starts 0.85 s into the container, one turned by its display
    matrix, one in an MPEG-TS stream."""
    folder = tmp_path_factory.mktemp("reader")
    out = {rate: _testsrc(folder / f"{name}.mp4", rate) for name, rate in
           (("ntsc2997", "30000/1001"), ("ntsc23976", "24000/1001"), ("ntsc5994", "60000/1001"))}
    out["shifted"] = shift_video_stream(out["30000/1001"], folder / "shifted.mp4", 0.85)
    out["rotated"] = set_display_rotation(out["30000/1001"], folder / "rotated.mp4", 90)
    out["ts"] = folder / "broadcast.ts"  # MPEG-TS: timestamps from 1.4 s; OpenCV's seek in it found no frame
    run_ffmpeg(["-i", str(out["30000/1001"]), "-c", "copy", "-f", "mpegts", str(out["ts"])])
    return out


@pytest.mark.parametrize("name", ["30000/1001", "24000/1001", "60000/1001", "shifted", "ts"])
def test_every_frame_is_reported_at_opencvs_time(clips, name) -> None:
    expected = read_frame_times(clips[name])
    times = [f.time for f in iter_frames(clips[name], rate=1000.0)]
    assert len(times) == len(expected) > 60
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-9)
    assert times[0] == 0.0  # counted from the first presented frame, wherever it sits in the container


@pytest.mark.parametrize("name", ["30000/1001", "shifted", "ts"])
def test_a_range_after_a_seek_keeps_opencvs_times_and_its_last_frame(clips, name) -> None:
    expected = np.array(read_frame_times(clips[name]))
    start, end = 1.3, 2.6
    inside = expected[(expected + 1e-6 >= start) & (expected < end)]
    frames = list(iter_frames(clips[name], start=start, end=end, rate=7.0, signatures=True))
    np.testing.assert_allclose([s.time for f in frames for s in f.signatures], inside, rtol=0, atol=1e-9)
    assert frames[0].time == inside[0] and frames[-1].time == inside[-1]  # the range's last decoded frame too
    picked = np.array([f.time for f in frames[:-1]])
    assert len(np.unique(np.floor((picked - start) * 7.0 + 1e-6))) == len(picked)  # one per 1/7 s slot


def test_pictures_and_signatures_match_opencvs_frames(face_clip) -> None:
    reference = _opencv_frames(face_clip.path)
    frames = list(iter_frames(face_clip.path, rate=1000.0, max_side=128, signatures=True))
    assert len(frames) == len(reference)
    for frame, (_, image) in zip(frames[::10], reference[::10], strict=True):
        expected = _scaled(image, 128)
        assert frame.rgb.shape == expected.shape == (96, 128, 3)
        assert np.abs(frame.rgb.astype(int) - expected).mean() < 2.0
        ours, theirs = frame.signatures[-1], signature(image, frame.time)
        assert ours.gray.shape == theirs.gray.shape == (48, 64)
        assert np.abs(ours.gray.astype(int) - theirs.gray).mean() < 2.0
        assert histogram_distance(ours.hist, theirs.hist) < 0.2


def test_the_display_matrix_turns_pictures_and_signatures_upright(clips) -> None:
    reference = _opencv_frames(clips["rotated"])
    frame = next(iter(iter_frames(clips["rotated"], rate=10.0, max_side=4096, signatures=True)))
    upright = cv2.cvtColor(reference[0][1], cv2.COLOR_BGR2RGB)
    assert frame.rgb.shape == upright.shape == (192, 108, 3)
    assert np.abs(frame.rgb.astype(int) - upright).mean() < 3.0
    assert np.abs(frame.rgb.astype(int) - upright[::-1, ::-1]).mean() > 20.0  # turned the right way round
    expected = signature(reference[0][1], 0.0).gray
    assert frame.signatures[0].gray.shape == expected.shape == (114, 64)
    assert np.abs(frame.signatures[0].gray.astype(int) - expected).mean() < 3.0


@pytest.mark.parametrize("pixels", ["yuvj420p", "yuv444p", "odd"])
def test_other_pixel_layouts_give_the_same_pictures(tmp_path, pixels) -> None:
    if pixels == "odd":  # 4:2:0 of an odd size: the chroma planes round up
        clip = _testsrc(tmp_path / "odd.mkv", "25", seconds=1.0, size="191x107",
                        codec=("-c:v", "ffv1", "-pix_fmt", "yuv420p"))
    else:
        clip = _testsrc(tmp_path / f"{pixels}.mp4", "25", seconds=1.0,
                        codec=("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", pixels))
    reference = _opencv_frames(clip)
    frames = list(iter_frames(clip, rate=1000.0, max_side=4096))
    assert [f.time for f in frames] == pytest.approx([t for t, _ in reference], abs=1e-9)
    for frame, (_, image) in zip(frames[::6], reference[::6], strict=True):
        expected = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        assert frame.rgb.shape == expected.shape
        assert np.abs(frame.rgb.astype(int) - expected).mean() < 3.0


def test_a_stream_without_timestamps_is_spaced_at_the_nominal_rate(clips, tmp_path) -> None:
    raw = tmp_path / "raw.h264"  # an elementary stream: no container, no timestamps
    run_ffmpeg(["-i", str(clips["30000/1001"]), "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", str(raw)])
    times = [f.time for f in iter_frames(raw, rate=1000.0, nominal_fps=30000 / 1001)]
    assert len(times) == len(read_frame_times(clips["30000/1001"]))
    np.testing.assert_allclose(np.diff(times), 1001 / 30000, rtol=1e-9)
    assert times[0] == 0.0


def test_unreadable_files_fail_with_one_sentence(tmp_path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50, encoding="utf-8")
    with pytest.raises(VideoError, match="notes.mp4: not a video file that can be read"):
        list(iter_frames(text))
    audio = tmp_path / "tone.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac", str(audio)])
    with pytest.raises(VideoError, match="tone.mp4: the file has audio but no video stream"):
        list(iter_frames(audio))
    with pytest.raises(VideoError, match="missing.mp4: file not found"):
        list(iter_frames(tmp_path / "missing.mp4"))
