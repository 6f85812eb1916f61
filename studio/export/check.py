"""Quality control of a delivery folder: the checks a dub stage runs before accepting one.

:func:`check_delivery` reads any delivery folder back (:mod:`studio.export.readback`, the
same readers the receiving programs use) and returns one :class:`CheckResult` per check:

- ``stems null``: the mix minus the sum of the stems, in dB below the mix (<= -60 dB);
- ``lengths``: every BWF the same length and rate; each timeline's audio, the MIDI file and
  the scored video's picture as long as the music, and each of the video's audio tracks starting
  with its picture and as long (within a frame; a video that cannot be read fails here);
- ``timecode``: every BWF's ``bext`` TimeReference the same, and every sequence start (EDL
  record side, FCP 7 XML, FCPXML ``tcStart``, ``.otio``, REAPER ``PROJOFFS``, MIDI SMPTE
  offset) on the frame of that timestamp;
- ``markers``: each marker on the same timecode frame in every format that carries markers, and
  one tempo map in the MIDI file, the REAPER project and the DAWproject
  (:mod:`studio.export.check_tempo`);
- ``paths``: every file a project or timeline refers to exists, by a relative path when it
  lies inside the folder (the editor's ``<title>_sequence.*`` names the score as editors do);
- ``timeline audio``: what each timeline and DAW project plays (its enabled, unmuted audio,
  decoded and placed; of the editor's sequence its score tracks) sums to the mix once (<= -60 dB
  residual), so nothing plays twice and the music sits at its timecode; the
  scored video's score track, decoded, is the mix in sync (<= -10 dB through AAC, -60 dB as PCM);
- ``peak/loudness``: no BWF at full scale, the mix's integrated loudness above silence.

Every WAV is read a block at a time (:meth:`.Bwf.blocks`; the loudness with :class:`.LoudnessMeter`),
so the memory a check needs does not grow with the length of the delivery.
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import mido
import numpy as np

from expotion_engine.errors import ExportError, ExpotionError
from studio.export import readback
from studio.export.check_tempo import (
    count_changes,
    dawproject_maps,
    meter_faults,
    midi_maps,
    reaper_maps,
    tempo_faults,
)
from studio.export.manifest import MANIFEST, Manifest, read_manifest
from studio.export.readback import Bwf, Placement
from studio.export.readme import listed_files
from studio.export.source_timecode import file_timecode
from studio.timecode import TimecodeRate, format_frames, frame_seconds, to_frame

log = logging.getLogger(__name__)

NULL_DB = -60.0
#: the scored video's score against the mix through a lossy codec (AAC at 320 kb/s leaves -25 to -40 dB on music):
#: another take, the other polarity, a level 6 dB off or a shift of a frame leaves -6 dB or more
LOSSY_NULL_DB = -10.0
#: the title of the scored video's score track (:mod:`studio.export.video`)
SCORE_TRACK = "Score"
SILENT_LUFS = -70.0
FULL_SCALE = 1.0 - 2.0**-15


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, and one line saying what was found."""

    name: str
    passed: bool
    detail: str


@dataclass
class Delivery:
    """The files of a delivery folder, found by their names (``<slug>_mix.wav`` names the slug)."""

    root: Path
    slug: str
    mix: Path
    stems: list[Path]
    rate: TimecodeRate
    files: dict[str, list[Path]] = field(default_factory=dict)


_PATTERNS = {
    "edl": "{slug}*.edl", "fcp7": "{slug}_fcp7.xml", "fcpxml": "{slug}.fcpxml", "otio": "{slug}.otio",
    "reaper": "{slug}.rpp", "dawproject": "{slug}.dawproject", "midi": "{slug}.mid", "markers": "{slug}_markers.csv",
    "video": "{slug}_scored.*", "sequence": "{slug}_sequence.*",
}
#: the editor's sequence with the score laid in (:mod:`studio.timeline.deliver`), read by its suffix
_SEQUENCE_READERS = {".otio": readback.read_otio_json, ".xml": readback.read_fcp7, ".fcpxml": readback.read_fcpxml}


