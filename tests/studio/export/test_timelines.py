"""Editor timelines as a dub stage receives them, read back by OpenTimelineIO's adapters:
the music plays once, every sequence starts at the timecode, one marker lands on one frame
in every format, and a moved delivery folder relinks.

Playback is rebuilt here from what each file says: every enabled audio clip's media is
decoded with soundfile, placed on the time axis at its record position and summed; that sum
is compared with the delivered mix (peak and RMS). The enabled flags come from where each
format keeps them: ``.otio`` tracks and clips, FCP 7 XML ``<enabled>`` (kept by the adapter as
metadata), FCPXML ``enabled="0"`` on a lane's clip (read from the XML: the adapter drops it),
and for the EDLs the events themselves (an audio EDL lists only what plays).
"""

from __future__ import annotations

import csv
import math
import shutil
import urllib.parse
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np
import opentimelineio as otio
import pytest
import rpp
import soundfile as sf
from wavinfo import WavInfoReader

from expotion_engine.types import Marker
from studio.export import ExportSettings, export_delivery
from studio.export.job import ExportJob

EDITORS = ("edl", "fcp7", "fcpxml", "otio")
FORMATS = ["audio", "midi", "markers", *EDITORS, "reaper", "dawproject"]
HALF_FRAME = Marker(1.0 + 0.5 / 25, "half frame", "user")  # exactly between frames 25 and 26 at 25 fps


def _url_path(url: str, base: Path) -> Path:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.parse.unquote(parsed.path))
    return base / urllib.parse.unquote(url)


def bwf_seconds(path: Path) -> float:
    """A BWF's timestamp (``bext`` TimeReference) in seconds, read with wavinfo."""
    info = WavInfoReader(str(path))
    return info.bext.time_reference / info.fmt.sample_rate


def _read(path: Path, **kw) -> otio.schema.Timeline:
    return otio.adapters.read_from_file(str(path), **kw)


def _fcpxml_start(path: Path) -> float:
    sequence = ET.parse(path).getroot().find("./project/sequence")
    return float(Fraction(sequence.get("tcStart").rstrip("s")))


def enabled_audio(fmt: str, out: Path, job: ExportJob) -> list[tuple[Path, float, float, float, int | None]]:
    """``(media, seconds from the sequence start, seconds into the media, duration, channel)`` of every
    audio clip that plays, as format ``fmt``'s reader sees it."""
    clips = []
    if fmt == "edl":
        for edl in sorted(out.glob(f"{job.slug}_audio*.edl")):
            timeline = _read(edl, rate=job.fps)
            for track in timeline.audio_tracks():
                record = -track.source_range.start_time.to_seconds()
                for clip in track.find_clips():
                    clips.append((clip, track, record - job.start_seconds, {"A1": 0, "A2": 1}[track.name], edl))
    else:
        path = out / {"fcp7": f"{job.slug}_fcp7.xml", "fcpxml": f"{job.slug}.fcpxml", "otio": f"{job.slug}.otio"}[fmt]
        timeline = _read(path)
        origin = _fcpxml_start(path) if fmt == "fcpxml" else 0.0
        off = {c.get("lane") for c in ET.parse(path).getroot().iter("clip") if c.get("enabled") == "0"} \
            if fmt == "fcpxml" else set()
        for track in timeline.audio_tracks():
            if not track.enabled or track.name in off or track.metadata.get("fcp_xml", {}).get("enabled") == "FALSE":
                continue
            for clip in track.find_clips():
                if clip.enabled and clip.metadata.get("fcp_xml", {}).get("enabled") != "FALSE":
                    clips.append((clip, track, -origin, None, path))
    out_clips = []
    for clip, _, shift, channel, path in clips:
        media = _url_path(clip.media_reference.target_url, path.parent)
        position = clip.range_in_parent().start_time.to_seconds() + shift
        available = clip.media_reference.available_range
        # source timecode minus the media's own: the clip's declared range, else (EDL) the BWF's bext timestamp
        media_start = available.start_time.to_seconds() if available is not None else bwf_seconds(media)
        into = clip.source_range.start_time.to_seconds() - media_start
        out_clips.append((media, position, into, clip.source_range.duration.to_seconds(), channel))
    return out_clips


