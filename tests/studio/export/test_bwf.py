"""Broadcast WAV delivery: audio read back with soundfile, bext/iXML with wavinfo and a chunk reader written here."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wavinfo import WavInfoReader

from expotion_engine.errors import ExportError
from studio.export.bwf import Bext, time_reference, write_audio, write_bwf
from studio.export.job import DeliveryFolder, ExportJob, ExportSettings


def read_chunks(path: Path) -> dict[bytes, bytes]:
    """Every chunk of a RIFF/WAVE file by id, checking the RIFF size and word alignment."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos < len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks[tag] = data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size % 2)
    assert pos == len(data)
    return chunks


def parse_bext(body: bytes) -> dict[str, object]:
    """The EBU Tech 3285 fields, read by offset."""
    low, high = struct.unpack("<II", body[338:346])
    return {
        "description": body[:256].rstrip(b"\0").decode("ascii"),
        "originator": body[256:288].rstrip(b"\0").decode("ascii"),
        "reference": body[288:320].rstrip(b"\0").decode("ascii"),
        "date": body[320:330].decode("ascii"),
        "time_reference": low + (high << 32),
        "version": struct.unpack("<H", body[346:348])[0],
        "history": body[602:].decode("ascii"),
    }


def export(job: ExportJob, folder: Path, **settings: object) -> list[Path]:
    job = replace(job, settings=ExportSettings(**settings))
    return write_audio(job, DeliveryFolder(folder))


@pytest.mark.parametrize(("bit_depth", "subtype", "tolerance"), [
    (16, "PCM_16", 1.5 / 2**15), (24, "PCM_24", 0.51 / 2**23), (32, "FLOAT", 0.0),
])
def test_stems_and_mix_read_back_at_each_bit_depth(job, tmp_path, bit_depth, subtype, tolerance):
    paths = export(job, tmp_path, bit_depth=bit_depth)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "My_Clip_mix.wav", *(f"My_Clip_stems/My_Clip_{name}.wav" for name in ("drums", "bass", "harmony", "melody")),
    ]
    sources = [job.take.mix, *(s.audio for s in job.take.stems)]
    for path, source in zip(paths, sources, strict=True):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (48000, 2, job.take.n_samples, subtype)
        audio, _ = sf.read(path, dtype="float64", always_2d=True)
        np.testing.assert_allclose(audio.T, source, rtol=0, atol=tolerance + 1e-12)
        chunks = read_chunks(path)
        fmt_tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", chunks[b"fmt "][:16])
        assert (fmt_tag, channels, rate, bits) == (3 if bit_depth == 32 else 1, 2, 48000, bit_depth)
        assert (byte_rate, align) == (48000 * 2 * bit_depth // 8, 2 * bit_depth // 8)
        assert (b"fact" in chunks) == (bit_depth == 32)
        if bit_depth == 32:
            assert struct.unpack("<I", chunks[b"fact"])[0] == job.take.n_samples


def test_bext_time_reference_places_the_file_at_the_video_timecode(job, tmp_path):
    paths = export(job, tmp_path)
    assert job.start_seconds == 3602.0
    for path in paths:
        bext = parse_bext(read_chunks(path)[b"bext"])
        assert bext["time_reference"] == 3602 * 48000
        assert bext["originator"] == "Expotion Studio"
        assert bext["version"] == 1
        assert "My Clip" in bext["description"]
        assert bext["history"] == "A=PCM,F=48000,W=24,M=stereo,T=Expotion Studio\r\n"
        probe = WavInfoReader(path)
        assert probe.bext.time_reference == 3602 * 48000
        assert probe.fmt.sample_rate == 48000 and probe.fmt.bits_per_sample == 24
    references = {parse_bext(read_chunks(p)[b"bext"])["reference"] for p in paths}
    assert len(references) == len(paths)


def test_ixml_names_project_scene_take_and_track(job, tmp_path):
    paths = export(job, tmp_path)
    drums = WavInfoReader(paths[1]).ixml
    assert (drums.project, drums.scene, drums.take) == ("My Clip", "face", "seed7")
    assert [t.name for t in drums.track_list] == ["drums L", "drums R"]
    root = ET.fromstring(read_chunks(paths[0])[b"iXML"])
    assert root.findtext("TRACK_LIST/TRACK/NAME") == "My Clip mix L"
    assert root.findtext("SPEED/TIMECODE_RATE") == "25/1"
    assert int(root.findtext("SPEED/TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO")) == 3602 * 48000
    named = replace(job, take_name="take 3")
    assert WavInfoReader(write_audio(named, DeliveryFolder(tmp_path / "named"))[0]).ixml.take == "take 3"


def test_resampled_delivery_keeps_length_timing_and_content(job, tmp_path):
    paths = export(job, tmp_path, sample_rate=44100, bit_depth=32)
    bass = job.take.stem("bass").audio
    audio, rate = sf.read(paths[2], dtype="float64", always_2d=True)
    assert rate == 44100 and audio.shape == (round(job.take.n_samples * 44100 / 48000), 2)
    expected = np.interp(np.arange(audio.shape[0]) / 44100, np.arange(bass.shape[1]) / 48000, bass[0])
    assert np.max(np.abs(audio[:, 0] - expected)) < 0.01 * np.max(np.abs(bass))
    assert parse_bext(read_chunks(paths[0])[b"bext"])["time_reference"] == 3602 * 44100


def test_time_reference_wraps_at_midnight():
    assert time_reference(3602.0, 48000) == 172_896_000
    assert time_reference(86400.0 + 1.5, 48000) == 72_000


def test_pcm_clips_at_full_scale_and_float_does_not(tmp_path):
    loud = np.array([[0.5, 1.5, -2.0, -1.0]], np.float32)
    bext = Bext("loud", "test", "ref", "2026-01-01", "00:00:00", 0)
    assert write_bwf(tmp_path / "pcm.wav", loud, 48000, 24, bext) == 2
    assert write_bwf(tmp_path / "float.wav", loud, 48000, 32, bext) == 0
    pcm, _ = sf.read(tmp_path / "pcm.wav", dtype="float64")
    floats, _ = sf.read(tmp_path / "float.wav", dtype="float64")
    np.testing.assert_allclose(pcm, [0.5, 1 - 2**-23, -1.0, -1.0])
    np.testing.assert_array_equal(floats, loud[0])


def test_existing_files_are_not_overwritten_without_force(job, tmp_path):
    first = export(job, tmp_path)
    before = first[0].read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        export(job, tmp_path)
    assert first[0].read_bytes() == before
    assert not list(tmp_path.rglob("*.part"))
    again = write_audio(replace(job, settings=ExportSettings(bit_depth=16, force=True)),
                        DeliveryFolder(tmp_path, force=True))
    assert sf.info(again[0]).subtype == "PCM_16"
