"""Time zero is the first presented video frame, also for a file whose streams start at different times.

The clips are generated here: a 4 s, 25 fps picture with white flashes on known frames
and a source audio track with a click at each flash; the "phone" copy puts the video
stream at 0.85 s and the audio at 0.008 s of the container (``-itsoffset``), as phone
and camera files often do. Results are read back with PyAV, not the ffmpeg that wrote them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import av
import mido
import numpy as np
import pytest
import soundfile as sf

from expotion_engine.media.probe import probe_video
from expotion_engine.types import Stem, Take, TempoChange, TempoMap
from expotion_engine.vision.analyze import AnalysisSettings, analyze_video
from studio.demo import scenarios
from studio.demo.writer import run_ffmpeg, write_mp4
from studio.export.bwf import write_audio
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.midi import write_midi
from studio.export.video import copies_picture, write_video
from studio.pipeline import export_job
from studio.session import Session

FPS = 25.0
FRAMES = 100
FLASHES = (10, 31, 57, 83)  # frame indices, irregular
VIDEO_START = 0.85
AUDIO_START = 0.008
RATE = 48000
AUDIO_FRAME = 1024 / RATE  # one AAC frame


def _flash_frames() -> list[np.ndarray]:
    frames = []
    for index in range(FRAMES):
        level = 235 if index in FLASHES else 40 + (index % 5) * 4
        frames.append(np.full((96, 128, 3), level, np.uint8))
    return frames


def _clicks(times: list[float], seconds: float, rate: int = RATE) -> np.ndarray:
    audio = np.zeros(int(round(seconds * rate)), np.float32)
    for t in times:
        start = int(round(t * rate))
        audio[start:start + 96] = 0.8
    return audio


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """``plain`` (both streams at 0) and ``phone`` (video at 0.85 s, audio at 0.008 s), same picture and sound."""
    folder = tmp_path_factory.mktemp("time_zero")
    picture = write_mp4(folder / "picture.mp4", _flash_frames(), fps=FPS)
    flash_times = [i / FPS for i in FLASHES]
    sf.write(folder / "plain.wav", _clicks(flash_times, 4.2), RATE)
    # the phone file's audio starts 0.842 s before its first frame: its clicks sit that much later in the track
    sf.write(folder / "phone.wav", _clicks([t + VIDEO_START - AUDIO_START for t in flash_times], 5.0), RATE)
    plain, phone = folder / "plain.mp4", folder / "phone.mp4"
    run_ffmpeg(["-i", str(picture), "-i", str(folder / "plain.wav"), "-map", "0:v", "-map", "1:a",
                "-c:v", "copy", "-c:a", "aac", "-b:a", "256k", str(plain)])
    run_ffmpeg(["-itsoffset", str(VIDEO_START), "-i", str(picture), "-itsoffset", str(AUDIO_START),
                "-i", str(folder / "phone.wav"), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                "-b:a", "256k", str(phone)])
    return {"plain": plain, "phone": phone}


def _click_take(seconds: float, times: list[float]) -> Take:
    mix = np.stack([_clicks(times, seconds)] * 2)
    return Take(engine="procedural", sample_rate=RATE, mix=mix, stems=(Stem("clicks", mix.copy()),),
                tempo_map=TempoMap(tempos=(TempoChange(0.0, 120.0),)), markers=(), request={}, seed=1)


def _onsets(audio: np.ndarray, start: float, rate: int) -> list[float]:
    above = np.flatnonzero(np.abs(audio) > 0.3)
    onsets: list[int] = []
    for index in above:
        if not onsets or index - onsets[-1] > rate // 5:
            onsets.append(int(index))
    return [start + i / rate for i in onsets]


def _read(path: Path) -> dict[str, object]:
    """Frame times, flash times and the onsets of every audio stream, decoded with PyAV."""
    with av.open(str(path)) as container:
        frames = [(frame.time, frame.to_ndarray(format="gray").mean()) for frame in container.decode(video=0)]
        titles = [s.metadata.get("handler_name", "") for s in container.streams.audio]
        count = len(container.streams.audio)
    streams = []
    for index in range(count):
        with av.open(str(path)) as container:
            decoded = [(f.time, f.to_ndarray(), f.sample_rate) for f in container.decode(audio=index)]
        rate = decoded[0][2]
        mono = np.concatenate([d[1].reshape(d[1].shape[0], -1)[0] if d[1].ndim == 2 else d[1] for d in decoded])
        streams.append((decoded[0][0], _onsets(mono, decoded[0][0], rate), len(mono) / rate))
    return {
        "times": [t for t, _ in frames],
        "flashes": [t for t, level in frames if level > 180],
        "audio": streams,
        "titles": titles,
    }


def _worst(events: list[float], onsets: list[float]) -> float:
    assert len(onsets) >= len(events)
    return max(min(abs(onset - event) for onset in onsets) for event in events)


def test_probe_reports_where_the_first_frame_and_the_audio_sit(clips):
    phone, plain = probe_video(clips["phone"]), probe_video(clips["plain"])
    assert phone.video_start == pytest.approx(VIDEO_START, abs=1e-4)
    assert phone.audio_start is not None and phone.audio_start < 0.05
    assert (plain.video_start, phone.frame_count, phone.audio_streams) == (0.0, FRAMES, 1)
    assert phone.duration == pytest.approx(plain.duration) == pytest.approx(FRAMES / FPS)


@pytest.mark.parametrize("video_in", [0.0, 1.0])
def test_remux_of_an_offset_file_is_in_sync_full_length_and_keeps_the_source_audio(clips, tmp_path, video_in):
    info = probe_video(clips["phone"])
    seconds = FRAMES / FPS - video_in
    flashes = [i / FPS - video_in for i in FLASHES if i / FPS >= video_in]
    job = ExportJob(take=_click_take(seconds, flashes), title="phone", video=clips["phone"], video_in=video_in)
    assert copies_picture(job, info) == (video_in == 0.0)
    (path,) = write_video(job, DeliveryFolder(tmp_path))
    found = _read(path)
    # exactly the source's frames of the range, the first at 0, none dropped at the end
    assert len(found["times"]) == round(seconds * FPS)
    assert found["times"][0] == pytest.approx(0.0, abs=1e-6)
    assert found["flashes"] == pytest.approx(flashes, abs=1e-6)
    (score_start, score_onsets, score_length), (source_start, source_onsets, _) = found["audio"]
    assert found["titles"] == ["Score", "Source audio 1"]
    assert score_start == pytest.approx(0.0, abs=1e-6) and source_start == pytest.approx(0.0, abs=1e-6)
    assert score_length == pytest.approx(seconds, abs=AUDIO_FRAME)
    # the score and the dialogue line up with the picture within one audio frame
    assert _worst(flashes, score_onsets) <= AUDIO_FRAME
    assert _worst(flashes, source_onsets) <= AUDIO_FRAME


@pytest.mark.slow
def test_analysis_counts_from_the_first_frame(tmp_path):
    clip = scenarios.cut_clip(tmp_path / "cut.mp4", size=(160, 120), duration=3.0, cut_time=1.6)
    shifted = tmp_path / "cut_phone.mp4"
    run_ffmpeg(["-itsoffset", str(VIDEO_START), "-i", str(clip.path), "-f", "lavfi", "-i",
                "sine=frequency=440:sample_rate=48000:duration=4", "-map", "0:v", "-map", "1:a",
                "-c:v", "copy", "-c:a", "aac", str(shifted)])
    settings = AnalysisSettings(analysis_fps=5.0, max_side=160, flow_width=160)
    plain, phone = analyze_video(clip.path, settings), analyze_video(shifted, settings)
    assert phone.source.video_start == pytest.approx(VIDEO_START, abs=1e-4) and plain.source.video_start == 0.0
    assert (phone.source.start, phone.source.end) == (plain.source.start, plain.source.end)
    assert phone.source.container_start == pytest.approx(VIDEO_START, abs=1e-4)
    assert [m.time for m in phone.markers] == pytest.approx([m.time for m in plain.markers], abs=1e-6)
    assert any(abs(m.time - clip.cut_time) <= 1 / FPS + 1e-6 for m in phone.markers)
    np.testing.assert_allclose(phone.values, plain.values, atol=1e-5)


def test_bwf_time_reference_and_midi_offset_follow_the_first_frame(clips, tmp_path):
    session = Session.for_video(clips["phone"], timecode_start=3600.0)
    session.video_in = 1.0
    take = replace(_click_take(2.0, [0.5]), request={"controls": {"source": {"start": 1.0}}})
    job = export_job(session, take)
    assert (job.video_in, job.start_seconds) == (1.0, 3601.0)
    folder = DeliveryFolder(tmp_path)
    mix = write_audio(job, folder)[0]
    (midi,) = write_midi(job, folder)
    from wavinfo import WavInfoReader

    assert WavInfoReader(str(mix)).bext.time_reference == 3601 * job.settings.sample_rate
    (offset,) = [m for m in mido.MidiFile(midi).tracks[0] if m.type == "smpte_offset"]
    assert (offset.hours, offset.minutes, offset.seconds, offset.frames, offset.sub_frames) == (1, 0, 1, 0, 0)


def test_the_timeline_video_clip_starts_at_the_in_point(clips, tmp_path):
    import opentimelineio as otio

    from studio.export.editors import write_otio

    job = ExportJob(take=_click_take(2.0, [0.5]), title="phone", video=clips["phone"], video_in=1.0,
                    timecode_start=3600.0)
    (path,) = write_otio(job, DeliveryFolder(tmp_path))
    timeline = otio.adapters.read_from_file(str(path))
    (clip,) = timeline.video_tracks()[0].find_clips()
    assert clip.source_range.start_time.to_seconds() == pytest.approx(3601.0)
    assert clip.media_reference.available_range.duration.to_seconds() == pytest.approx(FRAMES / FPS)


def test_sources_saved_before_video_start_was_recorded_still_load():
    from expotion_engine.types import VideoSource

    old = {"path": "clip.mp4", "content_hash": "abc", "fps": 25.0, "width": 320, "height": 240, "duration": 4.0,
           "start": 1.0, "end": 3.0}
    source = VideoSource.from_dict(old)
    assert (source.video_start, source.container_start, source.container_end) == (0.0, 1.0, 3.0)
    shifted = VideoSource.from_dict({**old, "video_start": VIDEO_START})
    assert VideoSource.from_dict(shifted.to_dict()) == shifted and shifted.container_start == 1.0 + VIDEO_START