def _the_mix(folder: Path, mixes: list[Path]) -> Path:
    """The delivery's mix among ``mixes``: the only one, else the one its manifest names (ExportError
    when that does not decide: checking one of several at random would pass or fail the wrong take)."""
    if len(mixes) == 1:
        return mixes[0]
    manifest = read_manifest(folder)
    named = [mix for mix in mixes if manifest is not None and mix.name in manifest.paths()]
    if len(named) == 1:
        return named[0]
    listed = ", ".join(mix.name for mix in mixes)
    raise ExportError(f"{folder} holds {len(mixes)} mixes ({listed}) and no delivery manifest names one of them; "
                      "give a folder with one delivery in it.")


def find_delivery(root: str | Path) -> Delivery:
    """The delivery in folder ``root`` (ExportError when it has no ``*_mix.wav`` or no timecode rate)."""
    folder = Path(root)
    if not folder.exists():
        raise ExportError(f"{folder} does not exist; give the delivery folder to check.")
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder; give the delivery folder to check.")
    mixes = sorted(folder.glob("*_mix.wav"))
    if not mixes:
        inner = sorted(p.parent for p in folder.glob("*/*_mix.wav"))  # a score's or conform's OUT holds delivery/
        hint = f"; check the delivery folder inside it, {inner[0]}" if inner else ""
        raise ExportError(f"{folder} holds no <title>_mix.wav; it is not a delivery folder{hint}.")
    mix = _the_mix(folder, mixes)
    slug = mix.name[: -len("_mix.wav")]
    stems = sorted((folder / f"{slug}_stems").glob("*.wav"))
    rate = readback.bwf_rate(mix)
    if rate is None:
        raise ExportError(f"{mix.name} names no timecode rate in its iXML; the delivery cannot be checked.")
    files = {name: sorted(p for p in folder.glob(pattern.format(slug=slug)) if p.is_file())
             for name, pattern in _PATTERNS.items()}
    return Delivery(folder, slug, mix, stems, rate, files)


def _db(residual_energy: float, reference_energy: float) -> float:
    """A residual against a reference in dB, from their sums of squares over the same samples."""
    if reference_energy == 0.0:
        return -math.inf if residual_energy == 0.0 else math.inf
    return -math.inf if residual_energy == 0.0 else 10 * math.log10(residual_energy / reference_energy)


def _rms(energy: float, size: int) -> float:
    return math.sqrt(energy / size) if size else 0.0


def _fmt_db(value: float) -> str:
    return f"{value:.1f} dB" if math.isfinite(value) else ("-inf dB" if value < 0 else "+inf dB")


def dither_floor(files: list[Bwf]) -> float:
    """RMS a null test of ``files`` may leave from quantisation alone: 20 dB above one LSB of the coarsest."""
    return 10.0 * max(f.lsb for f in files)


@dataclass(frozen=True)
class Scan:
    """What one pass over the mix and stems measures: each file's largest |sample| (mix first), the sums of
    squares of the mix and of the mix minus the stems (None when they differ in shape or there are no stems),
    and the mix's integrated loudness."""

    peaks: tuple[float, ...]
    mix_energy: float
    residual_energy: float | None
    loudness: float


def _peak(block: np.ndarray) -> float:
    return float(np.max(np.abs(block))) if block.size else 0.0


def scan(mix: Bwf, stems: list[Bwf]) -> Scan:
    """Peaks, the null test's residual and the mix's loudness, reading the files together block by block."""
    from expotion_engine.engines.procedural.render.bus import LoudnessMeter

    null = bool(stems) and all(s.shape == mix.shape for s in stems)
    peaks = [0.0] * (len(stems) + 1)
    mix_energy, residual_energy = 0.0, 0.0
    meter = LoudnessMeter(mix.frames, mix.sample_rate)
    for blocks in zip(mix.blocks(), *(s.blocks() for s in stems if null), strict=True):
        block = blocks[0]
        stereo = block if block.shape[0] == 2 else np.repeat(block[:1], 2, axis=0)
        meter.add(stereo.astype(np.float32))
        mix_energy += float(np.sum(block**2))
        peaks[0] = max(peaks[0], _peak(block))
        if null:
            total = blocks[1].copy()
            for stem in blocks[2:]:
                total += stem
            residual_energy += float(np.sum((block - total) ** 2))
            for i, stem in enumerate(blocks[1:], 1):
                peaks[i] = max(peaks[i], _peak(stem))
    if not null:
        for i, stem in enumerate(stems, 1):
            peaks[i] = max((_peak(b) for b in stem.blocks()), default=0.0)
    return Scan(tuple(peaks), mix_energy, residual_energy if null else None, meter.result())


