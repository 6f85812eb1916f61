"""The tempo maps a delivery carries, read back and compared: the MIDI file's, the REAPER project's, the DAWproject's.

A DAW or notation program lays its bars and beats on the tempo map of the file it opens, so the
three must agree: each is read as hold points ``(seconds from the music's start, BPM)`` (MIDI
``set_tempo`` events after its pre-roll, REAPER's ``TEMPOENVEX`` points, DAWproject's tempo
automation) and the maps are compared just after every change any of them makes.
"""

from __future__ import annotations

import bisect
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from pathlib import Path

import mido

from studio.timecode import TimecodeRate, frame_seconds, parse_frames

#: two maps agree on a change this close in time (MIDI's ticks and microseconds per beat round finer than this)
SAME_TIME_S = 0.005
#: and on a tempo this close
SAME_BPM = 0.01

TempoPoints = list[tuple[float, float]]


def midi_tempos(path: Path, rate: TimecodeRate) -> TempoPoints:
    """The MIDI file's tempo changes in seconds from the music's start (after a ``Music starts at`` pre-roll)."""
    midi = mido.MidiFile(str(path), charset="utf-8")
    seconds, tempo = 0.0, 500000  # MIDI's tempo until a set_tempo says otherwise
    points: TempoPoints = []
    preroll = 0.0
    for message in midi.tracks[0]:
        seconds += mido.tick2second(message.time, midi.ticks_per_beat, tempo)
        if message.type == "set_tempo":
            tempo = message.tempo
            points.append((seconds, mido.tempo2bpm(tempo)))
        elif message.type == "text" and message.text.startswith("Music starts at "):
            preroll = frame_seconds(parse_frames(message.text.rsplit(" ", 1)[1], rate), rate)
    inside = [(t - preroll, bpm) for t, bpm in points if t >= preroll - SAME_TIME_S]
    before = [bpm for t, bpm in points if t < preroll - SAME_TIME_S]
    return inside if inside and inside[0][0] <= SAME_TIME_S else [(0.0, before[-1] if before else 120.0), *inside]


def reaper_tempos(path: Path) -> TempoPoints:
    """The REAPER project's tempo envelope points (project time 0 is the music's start), else its one ``TEMPO``."""
    points: TempoPoints = []
    first: float | None = None
    inside = False
    for raw in path.read_text(errors="replace").splitlines():
        tokens = raw.split()
        if not tokens:
            continue
        if tokens[0] == "TEMPO" and len(tokens) > 1 and first is None:
            first = float(tokens[1])
        elif tokens[0] == "<TEMPOENVEX":
            inside = True
        elif inside and tokens[0] == ">":
            inside = False
        elif inside and tokens[0] == "PT" and len(tokens) > 2:
            points.append((float(tokens[1]), float(tokens[2])))
    return points or ([(0.0, first)] if first is not None else [])


def dawproject_tempos(path: Path) -> TempoPoints:
    """The DAWproject's tempo automation points in seconds (time 0 is the music's start), else its transport's."""
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.xml"))
    automation = root.find(".//TempoAutomation")
    if automation is not None and automation.get("timeUnit", "seconds") == "seconds":
        points = [(float(p.get("time", "0")), float(p.get("value", "0"))) for p in automation.iter("RealPoint")]
        if points:
            return points
    tempo = root.find("./Transport/Tempo")
    return [(0.0, float(tempo.get("value", "0")))] if tempo is not None else []


def bpm_at(points: Sequence[tuple[float, float]], seconds: float) -> float:
    """The tempo the hold points ``points`` give at ``seconds`` (the first before the first point)."""
    times = [t for t, _ in points]
    return points[max(bisect.bisect_right(times, seconds) - 1, 0)][1]


def tempo_faults(maps: dict[str, TempoPoints], duration: float) -> list[str]:
    """Where the maps (file name -> points) disagree within the music's ``duration``, one phrase per place
    (changes the files place within :data:`SAME_TIME_S` of each other are one place)."""
    maps = {name: sorted(points) for name, points in maps.items() if points}
    if len(maps) < 2:
        return []
    times = sorted({round(t, 6) for points in maps.values() for t, _ in points if 0.0 <= t < duration} | {0.0})
    faults = []
    for change in [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] >= SAME_TIME_S]:
        at = min(change + SAME_TIME_S, duration)  # just after the change, past any rounding of its time
        tempos = {name: bpm_at(points, at) for name, points in maps.items()}
        if max(tempos.values()) - min(tempos.values()) > SAME_BPM:
            faults.append(f"at {change:.3f} s " + ", ".join(f"{name} {bpm:.2f} BPM" for name, bpm in tempos.items()))
    return faults


def count_changes(points: TempoPoints) -> int:
    """How many times ``points`` change the tempo (points that repeat the tempo, as a meter change's, aside)."""
    return sum(1 for (_, a), (_, b) in zip(points, points[1:], strict=False) if abs(a - b) > SAME_BPM)


__all__ = ["bpm_at", "count_changes", "dawproject_tempos", "midi_tempos", "reaper_tempos", "tempo_faults"]
