"""The re-muxed video, probed and decoded with PyAV (FFmpeg's libraries, not the binary that wrote it)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from expotion_engine.errors import Cancelled, ExportError
from studio.demo.writer import run_ffmpeg
from studio.export.job import DeliveryFolder, ExportJob, ExportSettings
from studio.export.video import write_video


def probe(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        found = {
            "duration": container.duration / av.time_base,
            "video_codec": video.codec_context.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "frames": [frame.time for frame in container.decode(video)],
            "audio_streams": len(container.streams.audio),
        }
        if container.streams.audio:
            audio = container.streams.audio[0].codec_context
            found.update(audio_codec=audio.name, rate=audio.sample_rate, channels=audio.channels)
        return found


def decoded_audio(path: Path) -> np.ndarray:
    """``(channels, samples)`` float64, whether the decoder gives planar or interleaved frames."""
    with av.open(str(path)) as container:
        channels = container.streams.audio[0].codec_context.channels
        chunks = [
            frame.to_ndarray() if frame.format.is_planar else frame.to_ndarray().reshape(-1, channels).T
            for frame in container.decode(audio=0)
        ]
    audio = np.concatenate(chunks, axis=1).astype(np.float64)
    return audio / 2**31 if np.issubdtype(chunks[0].dtype, np.integer) else audio


def frame_at(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise IndexError(index)


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def export(job: ExportJob, folder: Path, **kwargs: object) -> Path:
    (path,) = write_video(job, DeliveryFolder(folder), **kwargs)
    return path


def _nearest_source_frame(path: Path, source: Path) -> int:
    """Index of the source frame that the output's first frame looks most like (it was re-encoded)."""
    first = frame_at(path, 0).astype(np.float64)
    with av.open(str(source)) as container:
        errors = [np.abs(frame.to_ndarray(format="rgb24") - first).mean() for frame in container.decode(video=0)]
    return int(np.argmin(errors))


def test_aac_mux_starts_at_the_in_point_without_an_edit_list(job, tmp_path):
    path = export(job, tmp_path)
    assert path.name == "My_Clip_scored.mp4"
    found, source = probe(path), probe(job.video)
    assert abs(found["duration"] - job.take.duration) <= 1 / job.fps
    assert (found["video_codec"], found["size"]) == (source["video_codec"], source["size"])
    assert (found["audio_codec"], found["rate"], found["channels"], found["audio_streams"]) == ("aac", 48000, 2, 1)
    assert len(found["frames"]) == round(job.take.duration * job.fps)
    assert abs(found["frames"][0]) < 1e-6
    # a range that starts inside a GOP is re-encoded from the in point: its first frame is the in point's
    assert _nearest_source_frame(path, job.video) == round(job.video_in * job.fps)
    audio = decoded_audio(path)[:, : job.take.n_samples]
    mix = job.take.mix[:, : audio.shape[1]].astype(np.float64)
    correlation = np.sum(audio * mix) / np.sqrt(np.sum(audio**2) * np.sum(mix**2))
    assert correlation > 0.95


def test_the_whole_video_is_copied_untouched(job, take, tmp_path):
    whole = replace(job, video_in=0.0, take=replace(take, mix=np.tile(take.mix, 2)[:, : 5 * take.sample_rate],
                                                    stems=()))
    path = export(whole, tmp_path)
    found = probe(path)
    assert len(found["frames"]) == 5 * job.fps and abs(found["frames"][0]) < 1e-6
    copied = set(video_packets(job.video))
    assert all(packet in copied for packet in video_packets(path))  # stream copy: no re-encoded packet
    np.testing.assert_array_equal(frame_at(path, 0), frame_at(job.video, 0))


@pytest.fixture
def with_tone(job, tmp_path) -> Path:
    """The job's video with a 440 Hz source track (dialogue stand-in) of its own."""
    path = tmp_path / "tone.mp4"
    run_ffmpeg(["-i", str(job.video), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=5",
                "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(path)])
    return path


def _streams(path: Path) -> list[tuple[str, bool, np.ndarray]]:
    """(title, default, mono samples) of every audio stream."""
    found = []
    with av.open(str(path)) as container:
        heads = [(s.metadata.get("handler_name", ""), bool(s.disposition & av.stream.Disposition.default))
                 for s in container.streams.audio]
    for index, (title, default) in enumerate(heads):
        with av.open(str(path)) as container:
            found.append((title, default, np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=index)])))
    return found


def _level_at(samples: np.ndarray, hertz: float) -> float:
    """Spectral magnitude near ``hertz`` relative to the strongest bin (1.0 = the peak)."""
    spectrum = np.abs(np.fft.rfft(samples[4800:100800] * np.hanning(96000)))
    return float(spectrum[int(round(hertz * 2)) - 2: int(round(hertz * 2)) + 3].max() / spectrum.max())