def check_null(mix: Bwf, stems: list[Bwf], measured: Scan) -> CheckResult:
    """The mix minus the sum of the stems: <= -60 dB below the mix, or no more than the files' dither."""
    if not stems:
        folder = mix.path.name.removesuffix("_mix.wav") + "_stems/"
        return CheckResult("stems null", False, f"no stems in {folder}: nothing to null against the mix")
    if any(s.shape != mix.shape for s in stems) or measured.residual_energy is None:
        odd = [s.path.name for s in stems if s.shape != mix.shape]
        return CheckResult("stems null", False, f"{', '.join(odd)} not the mix's shape {mix.shape}")
    relative = _db(measured.residual_energy, measured.mix_energy)
    rms = _rms(measured.residual_energy, mix.shape[0] * mix.shape[1])
    floor = dither_floor([mix, *stems])
    passed = relative <= NULL_DB or rms <= floor
    detail = f"mix - sum of {len(stems)} stems: {_fmt_db(relative)} (limit {NULL_DB:.0f} dB)"
    if floor > 0:
        detail += f", {_fmt_db(20 * math.log10(rms) if rms > 0 else -math.inf)}FS RMS (dither allows " \
                  f"{20 * math.log10(floor):.1f} dBFS)"
    return CheckResult("stems null", passed, detail)


def check_lengths(delivery: Delivery, mix: Bwf, stems: list[Bwf], placements: list[Placement]) -> CheckResult:
    """Every BWF as long as the mix; timelines, MIDI and the scored video as long as the music, and the video's
    audio starting with its picture and as long, within a frame."""
    faults = [f"{s.path.name} has {s.frames} samples at {s.sample_rate} Hz, the mix {mix.frames} at "
              f"{mix.sample_rate} Hz" for s in stems if s.frames != mix.frames or s.sample_rate != mix.sample_rate]
    seconds = mix.frames / mix.sample_rate
    frame = 1.0 / delivery.rate.fps
    for placement in placements:
        for clip in placement.audio:
            if abs(clip.duration - seconds) > frame:
                faults.append(f"{placement.file.name}: {Path(clip.url).name} lasts {clip.duration:.3f} s, "
                              f"the music {seconds:.3f} s")
    for path in delivery.files["midi"]:
        midi = mido.MidiFile(str(path), charset="utf-8")
        text = [m.text for m in midi.tracks[0] if m.type == "text" and m.text.startswith("Music starts at ")]
        preroll = 0.0
        if text:
            preroll = frame_seconds(readback.parse_frames(text[0].rsplit(" ", 1)[1], delivery.rate), delivery.rate)
        if abs(midi.length - preroll - seconds) > frame:
            faults.append(f"{path.name} lasts {midi.length - preroll:.3f} s, the music {seconds:.3f} s")
    for path in delivery.files["video"]:
        faults += _video_length_faults(path, seconds)
    detail = f"{len(stems) + 1} BWF files of {seconds:.3f} s" if not faults else "; ".join(faults)
    if not faults and delivery.files["video"]:
        videos = ", ".join(p.name for p in delivery.files["video"])
        detail += f"; {videos}: picture and audio as long, within a frame"
    return CheckResult("lengths", not faults, detail)


