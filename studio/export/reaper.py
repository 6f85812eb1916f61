"""A REAPER project (``.rpp``) that opens with the picture, the stems, the tempo map and the markers.

Placement: music time 0 is project position 0, and the project's start-time offset
(``PROJOFFS``) is ``job.start_seconds``, so the ruler reads the video's timecode
(01:00:02:00 at the first beat for a video starting at 01:00:00:00 scored from 2 s in)
while bars, beats and the tempo envelope count from the music's start. Tracks: ``Video``
(the source video from ``video_in`` on, as a ``<SOURCE VIDEO`` item), one per stem, and
the mix (muted, for reference), each item a ``<SOURCE WAVE`` of the delivered BWF, named
relative to the project file. The tempo map is the master tempo envelope (``TEMPOENVEX``,
square ``PT`` points with the time signature where the meter changes); sections become
regions, every other marker a marker, coloured like the Take's markers.

RPP is a plain text format of ``<BLOCK ...>`` lines; it is written here (the ``rpp``
package, which the tests read it back with, is not a runtime dependency).
"""

from __future__ import annotations

import time
from pathlib import Path

from studio.export.cues import Cue, cues
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.timeline import audio_files

APP_VERSION = "7.0/expotion"
_QUOTES = ('"', "'", "`")


def quote(text: str) -> str:
    """One RPP token: bare when it has no blanks or leading quote, else wrapped in a quote it lacks."""
    text = " ".join(str(text).splitlines())
    if not text:
        return '""'
    if not any(ch in text for ch in " \t") and text[0] not in _QUOTES:
        return text
    for mark in _QUOTES:
        if mark not in text:
            return f"{mark}{text}{mark}"
    return "`" + text.replace("`", "'") + "`"


def number(value: float) -> str:
    """A float as REAPER writes one: fixed point, trailing zeros trimmed."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def native_color(rgb: tuple[int, int, int]) -> int:
    """REAPER's custom-colour value (Windows byte order ``0x01BBGGRR``, the flag bit set)."""
    r, g, b = rgb
    return 0x1000000 | r | (g << 8) | (b << 16)


def timesig_code(numerator: int, denominator: int) -> int:
    """A tempo point's time signature field: ``65536 * denominator + numerator``."""
    return 65536 * denominator + numerator


class _Writer:
    """Collects indented RPP lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, *tokens: str) -> None:
        self.lines.append("  " * self.depth + " ".join(tokens))

    def open(self, *tokens: str) -> None:
        self.line("<" + " ".join(tokens))
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.line(">")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _tempo_envelope(out: _Writer, job: ExportJob) -> None:
    tempo_map = job.take.tempo_map
    meter_times = {m.time: m for m in tempo_map.meters}
    out.open("TEMPOENVEX")
    out.line("ACT", "1", "-1")
    out.line("VIS", "1", "0", "1")
    out.line("LANEHEIGHT", "0", "0")
    out.line("ARM", "0")
    out.line("DEFSHAPE", "1", "-1", "-1")
    for t in sorted({c.time for c in tempo_map.tempos} | set(meter_times)):
        tokens = ["PT", number(t), number(tempo_map.bpm_at(t)), "1"]
        if t in meter_times:
            tokens.append(str(timesig_code(meter_times[t].numerator, meter_times[t].denominator)))
        out.line(*tokens)
    out.close()


def _markers(out: _Writer, items: list[Cue]) -> None:
    marker_index = region_index = 0
    for cue in items:
        color = str(native_color(cue.rgb))
        if cue.is_range:
            region_index += 1
            out.line("MARKER", str(region_index), number(cue.start), quote(cue.label), "1", color, "1")
            out.line("MARKER", str(region_index), number(cue.end), '""', "1")
        else:
            marker_index += 1
            out.line("MARKER", str(marker_index), number(cue.start), quote(cue.label), "0", color, "1")


def _track(out: _Writer, name: str, source: str, path: str, length: float, *, offset: float = 0.0,
           muted: bool = False) -> None:
    out.open("TRACK")
    out.line("NAME", quote(name))
    out.line("MUTESOLO", "1" if muted else "0", "0", "0")
    out.open("ITEM")
    out.line("POSITION", "0")
    out.line("LENGTH", number(length))
    out.line("LOOP", "0")
    out.line("SOFFS", number(offset))
    out.line("NAME", quote(Path(path).name))
    out.open("SOURCE", source)
    out.line("FILE", quote(path))
    out.close()
    out.close()
    out.close()


def write_reaper(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.rpp`` beside the delivered audio (which it names relative to itself)."""
    tempo_map = job.take.tempo_map
    first_meter = tempo_map.meters[0]
    duration = job.take.duration
    out = _Writer()
    out.open("REAPER_PROJECT", "0.1", quote(APP_VERSION), str(int(time.time())))
    out.line("RIPPLE", "0")
    out.line("PROJOFFS", number(job.start_seconds), "0", "0")
    out.line("SAMPLERATE", str(job.settings.sample_rate), "0", "0")
    out.line("TEMPO", number(tempo_map.tempos[0].bpm), str(first_meter.numerator), str(first_meter.denominator))
    out.line("PLAYRATE", "1", "0", "0.25", "4")
    _tempo_envelope(out, job)
    _markers(out, cues(job))
    if job.video is not None:
        video = Path(job.video).resolve()
        _track(out, "Video", "VIDEO", str(video), duration, offset=job.video_in)
    for name, relative in audio_files(job):
        _track(out, name, "WAVE", relative, duration, muted=name == "Mix")
    out.close()
    return [folder.write_text(job.file(".rpp"), out.text())]