def test_source_audio_is_kept_as_a_second_stream(job, with_tone, tmp_path):
    path = export(replace(job, video=with_tone), tmp_path / "out")
    assert len(probe(path)["frames"]) == round(job.take.duration * job.fps)
    (score_title, score_default, score), (tone_title, tone_default, tone) = _streams(path)
    assert (score_title, score_default, tone_title, tone_default) == ("Score", True, "Source audio 1", False)
    assert abs(len(tone) - len(score)) <= 1024 and abs(len(tone) / 48000 - job.take.duration) <= 1024 / 48000
    assert _level_at(tone, 440.0) == 1.0 and _level_at(score, 440.0) < 0.5


def test_mix_adds_a_premixed_stream_and_score_keeps_the_score_alone(job, with_tone, tmp_path):
    mixed = export(replace(job, video=with_tone, settings=ExportSettings(video_tracks="mix")), tmp_path / "mix")
    (title, default, premix), (score_title, _, score), (tone_title, _, tone) = _streams(mixed)
    assert (title, default, score_title, tone_title) == ("Score + source audio", True, "Score", "Source audio 1")
    n = min(len(premix), len(score), len(tone))
    residual = premix[:n] - score[:n] - tone[:n]
    assert np.sqrt(np.mean(residual**2)) < 0.05 * np.sqrt(np.mean(premix[:n] ** 2))
    alone = export(replace(job, video=with_tone, settings=ExportSettings(video_tracks="score")), tmp_path / "score")
    assert [title for title, _, _ in _streams(alone)] == ["Score"]


@pytest.mark.parametrize("rate", [48000, 44100])
def test_pcm_mux_goes_into_a_mov_with_the_exact_mix(job, tmp_path, rate):
    pcm = replace(job, settings=ExportSettings(video_audio="pcm", bit_depth=24, sample_rate=rate))
    path = export(pcm, tmp_path)
    assert path.name == "My_Clip_scored.mov"
    found = probe(path)
    assert (found["audio_codec"], found["rate"], found["channels"]) == ("pcm_s24le", rate, 2)
    assert abs(found["duration"] - job.take.duration) <= 1 / job.fps
    audio = decoded_audio(path)
    assert audio.shape == (2, round(job.take.n_samples * rate / 48000))
    if rate == 48000:
        np.testing.assert_allclose(audio, job.take.mix, rtol=0, atol=1 / 2**23)


def test_other_containers_become_a_mov_that_starts_at_the_in_point(job, tmp_path):
    mkv = tmp_path / "source.mkv"
    run_ffmpeg(["-i", str(job.video), "-c", "copy", str(mkv)])
    path = export(replace(job, video=mkv), tmp_path / "out")
    assert path.name == "My_Clip_scored.mov"
    found = probe(path)
    assert len(found["frames"]) == round(job.take.duration * job.fps) and abs(found["frames"][0]) < 1e-6
    assert _nearest_source_frame(path, job.video) == round(job.video_in * job.fps)
    assert abs(found["duration"] - job.take.duration) <= 1 / job.fps


@pytest.mark.parametrize(("encoder", "suffix"), [("libvpx-vp9", ".mp4"), ("libvpx", ".mkv")])
def test_a_webm_whose_picture_a_mov_cannot_hold_is_copied_into_an_mp4_or_mkv(job, take, tmp_path, encoder, suffix):
    """VP9 and VP8, as WebM files (YouTube, screen recorders) hold them: the MOV muxer refuses both ("vp9 only
    supported in MP4") and the whole score was lost; the picture is now stream-copied into a container that takes it."""
    webm = tmp_path / "source.webm"
    run_ffmpeg(["-i", str(job.video), "-c:v", encoder, "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
                str(webm)])
    whole = replace(job, video=webm, video_in=0.0,
                    take=replace(take, mix=np.tile(take.mix, 2)[:, : 5 * take.sample_rate], stems=()))
    path = export(whole, tmp_path / "out")
    assert path.name == f"My_Clip_scored{suffix}"
    found = probe(path)
    assert found["video_codec"] == probe(webm)["video_codec"] and found["audio_codec"] == "aac"
    assert len(found["frames"]) == 5 * job.fps
    copied = set(video_packets(webm))
    assert all(packet in copied for packet in video_packets(path))


def test_progress_rises_to_one(job, tmp_path):
    reports: list[float] = []
    export(job, tmp_path, progress=lambda fraction, message: reports.append(fraction))
    assert reports[0] == 0.0 and reports[-1] == 1.0
    assert reports == sorted(reports)


def test_cancel_kills_ffmpeg_and_leaves_no_file(job, tmp_path):
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        export(job, tmp_path, progress=lambda fraction, message: cancel.set(), cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_no_video_is_a_clear_error(job, tmp_path):
    with pytest.raises(ExportError, match="no video"):
        export(replace(job, video=None), tmp_path)


def test_score_longer_than_the_video_is_refused(job, tmp_path):
    with pytest.raises(ExportError, match="video is 5.000 s long"):
        export(replace(job, video_in=4.0), tmp_path)
    assert list(tmp_path.iterdir()) == []