def audio_tracks(path: Path) -> list[tuple[float, float]]:
    """Each audio track's start (s, the container's time) and length as a player presents them: the stream's
    start and duration, its edit list applied, or where the container states none (Matroska) its packets' first
    start and last end, all such tracks read in one pass (a second pass would find the file already at its end)."""
    import av

    with av.logging.Capture(), av.open(str(path)) as container:
        streams = list(container.streams.audio)
        spans = {s.index: (s.start_time, s.duration) for s in streams if s.duration and s.start_time is not None}
        unstated = [s for s in streams if s.index not in spans]
        first = {s.index: s.start_time for s in unstated if s.start_time is not None}
        end: dict[int, int] = {}
        for packet in container.demux(unstated) if unstated else ():
            if packet.pts is not None:
                index = packet.stream.index
                first[index] = min(first.get(index, packet.pts), packet.pts)
                end[index] = max(end.get(index, packet.pts), packet.pts + (packet.duration or 0))
        for stream in unstated:
            if stream.index in end:
                spans[stream.index] = (first[stream.index], end[stream.index] - first[stream.index])
        return [(spans[s.index][0] * float(s.time_base or 0), spans[s.index][1] * float(s.time_base or 0))
                if s.index in spans else (0.0, 0.0) for s in streams]


def _video_length_faults(path: Path, seconds: float) -> list[str]:
    """Why the scored video at ``path`` is not as long as the music (``seconds``), or its audio tracks do not start
    with its picture and last as long, each within one of its frames."""
    import av

    from expotion_engine.media.probe import probe_video

    try:
        info = probe_video(path)
        tracks = audio_tracks(path)
    except (ExpotionError, av.error.FFmpegError, OSError) as exc:
        return [f"{path.name} cannot be read: {str(exc).removeprefix(str(path) + ': ')}"]
    frame = 1.0 / info.fps + 1e-6
    faults = []
    if abs(info.duration - seconds) > frame:
        faults.append(f"{path.name} lasts {info.duration:.3f} s, the music {seconds:.3f} s")
    if not tracks:
        faults.append(f"{path.name} has no audio track: the score is not in it")
    for number, (start, length) in enumerate(tracks, 1):
        track = "its audio track" if len(tracks) == 1 else f"its audio track {number}"
        late = start - info.video_start
        if abs(late) > frame:
            faults.append(f"{path.name}: {track} starts {abs(late):.3f} s {'after' if late > 0 else 'before'} its "
                          "picture")
        if abs(length - info.duration) > frame:
            which = "longer" if length > info.duration else "shorter"
            faults.append(f"{path.name}: {track} lasts {length:.3f} s and its picture {info.duration:.3f} s, "
                          f"{which} by more than a frame ({1.0 / info.fps:.3f} s)")
    return faults


def check_timecode(delivery: Delivery, mix: Bwf, stems: list[Bwf], placements: list[Placement]) -> CheckResult:
    """One BWF timestamp for every file, and every sequence starting on its frame."""
    faults = [f"{s.path.name} TimeReference {s.time_reference}, the mix {mix.time_reference}"
              for s in stems if s.time_reference != mix.time_reference]
    if mix.start_seconds is None:
        return CheckResult("timecode", False, f"{mix.path.name} has no bext TimeReference")
    frame = to_frame(mix.start_seconds, delivery.rate)
    for placement in placements:  # the editor's sequence keeps its own start (its score tracks start in it)
        if placement.start_frame is not None and placement.start_frame != frame and placement.format != "sequence":
            faults.append(f"{placement.file.name} starts at {format_frames(placement.start_frame, delivery.rate)}")
    faults += [f for path in delivery.files["video"] if (f := _video_timecode_fault(path, delivery.rate, frame))]
    label = format_frames(frame, delivery.rate)
    detail = f"every file at {label} ({delivery.rate.label} fps)" if not faults else \
        f"BWF at {label}; " + "; ".join(faults)
    return CheckResult("timecode", not faults, detail)


def _video_timecode_fault(path: Path, rate: TimecodeRate, frame: int) -> str | None:
    """Why the scored video's timecode tag is not the music's start ``frame`` (None: it is, or it has none, or
    the video's own rate is not the delivery's, so its labels count other frames, or it cannot be read: the lengths
    check names that)."""
    try:
        found = file_timecode(path, rate)
    except ExpotionError:
        return None
    if found is None or to_frame(found.seconds, rate) == frame:
        return None
    return f"{path.name} carries timecode {found.label}"