def playback(fmt: str, out: Path, job: ExportJob, rate: int, n: int) -> np.ndarray:
    """What format ``fmt`` plays: its enabled clips decoded, placed and summed into ``(n, 2)`` samples."""
    total = np.zeros((n, 2))
    for media, position, into, duration, channel in enabled_audio(fmt, out, job):
        audio, media_rate = sf.read(media, always_2d=True)
        assert media_rate == rate
        a = round(into * rate)
        piece = audio[a:a + round(duration * rate)]
        at = round(position * rate)
        if channel is None:
            total[at:at + len(piece)] += piece[: n - at]
        else:
            total[at:at + len(piece), channel] += piece[: n - at, channel]
    return total


@pytest.fixture
def delivered(job: ExportJob, tmp_path: Path):
    """A function writing ``job``'s editor delivery with ``timeline_audio`` into a fresh folder."""

    def write(timeline_audio: str = "both-mix-enabled", formats=FORMATS) -> tuple[Path, ExportJob]:
        chosen = replace(job, settings=ExportSettings(timeline_audio=timeline_audio),
                         markers=tuple(sorted((*job.markers, HALF_FRAME), key=lambda m: m.time)))
        out = tmp_path / timeline_audio
        export_delivery(chosen, out, formats)
        return out, chosen

    return write


@pytest.mark.parametrize("mode", ["both-mix-enabled", "mix", "stems"])
def test_every_editor_format_plays_the_mix_once(delivered, mode: str) -> None:
    out, job = delivered(mode)
    mix, rate = sf.read(out / job.mix_file, always_2d=True)
    rms = np.sqrt(np.mean(mix**2))
    for fmt in EDITORS:
        played = playback(fmt, out, job, rate, len(mix))
        residual = np.sqrt(np.mean((played - mix) ** 2))
        assert 20 * np.log10(residual / rms + 1e-30) <= -60.0, fmt  # the stems null to the mix at 24 bit
        assert 20 * np.log10(np.max(np.abs(played)) / np.max(np.abs(mix))) == pytest.approx(0.0, abs=0.01), fmt
    media = {m.name for fmt in EDITORS for m, *_ in enabled_audio(fmt, out, job)}
    assert media == ({job.mix_file} if mode != "stems" else {Path(job.stem_file(s.name)).name for s in job.take.stems})


def test_every_sequence_starts_at_the_music_timecode(delivered) -> None:
    out, job = delivered()
    start = job.start_seconds  # 01:00:02:00
    video_edl = _read(out / f"{job.slug}.edl", rate=job.fps)
    assert -video_edl.tracks[0].source_range.start_time.to_seconds() == pytest.approx(start)
    audio_edl = _read(out / f"{job.slug}_audio.edl", rate=job.fps)
    assert -audio_edl.tracks[0].source_range.start_time.to_seconds() == pytest.approx(start)
    assert _read(out / f"{job.slug}_fcp7.xml").global_start_time.to_seconds() == pytest.approx(start)
    assert _fcpxml_start(out / f"{job.slug}.fcpxml") == pytest.approx(start)
    assert _read(out / f"{job.slug}.otio").global_start_time.to_seconds() == pytest.approx(start)
    lines = [line for name in (".edl", "_audio.edl") for line in (out / f"{job.slug}{name}").read_text().splitlines()]
    for line in lines:
        if line[:3].isdigit():  # every event's record in/out is the music's timecode range
            assert line.split()[-2:] == ["01:00:02:00", "01:00:05:00"]


def _frame(seconds: float) -> int:
    """The 25 fps frame nearest ``seconds``, halves up (rounded here, not by the code under test)."""
    return math.floor(seconds * 25 + 0.5 + 1e-9)


