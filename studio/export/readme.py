"""``<title>_README.txt``: a plain-text guide to a delivery folder for whoever receives it.

It says what the music is (take, engine, preset, seed, length, tempo, meter, key), where it sits
(frame rate, timecode), what each file in the folder is for (one line each, only the files the
delivery holds), and how to make it again. Deterministic: the same delivery gives the same text.
``expotion check`` reads the file list back (:func:`listed_files`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from studio.export.job import ExportJob
from studio.timecode import format_timecode

#: the heading of the file list (``listed_files`` reads the lines under it)
FILES_HEADING = "Files in this folder"
_LISTED = re.compile(r"^  (\S+)  ")
#: one line of the file list as written: the relative path, then what the file is for
_ENTRY = re.compile(r"^  (\S+) *(.*)$")


def readme_file(job: ExportJob) -> str:
    """Relative path of the guide in the delivery folder."""
    return job.file("_README.txt")


def _stem_of(job: ExportJob, relative: str) -> str | None:
    """The stem's name when ``relative`` is one of the job's stem files."""
    return next((s.name for s in job.take.stems if job.stem_file(s.name) == relative), None)


def describe(job: ExportJob, relative: str) -> str:
    """One line on what the delivery file ``relative`` is for."""
    s, slug = job.settings, job.slug
    depth = "32-bit float" if s.bit_depth == 32 else f"{s.bit_depth}-bit"
    name = PurePosixPath(relative).name
    stem = _stem_of(job, relative)
    if relative == job.mix_file:
        return f"the mix, Broadcast WAV {s.sample_rate} Hz {depth}, timestamped at the music's timecode"
    if stem is not None or relative.startswith(f"{slug}_stems/"):
        return f"the {stem or name} stem (same length and timestamp; the stems sum to the mix)"
    fixed = {
        f"{slug}.mid": "MIDI file: tempo map, meter, key, markers and one track per part (for a DAW or notation)",
        f"{slug}_markers.csv": "markers with record timecode (Premiere, Resolve, spreadsheets)",
        f"{slug}_markers.txt": "markers as an Audacity label track (seconds from the music's start)",
        f"{slug}.edl": "CMX3600 EDL: the picture at the music's timecode, markers as locators (Avid, Premiere, "
                       "Resolve)",
        f"{slug}_audio.edl": "CMX3600 EDL of the mix (the audio event for the EDL above)",
        f"{slug}_fcp7.xml": "Final Cut Pro 7 XML sequence: picture, mix, stems (off), markers (Premiere, Resolve)",
        f"{slug}.fcpxml": "FCPXML sequence: picture, mix, stems (off), markers (Final Cut Pro, Resolve)",
        f"{slug}.otio": "OpenTimelineIO timeline (Resolve, Hiero, RV, otioview)",
        f"{slug}.rpp": "REAPER project: video, stems, the mix (muted), tempo map, regions and markers",
        f"{slug}.dawproject": "DAWproject (Bitwig Studio, Studio One, Cubase): stems, the mix (muted), tempo, "
                              "markers",
    }
    if relative in fixed:
        return fixed[relative]
    if name.startswith(f"{slug}_audio_") and name.endswith(".edl"):
        return f"CMX3600 EDL of the {name[len(slug) + 7:-4]} stem"
    if name.startswith(f"{slug}_scored."):
        return "the video with the score (same frames as the source's range)"
    return "written by the export"


def _tempo(job: ExportJob) -> str:
    tempos = job.take.tempo_map.tempos
    bpms = [t.bpm for t in tempos if t.time < job.take.duration]
    if len(set(bpms)) <= 1:
        return f"{tempos[0].bpm:.1f} BPM, constant"
    times = "once" if len(bpms) == 2 else f"{len(bpms) - 1} times"
    return (f"{bpms[0]:.1f} BPM at the start, changing {times} ({min(bpms):.1f} to {max(bpms):.1f} BPM); "
            "the MIDI file and the REAPER and DAWproject projects carry the tempo map")


def _meter(job: ExportJob) -> str:
    meters = [m for m in job.take.tempo_map.meters if m.time < job.take.duration]
    if not meters:
        return "4/4"
    text = f"{meters[0].numerator}/{meters[0].denominator}"
    if len(meters) == 1:
        return f"{text} throughout"
    return text + "".join(f", {m.numerator}/{m.denominator} from {m.time:.3f} s" for m in meters[1:])


def _key(job: ExportJob) -> str:
    key, mode = (str(job.take.info.get(k, "") or "") for k in ("key", "mode"))
    return f"{key} {mode}".strip() or "not given by the engine"


def _preset(job: ExportJob) -> str | None:
    preset = job.take.request.get("preset") if hasattr(job.take.request, "get") else None
    name = preset.get("name") if isinstance(preset, dict) else preset
    return str(name) if name else None


def _rescore(job: ExportJob) -> str:
    """The ``expotion score`` command that makes this take again."""
    video = job.video.name if job.video is not None else "VIDEO"
    words = ["expotion", "score", video, "-o", "OUT", "--engine", job.take.engine, "--seed", str(job.take.seed)]
    if (preset := _preset(job)) is not None:
        words += ["--preset", preset]
    if job.video_in > 0:
        words += ["--start", f"{job.video_in:g}", "--end", f"{job.video_in + job.take.duration:g}"]
    if job.timecode_start > 0:
        words += ["--timecode-start", format_timecode(job.timecode_start, job.tc)]
    if job.timecode_rate:
        words += ["--timecode-rate", job.timecode_rate]
    return shlex.join(words)


def readme_text(job: ExportJob, files: Sequence[str]) -> str:
    """The guide for a delivery of ``job`` holding ``files`` (relative paths, in delivery order)."""
    tc, duration = job.tc, job.take.duration
    preset = _preset(job)
    made = f"{job.take.engine} engine" + (f", preset {preset}" if preset else "") + f", seed {job.take.seed}"
    video = (f"{job.video.name}, from {job.video_in:.3f} s (frame rate {job.fps:.3f} fps)" if job.video is not None
             else f"none in this delivery (frame rate {job.fps:.3f} fps)")
    lines = [
        f"{job.title}: music delivery from Expotion Studio",
        "",
        f"Take:        {job.take_label} ({made})",
        f"Length:      {duration:.3f} s",
        f"Tempo:       {_tempo(job)}",
        f"Meter:       {_meter(job)}",
        f"Key:         {_key(job)}",
        f"Video:       {video}",
        f"Timecode:    {tc.label} fps; the music starts at {format_timecode(job.start_seconds, tc)} and ends at "
        f"{format_timecode(job.start_seconds + duration, tc)}",
        f"             {job.timecode.note}",
        f"Audio:       {job.settings.sample_rate} Hz, "
        + ("32-bit float" if job.settings.bit_depth == 32 else f"{job.settings.bit_depth}-bit"),
        "",
        f"{FILES_HEADING} (keep them together: the timelines and projects find the audio by relative paths):",
    ]
    lines += file_list_lines({relative: describe(job, relative) for relative in files})
    lines += [
        "",
        "Check the delivery:  expotion check <this folder>",
        "Write it again from its session (the .expotion file beside this folder when expotion score made it):",
        "  expotion export SESSION.expotion -o <this folder> --force",
        "Score the video again (the same seed and preset give the same music; change --seed for another take):",
        f"  {_rescore(job)}",
        "",
    ]
    return "\n".join(lines)


def file_list_lines(entries: Mapping[str, str]) -> list[str]:
    """The file list's lines for ``entries`` (relative path -> what it is for), the columns aligned."""
    width = max(map(len, entries), default=0)
    return [f"  {relative.ljust(width)}  {what}" for relative, what in entries.items()]


def _file_list_span(lines: Sequence[str]) -> tuple[int, int] | None:
    """Where the file list's lines are in a guide's ``lines`` (from after its heading to the first blank line)."""
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith(FILES_HEADING)), None)
    if start is None:
        return None
    return start, next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))


def listed_files(path: Path) -> list[str]:
    """The relative paths a guide lists under its file heading (empty when it cannot be read)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    span = _file_list_span(lines)
    if span is None:
        return []
    return [match.group(1) for line in lines[span[0]:span[1]] if (match := _LISTED.match(line + "  "))]


def listed_with(text: str, files: Mapping[str, str]) -> str:
    """The guide ``text`` with ``files`` (relative path -> what it is for) in its file list, each listed once,
    the columns aligned again (``text`` as it is when it has no file list)."""
    lines = text.split("\n")
    span = _file_list_span(lines)
    if span is None:
        return text
    entries = {m.group(1): m.group(2) for line in lines[span[0]:span[1]] if (m := _ENTRY.match(line))}
    lines[span[0]:span[1]] = file_list_lines({**entries, **files})
    return "\n".join(lines)


__all__ = ["FILES_HEADING", "describe", "file_list_lines", "listed_files", "listed_with", "readme_file", "readme_text"]