def check_markers(delivery: Delivery, placements: list[Placement], duration: float) -> CheckResult:
    """Each marker (by name, case-insensitive) on one timecode frame in every format that has markers, and one
    tempo map in the MIDI file and the DAW projects over the music's ``duration``."""
    carriers = [p for p in placements if p.markers]
    by_format = {p.file.name: Counter((name.strip().lower(), frame) for name, frame in p.markers) for p in carriers}
    names = sorted({name for markers in by_format.values() for name, _ in markers})
    faults = []
    for name in names:
        frames = {file: sorted(f for n, f in markers.elements() if n == name) for file, markers in by_format.items()}
        values = Counter(tuple(v) for v in frames.values())
        if len(values) > 1:
            usual = values.most_common(1)[0][0]
            for file, value in frames.items():
                if tuple(value) != usual:
                    where = ", ".join(format_frames(f, delivery.rate) for f in value) or "missing"
                    expected = ", ".join(format_frames(f, delivery.rate) for f in usual) or "missing"
                    faults.append(f"{name!r} at {where} in {file} (elsewhere {expected})")
    both = read_maps(delivery, {"midi": lambda path: midi_maps(path, delivery.rate), "reaper": reaper_maps,
                                "dawproject": dawproject_maps})
    maps = {name: tempos for name, (tempos, _) in both.items()}
    meters = {name: signatures for name, (_, signatures) in both.items()}
    faults += [f"the tempo maps differ {where}" for where in tempo_faults(maps, duration)]
    faults += [f"the time signatures differ {where}" for where in meter_faults(meters, duration)]
    if faults:
        return CheckResult("markers", False, "; ".join(faults))
    detail = f"{len(names)} markers agree in {len(carriers)} files" if carriers else "no markers in the delivery"
    if len(maps) > 1:
        changes = count_changes(next(iter(maps.values())))
        tempo = "a steady tempo" if not changes else f"{changes} tempo change{'' if changes == 1 else 's'}"
        detail += f"; one tempo map ({tempo}) and its time signatures in {', '.join(maps)}"
    return CheckResult("markers", True, detail)


def read_maps(delivery: Delivery, readers: dict[str, Callable[[Path], Any]]) -> dict[str, Any]:
    """What ``readers`` (a delivery format -> a reader of its files) read from each file of the delivery, by file
    name (an unreadable file left out: reading its placements names it)."""
    maps = {}
    for name, read in readers.items():
        for path in delivery.files[name]:
            try:
                maps[path.name] = read(path)
            except (OSError, EOFError, ValueError, KeyError, SyntaxError, zipfile.BadZipFile, ExpotionError):
                continue
    return maps


def check_paths(delivery: Delivery, placements: list[Placement]) -> CheckResult:
    """Every referenced file exists; files inside the folder are referenced by relative paths."""
    faults = []
    root = delivery.root.resolve()
    count = 0
    for placement in placements:
        for url, target in placement.references:
            count += 1
            if target is None or not target.exists():
                faults.append(f"{placement.file.name} refers to missing {url}")
            elif (root in target.resolve().parents) and (url.startswith("file:") or Path(url).is_absolute()) \
                    and placement.format != "sequence":  # an editor's sequence names its audio as editors do
                faults.append(f"{placement.file.name} refers to {target.name} by an absolute path")
    guide = delivery.root / f"{delivery.slug}_README.txt"
    manifest = read_manifest(delivery.root)
    if guide.is_file():
        faults += readme_faults(delivery, guide, manifest)
    detail = f"{count} references found" if not faults else "; ".join(faults)
    if guide.is_file() and not faults:
        detail += f", {guide.name} lists every file"
    if manifest is None:
        detail += "; " + no_manifest_note(delivery, guide)
    return CheckResult("paths", not faults, detail)


def no_manifest_note(delivery: Delivery, guide: Path) -> str:
    """What a delivery without a readable manifest leaves unchecked, and how to get one: export it again."""
    found = delivery.root / MANIFEST
    why = f"{MANIFEST} cannot be read" if found.exists() else \
        f"no manifest ({MANIFEST}; a delivery written before Expotion kept one)"
    if guide.is_file():
        unchecked = f"{guide.name} was checked against the mix and stems only"
        missing = "one"
    else:
        why += f" and no {guide.name}"
        unchecked = "which files the delivery should hold is unknown and only the references were checked"
        missing = "both"
    return (f"{why}, so {unchecked}; export the take again into this folder "
            f"(expotion export SESSION.expotion -o {delivery.root} --force) to write {missing}")