def test_one_marker_lands_on_one_frame_in_every_format(delivered) -> None:
    out, job = delivered()
    frames: dict[str, dict[str, int]] = {}
    edl = (out / f"{job.slug}.edl").read_text().splitlines()
    frames["edl"] = {line.split(None, 4)[4].lower(): otio.opentime.from_timecode(line.split()[2], 25).to_frames()
                     for line in edl if line.startswith("* LOC:")}
    fcp7 = _read(out / f"{job.slug}_fcp7.xml")
    base = fcp7.global_start_time.to_frames()
    frames["fcp7"] = {m.name.lower(): base + m.marked_range.start_time.to_frames() for m in fcp7.tracks.markers}
    fcpx = _read(out / f"{job.slug}.fcpxml")
    (clip,) = fcpx.video_tracks()[0].find_clips()
    frames["fcpxml"] = {m.name.lower(): m.marked_range.start_time.to_frames() for m in clip.markers}  # source = record
    native = _read(out / f"{job.slug}.otio")
    base = native.global_start_time.to_frames()
    frames["otio"] = {m.name.lower(): base + m.marked_range.start_time.to_frames() for m in native.tracks.markers}
    with open(out / f"{job.slug}_markers.csv", newline="") as handle:
        frames["csv"] = {row["Marker Name"].lower(): otio.opentime.from_timecode(row["In"], 25).to_frames()
                         for row in csv.DictReader(handle)}
    now, midi = 0.0, {}
    for message in mido.MidiFile(out / f"{job.slug}.mid"):
        now += message.time
        if message.type in ("marker", "cue_marker"):
            midi[message.text.lower()] = _frame(job.start_seconds + now)
    frames["midi"] = midi
    project = rpp.loads((out / f"{job.slug}.rpp").read_text())
    offset = float(project.find("PROJOFFS")[1])
    frames["reaper"] = {m[3].lower(): _frame(offset + float(m[2])) for m in project.findall("MARKER") if m[3]}
    with zipfile.ZipFile(out / f"{job.slug}.dawproject") as archive:
        xml = ET.fromstring(archive.read("project.xml"))
    frames["dawproject"] = {m.get("name").lower(): _frame(job.start_seconds + float(m.get("time")))
                            for m in xml.iter("Marker")}
    expected = {m.name.lower(): _frame(job.start_seconds + m.time) for m in job.markers}
    assert expected["half frame"] == 90050 + 26  # 01:00:03:01: the half frame rounds up, everywhere
    for fmt, found in frames.items():
        assert found == expected, fmt


def test_a_moved_delivery_folder_relinks_in_every_format(delivered, tmp_path: Path) -> None:
    out, job = delivered(formats=[*FORMATS, "video"])
    moved = tmp_path / "elsewhere" / "delivery"
    moved.parent.mkdir()
    shutil.move(str(out), moved)
    assert not out.exists()
    referenced: dict[str, set[Path]] = {}
    for fmt, name, kw in (("edl", ".edl", {"rate": 25}), ("edl", "_audio.edl", {"rate": 25}),
                          ("fcp7", "_fcp7.xml", {}), ("fcpxml", ".fcpxml", {}), ("otio", ".otio", {})):
        path = moved / f"{job.slug}{name}"
        for clip in _read(path, **kw).find_clips():
            referenced.setdefault(fmt, set()).add(_url_path(clip.media_reference.target_url, path.parent))
    project = rpp.loads((moved / f"{job.slug}.rpp").read_text())
    referenced["reaper"] = {_url_path(source.find("FILE")[1], moved) for source in project.iterfind(".//SOURCE")}
    with zipfile.ZipFile(moved / f"{job.slug}.dawproject") as archive:
        xml = ET.fromstring(archive.read("project.xml"))
    referenced["dawproject"] = {_url_path(f.get("path"), moved) for f in xml.iter("File")}
    audio = {moved / job.mix_file} | {moved / job.stem_file(s.name) for s in job.take.stems}
    for fmt, files in referenced.items():
        assert all(f.is_file() for f in files), (fmt, [f for f in files if not f.is_file()])
        inside = {f for f in files if moved in f.parents}
        assert inside >= ({moved / job.mix_file} if fmt == "edl" else audio), fmt
    texts = [p.read_text() for p in moved.iterdir() if p.suffix in (".xml", ".fcpxml", ".otio", ".edl", ".rpp")]
    assert len(texts) == 6 and not any(str(out) in text for text in texts)  # nothing names where it was written
