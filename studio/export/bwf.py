"""Broadcast WAV delivery: every stem and the mix, placed at the video's timecode.

Each file carries a ``bext`` chunk (EBU Tech 3285) whose TimeReference counts samples
since midnight up to music time 0, so Pro Tools, Nuendo and Resolve spot it against the
picture, and an iXML chunk naming the project, scene, take and track. soundfile cannot
write either chunk, so the RIFF container is written here with :mod:`struct`; audio is
16/24-bit PCM (format 1) or 32-bit float (format 3, with a ``fact`` chunk).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import struct
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from expotion_engine.audio_io import Spool, WavAudio, WavWriter, is_lazy
from expotion_engine.errors import ExportError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress
from studio.export.job import DeliveryFolder, ExportJob
from studio.spool import spool_beside
from studio.timecode import TimecodeRate

log = logging.getLogger(__name__)

ORIGINATOR = "Expotion Studio"
_BLOCK = 1 << 18  # frames converted per write, so memory stays small for long takes
_RIFF_LIMIT = 2**32 - 1
_DITHER_SEED = 0x5EED


@dataclass(frozen=True)
class Bext:
    """The fields of a version-1 ``bext`` chunk; strings are ASCII and cut to their field sizes."""

    description: str
    originator: str
    originator_reference: str
    origination_date: str
    origination_time: str
    time_reference: int
    coding_history: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.time_reference < 2**64:
            raise ExportError(f"BWF time reference {self.time_reference} must be 0..2^64-1 samples.")

    def to_bytes(self) -> bytes:
        """The chunk body: 602 fixed bytes, then the coding history (CR/LF terminated)."""

        def text(value: str, size: int) -> bytes:
            return value.encode("ascii", "replace")[:size].ljust(size, b"\0")

        history = self.coding_history.encode("ascii", "replace")
        return (
            text(self.description, 256)
            + text(self.originator, 32)
            + text(self.originator_reference, 32)
            + text(self.origination_date, 10)
            + text(self.origination_time, 8)
            + struct.pack("<QH", self.time_reference, 1)
            + b"\0" * 64  # UMID: none
            + b"\0" * 190  # reserved (version 1)
            + history
        )


def time_reference(start_seconds: float, sample_rate: int) -> int:
    """Samples since midnight at ``start_seconds`` of timecode (wrapping past 24 h)."""
    return int(round((start_seconds % 86400.0) * sample_rate))


def ixml(
    *, project: str, scene: str, take: str, track: str, channels: int, sample_rate: int, bit_depth: int,
    timecode: TimecodeRate, time_ref: int, note: str = "",
) -> bytes:
    """An iXML document (``BWFXML``) naming project, scene, take and each channel of ``track``."""
    root = ET.Element("BWFXML")

    def add(parent: ET.Element, tag: str, value: object) -> ET.Element:
        child = ET.SubElement(parent, tag)
        child.text = str(value)
        return child

    add(root, "IXML_VERSION", "2.10")
    add(root, "PROJECT", project)
    add(root, "SCENE", scene)
    add(root, "TAKE", take)
    add(root, "NOTE", note)
    speed = ET.SubElement(root, "SPEED")
    rate = _rate_text(timecode)
    add(speed, "MASTER_SPEED", rate)
    add(speed, "CURRENT_SPEED", rate)
    add(speed, "TIMECODE_RATE", rate)
    add(speed, "TIMECODE_FLAG", "DF" if timecode.drop_frame else "NDF")
    add(speed, "FILE_SAMPLE_RATE", sample_rate)
    add(speed, "AUDIO_BIT_DEPTH", bit_depth)
    add(speed, "DIGITIZER_SAMPLE_RATE", sample_rate)
    add(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI", time_ref >> 32)
    add(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO", time_ref & 0xFFFFFFFF)
    add(speed, "TIMESTAMP_SAMPLE_RATE", sample_rate)
    tracks = ET.SubElement(root, "TRACK_LIST")
    add(tracks, "TRACK_COUNT", channels)
    sides = ("L", "R") if channels == 2 else tuple(str(i + 1) for i in range(channels)) if channels > 1 else ("",)
    for index, side in enumerate(sides, start=1):
        entry = ET.SubElement(tracks, "TRACK")
        add(entry, "CHANNEL_INDEX", index)
        add(entry, "INTERLEAVE_INDEX", index)
        add(entry, "NAME", f"{track} {side}".strip())
        if channels == 2:
            add(entry, "FUNCTION", "LEFT" if side == "L" else "RIGHT")
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def _rate_text(rate: TimecodeRate) -> str:
    """``30000/1001``-style frame rate, as iXML writes speeds."""
    return f"{rate.rate.numerator}/{rate.rate.denominator}"


def _chunk(handle: BinaryIO, tag: bytes, body: bytes) -> None:
    handle.write(tag + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b""))


def _encode(block: np.ndarray, bit_depth: int, rng: np.random.Generator) -> tuple[bytes, int]:
    """Interleaved little-endian sample bytes of a ``(frames, channels)`` block, and how many clipped."""
    if bit_depth == 32:
        return np.ascontiguousarray(block, dtype="<f4").tobytes(), 0
    scale = float(2 ** (bit_depth - 1))
    scaled = block.astype(np.float64) * scale
    if bit_depth == 16:  # TPDF dither, one LSB peak-to-peak per source
        scaled += rng.uniform(-0.5, 0.5, scaled.shape) + rng.uniform(-0.5, 0.5, scaled.shape)
    ints = np.round(scaled)
    clipped = int(np.count_nonzero((ints > scale - 1) | (ints < -scale)))
    ints = np.ascontiguousarray(np.clip(ints, -scale, scale - 1).astype("<i4"))
    if bit_depth == 16:
        return ints.astype("<i2").tobytes(), clipped
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes(), clipped


def write_bwf(
    path: str | Path, audio: np.ndarray, sample_rate: int, bit_depth: int, bext: Bext, ixml_text: bytes | None = None,
) -> int:
    """Write ``audio`` (float ``(channels, samples)``) as a Broadcast WAV file at ``path``.

    Chunk order: ``bext``, ``fmt``, ``fact`` (float only), ``iXML``, ``data``. PCM clips at
    full scale and 16-bit is TPDF-dithered; returns how many samples were clipped.
    """
    channels, frames = audio.shape
    width = bit_depth // 8
    data_size = frames * channels * width
    if data_size + 4096 > _RIFF_LIMIT:
        raise ExportError(
            f"{path}: {frames / sample_rate:.0f} s of {channels}-channel {bit_depth}-bit audio exceeds the 4 GiB "
            "WAV limit; export a shorter range or a lower bit depth."
        )
    fmt_tag = 3 if bit_depth == 32 else 1
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, sample_rate, sample_rate * channels * width, channels * width,
                      bit_depth)
    if fmt_tag == 3:
        fmt += struct.pack("<H", 0)  # cbSize: non-PCM formats carry it
    rng = np.random.default_rng(_DITHER_SEED)
    clipped = 0
    with open(path, "wb") as handle:
        handle.write(b"RIFF\0\0\0\0WAVE")
        _chunk(handle, b"bext", bext.to_bytes())
        _chunk(handle, b"fmt ", fmt)
        if fmt_tag == 3:
            _chunk(handle, b"fact", struct.pack("<I", frames))
        if ixml_text is not None:
            _chunk(handle, b"iXML", ixml_text)
        handle.write(b"data" + struct.pack("<I", data_size))
        for start in range(0, frames, _BLOCK):
            body, count = _encode(audio[:, start:start + _BLOCK].T, bit_depth, rng)
            handle.write(body)
            clipped += count
        if data_size % 2:
            handle.write(b"\0")
        riff_size = handle.tell() - 8
        handle.seek(4)
        handle.write(struct.pack("<I", riff_size))
    return clipped


def resample(audio: np.ndarray | WavAudio, source_rate: int, target_rate: int, *, spool: Spool | None = None,
             cancel: CancelEvent | None = None) -> np.ndarray | WavAudio:
    """``audio`` ``(channels, samples)`` at ``target_rate`` (soxr, very high quality), length to the sample.

    Audio on disk (a long take's :class:`WavAudio`) is resampled block by block into a float WAV in
    ``spool`` (the caller's, on the output's disk: :func:`resampled` makes one and removes it), never
    read whole and never written to the system temp folder; ``cancel`` is checked at every block.
    """
    if source_rate == target_rate:
        return audio
    import soxr

    if is_lazy(audio):
        if spool is None:
            raise ExportError(f"{audio.path}: audio on disk is resampled into a spool folder on the output's disk, "
                              "and none was given.")
        return _resample_to_disk(audio, source_rate, target_rate, spool, cancel)

    out = soxr.resample(np.ascontiguousarray(audio.T, dtype=np.float32), source_rate, target_rate, quality="VHQ")
    length = int(round(audio.shape[1] * target_rate / source_rate))
    out = out[:length]
    if out.shape[0] < length:
        out = np.pad(out, ((0, length - out.shape[0]), (0, 0)))
    return np.ascontiguousarray(out.T, dtype=np.float32)


@contextlib.contextmanager
def resampled(audio: np.ndarray | WavAudio, source_rate: int, target_rate: int, output: Path,
              cancel: CancelEvent | None = None) -> Iterator[np.ndarray | WavAudio]:
    """:func:`resample` of ``audio`` for the ``with`` block: audio on disk goes to a hidden spool on ``output``'s
    disk (:func:`studio.spool.spool_beside`, which a killed run's :func:`~studio.fsutil.remove_stale` clears),
    removed when the block ends, whether it finished, failed, was cancelled or interrupted."""
    if source_rate == target_rate or not is_lazy(audio):
        yield resample(audio, source_rate, target_rate)
        return
    spool = spool_beside(output)
    try:
        yield resample(audio, source_rate, target_rate, spool=spool, cancel=cancel)
    finally:
        spool.close()


def _resample_to_disk(audio: WavAudio, source_rate: int, target_rate: int, spool: Spool,
                      cancel: CancelEvent | None) -> WavAudio:
    """:func:`resample` of audio on disk, block by block into a float WAV of its own in ``spool``."""
    import soxr

    channels, frames = audio.shape
    length = int(round(frames * target_rate / source_rate))
    fd, name = tempfile.mkstemp(prefix="resampled-", suffix=".wav", dir=spool.path)
    os.close(fd)  # a unique name; the writer's finished file replaces it
    stream = soxr.ResampleStream(source_rate, target_rate, channels, dtype="float32", quality="VHQ")
    written = 0
    with WavWriter(name, target_rate, channels, length) as writer:
        for start, block in audio.blocks(_BLOCK):
            check_cancel(cancel)
            out = stream.resample_chunk(np.ascontiguousarray(block.T), last=start + _BLOCK >= frames)
            out = out[: max(0, length - written)]
            if out.shape[0]:
                writer.write(out.T)
                written += out.shape[0]
        if written < length:
            writer.write(np.zeros((channels, length - written), dtype=np.float32))
    return spool.audio(Path(name))


def _coding_history(sample_rate: int, bit_depth: int, channels: int) -> str:
    mode = {1: "mono", 2: "stereo"}.get(channels, "multichannel")
    coding = "PCM" if bit_depth < 32 else "PCM_FLOAT"
    return f"A={coding},F={sample_rate},W={bit_depth},M={mode},T={ORIGINATOR}\r\n"


def _reference(job: ExportJob, track: str) -> str:
    """A 32-character originator reference unique to title, take and track."""
    digest = hashlib.sha1(f"{job.title}\0{job.take_label}\0{track}\0{job.take.seed}".encode()).hexdigest()
    return f"EXP{digest[:29]}".upper()


def audio_files(job: ExportJob) -> list[str]:
    """Relative paths :func:`write_audio` writes: the mix, then each stem."""
    return [job.mix_file, *(job.stem_file(stem.name) for stem in job.take.stems)]


def write_audio(
    job: ExportJob, folder: DeliveryFolder, *, progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
) -> list[Path]:
    """Write the mix and every stem as Broadcast WAV at the job's sample rate and bit depth."""
    report: Callable[[float, str], None] = progress or no_progress
    settings = job.settings
    rate, depth = settings.sample_rate, settings.bit_depth
    folder.check(audio_files(job))
    ref = time_reference(job.start_seconds, rate)
    now = dt.datetime.now()
    scene = job.video.stem if job.video is not None else job.title
    parts = [("mix", job.take.mix), *((stem.name, stem.audio) for stem in job.take.stems)]
    written: list[Path] = []
    for index, ((name, audio), relative) in enumerate(zip(parts, audio_files(job), strict=True)):
        check_cancel(cancel)
        report(index / len(parts), f"Writing {relative}")
        track = f"{job.title} mix" if name == "mix" else name
        bext = Bext(
            description=f"{job.title} - {track} - take {job.take_label} ({job.take.engine})",
            originator=ORIGINATOR,
            originator_reference=_reference(job, name),
            origination_date=now.strftime("%Y-%m-%d"),
            origination_time=now.strftime("%H:%M:%S"),
            time_reference=ref,
            coding_history=_coding_history(rate, depth, audio.shape[0]),
        )
        chunk = ixml(project=job.title, scene=scene, take=job.take_label, track=track, channels=audio.shape[0],
                     sample_rate=rate, bit_depth=depth, timecode=job.tc, time_ref=ref,
                     note=f"Expotion {job.take.engine} take, seed {job.take.seed}; {job.timecode.note}")
        with resampled(audio, job.take.sample_rate, rate, folder.root, cancel) as data, \
                folder.open_temp(relative) as tmp:
            clipped = write_bwf(tmp, data, rate, depth, bext, chunk)
        if clipped:
            log.warning("%s: %d samples clipped at full scale", relative, clipped)
        written.append(folder.written[-1])
    report(1.0, "Audio written")
    return written