def readme_faults(delivery: Delivery, guide: Path, manifest: Manifest | None) -> list[str]:
    """The delivery's guide lists only files that exist, and every file its ``manifest`` says the delivery wrote
    (the mix and stems when there is no manifest)."""
    listed = set(listed_files(guide))
    if manifest is not None:
        names = {f for f in manifest.paths() if (delivery.root / f).is_file()} - {guide.name}
    else:
        names = {p.relative_to(delivery.root).as_posix() for p in [delivery.mix, *delivery.stems]}
    return [f"{guide.name} lists missing {f}" for f in sorted(listed) if not (delivery.root / f).is_file()] + \
        [f"{f} is not in {guide.name}" for f in sorted(names - listed)]


@dataclass(frozen=True)
class _Span:
    """Media frames ``a`` .. ``b`` of one clip, played on ``channels`` from mix frame ``zero + a``."""

    media: Bwf
    channels: tuple[int, ...]
    zero: int
    a: int
    b: int


def _spans(placement: Placement, mix: Bwf, origin: float, load: Callable[[Path], Bwf | None]) -> list[_Span]:
    """Where each of ``placement``'s enabled clips lands on the mix's samples (clips that land nowhere left out)."""
    rate = mix.sample_rate
    spans = []
    for clip in placement.audio:
        if not clip.enabled or clip.path is None:
            continue
        media = load(clip.path)
        if media is None:
            continue
        into = 0.0 if clip.source is None or media.start_seconds is None else clip.source - media.start_seconds
        zero = round((origin + clip.position - into - (mix.start_seconds or 0.0)) * rate)
        a = round(into * rate)
        b = a + round(clip.duration * rate)
        a, b = max(a, 0, -zero), min(b, media.frames, mix.frames - zero)
        if b > a:
            channels = tuple(range(media.shape[0])) if clip.channel is None else (clip.channel,)
            spans.append(_Span(media, channels, zero, a, b))
    return spans


def _compare(spans: list[_Span], mix: Bwf) -> tuple[float, float, float, float]:
    """What ``spans`` play (summed, the mix where none plays) against the mix, block by block: the sums of
    squares of the difference and of the mix, the peak of what plays and of the mix."""
    residual_energy = mix_energy = played_peak = mix_peak = 0.0
    with ExitStack() as stack:
        handles = {media: stack.enter_context(media.open()) for media in {s.media for s in spans}}
        start = 0
        for block in mix.blocks():
            stop = start + block.shape[1]
            total = np.zeros_like(block)
            covered = np.zeros(block.shape[1], bool)
            for span in spans:
                lo, hi = max(span.zero + span.a, start), min(span.zero + span.b, stop)
                if hi <= lo:
                    continue
                data = span.media.read(lo - span.zero, hi - span.zero, handles[span.media])
                for c in span.channels:
                    total[min(c, total.shape[0] - 1), lo - start:hi - start] += data[c]
                covered[lo - start:hi - start] = True
            played = np.where(covered[None, :], total, block)
            residual_energy += float(np.sum((played - block) ** 2))
            mix_energy += float(np.sum(block**2))
            played_peak, mix_peak = max(played_peak, _peak(played)), max(mix_peak, _peak(block))
            start = stop
    return residual_energy, mix_energy, played_peak, mix_peak


def _media(placement: Placement, load: Callable[[Path], Bwf | None]) -> list[Bwf]:
    """The decoded media of ``placement``'s enabled clips."""
    return [b for c in placement.audio if c.enabled and c.path is not None and (b := load(c.path)) is not None]


def check_timeline_audio(delivery: Delivery, mix: Bwf, placements: list[Placement],
                         load: Callable[[Path], Bwf | None]) -> CheckResult:
    """Each timeline's and project's enabled audio, decoded and placed, is the mix once."""
    faults, figures = [], []
    groups: dict[str, list[Placement]] = {}
    for placement in placements:
        if placement.audio:
            groups.setdefault("EDL" if placement.format == "edl" else placement.file.name, []).append(placement)
    for name, group in groups.items():
        merged = Placement(group[0].format, group[0].file, audio=[c for p in group for c in p.audio])
        origins = {p.start_frame for p in group if p.start_frame is not None}
        origin = frame_seconds(origins.pop(), delivery.rate) if len(origins) == 1 else (mix.start_seconds or 0.0)
        if merged.format in ("reaper", "dawproject"):
            origin = mix.start_seconds or 0.0
        spans = _spans(merged, mix, origin, load)
        if not spans:
            faults.append(f"{name} plays no audio")
            continue
        residual_energy, mix_energy, played_peak, mix_peak = _compare(spans, mix)
        residual = _db(residual_energy, mix_energy)
        within_dither = _rms(residual_energy, mix.shape[0] * mix.shape[1]) <= dither_floor(
            list(_media(merged, load)) + [mix])
        peak = 20 * math.log10(max(played_peak, 1e-12) / max(mix_peak, 1e-12))
        figures.append(f"{name} {_fmt_db(residual)}")
        if residual > NULL_DB and not within_dither:
            playing = Counter(Path(c.url).name for c in merged.audio if c.enabled)
            what = ", ".join(f"{n} x{k}" if k > 1 else n for n, k in playing.items())
            faults.append(f"{name} plays {what}: peak {peak:+.1f} dB against the mix, residual {_fmt_db(residual)}")
    for path in delivery.files["video"]:
        heard = video_score_residual(path, mix)
        if heard is None:
            continue
        codec, residual, rms = heard
        limit = NULL_DB if codec.startswith("pcm_") else LOSSY_NULL_DB
        figures.append(f"{path.name} {_fmt_db(residual)} ({codec})")
        if residual > limit and not (codec.startswith("pcm_") and rms <= dither_floor([mix])):
            faults.append(f"{path.name}'s {SCORE_TRACK} track is not the mix in sync: residual {_fmt_db(residual)} "
                          f"(limit {limit:.0f} dB for {codec})")
    if not figures and not faults:
        return CheckResult("timeline audio", True, "no timelines or projects")
    detail = "each plays the mix once (residual): " + ", ".join(figures) if not faults else "; ".join(faults)
    return CheckResult("timeline audio", not faults, detail)


def video_score_residual(path: Path, mix: Bwf) -> tuple[str, float, float] | None:
    """The scored video's score (its audio track titled "Score", else its only one) decoded as a player does and
    compared with the mix sample for sample over their common length: the codec, the residual in dB below the
    mix and its RMS (None: no such track, a file that cannot be decoded, or a mix of more than two channels)."""
    import av

    try:
        return _score_residual(path, mix)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.info("%s: its score track cannot be decoded (%s)", path, exc)
        return None


def _score_residual(path: Path, mix: Bwf) -> tuple[str, float, float] | None:
    import av

    layout = {1: "mono", 2: "stereo"}.get(mix.shape[0])
    with av.logging.Capture(), av.open(str(path)) as container:
        streams = list(container.streams.audio)
        titled = [s for s in streams if SCORE_TRACK in (s.metadata.get(k) for k in ("title", "name", "handler_name"))]
        stream = titled[0] if titled else streams[0] if len(streams) == 1 else None
        if stream is None or layout is None:
            return None
        resampler = av.AudioResampler(format="dblp", layout=layout, rate=mix.sample_rate)
        residual_energy = mix_energy = 0.0
        at = 0
        with mix.open() as handle:
            for frame in chain(container.decode(stream), [None]):  # None: what the resampler holds back
                for block in resampler.resample(frame):
                    heard = block.to_ndarray()
                    if at < mix.frames:  # past the mix's end the lengths check speaks
                        wanted = mix.read(at, at + heard.shape[1], handle)
                        residual_energy += float(np.sum((heard[:, :wanted.shape[1]] - wanted) ** 2))
                        mix_energy += float(np.sum(wanted**2))
                    at += heard.shape[1]
        compared = mix.shape[0] * min(at, mix.frames)
        return stream.codec_context.name, _db(residual_energy, mix_energy), _rms(residual_energy, compared)


def check_levels(mix: Bwf, stems: list[Bwf], measured: Scan) -> CheckResult:
    """No file at full scale, and the mix's integrated loudness above silence."""
    faults = [f"{b.path.name} reaches full scale" for b, peak in zip([mix, *stems], measured.peaks, strict=True)
              if b.frames and peak >= FULL_SCALE]
    peak = measured.peaks[0]
    peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
    loudness = measured.loudness
    if not (math.isfinite(loudness) and loudness > SILENT_LUFS):
        faults.append(f"the mix is silent ({loudness:.1f} LUFS)")
    detail = f"mix peak {peak_db:.1f} dBFS, {loudness:.1f} LUFS integrated"
    return CheckResult("peak/loudness", not faults, detail if not faults else "; ".join([*faults, detail]))


def editor_sequence(read: Placement, delivery: Delivery) -> Placement:
    """The editor's sequence as the checks see it: every file it refers to, and of its audio only the score's
    clips (the delivery's own files, not the editor's sound); its start and markers are the editor's, not the
    music's."""
    root = delivery.root.resolve()
    audio = [c for c in read.audio if c.path is not None and root in c.path.resolve().parents]
    return Placement("sequence", read.file, read.start_frame, audio=audio, references=read.references)


def read_placements(delivery: Delivery, start_seconds: float, start_slack: float = 0.0
                    ) -> tuple[list[Placement], list[CheckResult]]:
    """Every timeline, project, MIDI file and marker list of the delivery, and a failed check per unreadable one
    (``start_seconds``, known to within ``start_slack``, places the DAWproject's time 0)."""
    readers = {
        "edl": readback.read_edl, "fcp7": readback.read_fcp7, "fcpxml": readback.read_fcpxml,
        "otio": readback.read_otio_json, "reaper": readback.read_reaper, "midi": readback.read_midi,
        "markers": readback.read_marker_csv,
    }
    placements, failures = [], []
    for name, paths in delivery.files.items():
        for path in paths:
            try:
                if name == "sequence" and path.suffix in _SEQUENCE_READERS:
                    placements.append(editor_sequence(_SEQUENCE_READERS[path.suffix](path, delivery.rate), delivery))
                elif name == "dawproject":
                    placements.append(readback.read_dawproject(path, delivery.rate, start_seconds, start_slack))
                elif name in readers:
                    placements.append(readers[name](path, delivery.rate))
            except (ExpotionError, OSError, ValueError, KeyError) as exc:
                failures.append(CheckResult(f"read {path.name}", False, str(exc)))
    return placements, failures


def check_delivery(root: str | Path) -> list[CheckResult]:
    """Run every QC check on the delivery folder ``root``."""
    delivery = find_delivery(root)
    mix = readback.read_bwf(delivery.mix)
    stems = [readback.read_bwf(p) for p in delivery.stems]
    cache: dict[Path, Bwf | None] = {delivery.mix.resolve(): mix, **{s.path.resolve(): s for s in stems}}

    def load(path: Path) -> Bwf | None:
        key = path.resolve()
        if key not in cache:
            cache[key] = readback.read_bwf(path) if path.exists() else None
        return cache[key]

    # the BWF's start is a whole sample, within half a sample of the music's
    placements, failures = read_placements(delivery, mix.start_seconds or 0.0, 0.5 / mix.sample_rate)
    measured = scan(mix, stems)
    return [
        *failures,
        check_null(mix, stems, measured),
        check_lengths(delivery, mix, stems, placements),
        check_timecode(delivery, mix, stems, placements),
        check_markers(delivery, placements, mix.frames / mix.sample_rate),
        check_paths(delivery, placements),
        check_timeline_audio(delivery, mix, placements, load),
        check_levels(mix, stems, measured),
    ]


def table(results: list[CheckResult]) -> str:
    """The results as a plain-text pass/fail table."""
    width = max(len(r.name) for r in results)
    lines = [f"{'check'.ljust(width)}  result  detail", f"{'-' * width}  ------  ------"]
    lines += [f"{r.name.ljust(width)}  {'pass' if r.passed else 'FAIL':6}  {r.detail}" for r in results]
    return "\n".join(lines)
