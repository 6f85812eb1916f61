"""The tempo maps a delivery carries, read back and compared: the MIDI file's, the REAPER project's, the DAWproject's.

A DAW or notation program lays its bars and beats on the tempo map and time signatures of the
file it opens, so the three must agree: each is read as hold points ``(seconds from the music's
start, BPM)`` (MIDI ``set_tempo`` events after its pre-roll, REAPER's ``TEMPOENVEX`` points,
DAWproject's tempo automation) and as meter points ``(seconds, (numerator, denominator))``
(MIDI ``time_signature`` events, the signature field of REAPER's points, DAWproject's
time-signature automation), and the maps are compared just after every change any of them makes.
"""

from __future__ import annotations

import bisect
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mido

from studio.timecode import TimecodeRate, frame_seconds, parse_frames

#: two maps agree on a change this close in time (MIDI's ticks and microseconds per beat round finer than this)
SAME_TIME_S = 0.005
#: and on a tempo this close
SAME_BPM = 0.01

TempoPoints = list[tuple[float, float]]
MeterPoints = list[tuple[float, tuple[int, int]]]


def midi_maps(path: Path, rate: TimecodeRate) -> tuple[TempoPoints, MeterPoints]:
    """The MIDI file's tempo and meter changes in seconds from the music's start (after a ``Music starts at``
    pre-roll; the state at the music's start stands at 0 s)."""
    midi = mido.MidiFile(str(path), charset="utf-8")
    seconds, tempo = 0.0, 500000  # MIDI's tempo until a set_tempo says otherwise
    tempos: TempoPoints = []
    meters: MeterPoints = []
    preroll = 0.0
    for message in midi.tracks[0]:
        seconds += mido.tick2second(message.time, midi.ticks_per_beat, tempo)
        if message.type == "set_tempo":
            tempo = message.tempo
            tempos.append((seconds, mido.tempo2bpm(tempo)))
        elif message.type == "time_signature":
            meters.append((seconds, (message.numerator, message.denominator)))
        elif message.type == "text" and message.text.startswith("Music starts at "):
            preroll = frame_seconds(parse_frames(message.text.rsplit(" ", 1)[1], rate), rate)
    return _from(tempos, preroll, 120.0), _from(meters, preroll, (4, 4))


def _from(points: list[tuple[float, Any]], start: float, default: Any) -> list[tuple[float, Any]]:
    """``points`` counted from ``start``, with the value holding there at 0 s."""
    inside = [(t - start, value) for t, value in points if t >= start - SAME_TIME_S]
    before = [value for t, value in points if t < start - SAME_TIME_S]
    return inside if inside and inside[0][0] <= SAME_TIME_S else [(0.0, before[-1] if before else default), *inside]


def reaper_maps(path: Path) -> tuple[TempoPoints, MeterPoints]:
    """The REAPER project's tempo envelope points (project time 0 is the music's start; else its one ``TEMPO``)
    and the time signatures on them (``65536 * denominator + numerator``)."""
    tempos: TempoPoints = []
    meters: MeterPoints = []
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
            tempos.append((float(tokens[1]), float(tokens[2])))
            if len(tokens) > 4:
                code = int(tokens[4])
                meters.append((float(tokens[1]), (code % 65536, code // 65536)))
    return tempos or ([(0.0, first)] if first is not None else []), meters


def dawproject_maps(path: Path) -> tuple[TempoPoints, MeterPoints]:
    """The DAWproject's tempo automation points in seconds (time 0 is the music's start; else its transport's
    tempo) and its time-signature automation points."""
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.xml"))
    tempos: TempoPoints = []
    automation = root.find(".//TempoAutomation")
    if automation is not None and automation.get("timeUnit", "seconds") == "seconds":
        tempos = [(float(p.get("time", "0")), float(p.get("value", "0"))) for p in automation.iter("RealPoint")]
    if not tempos:
        tempo = root.find("./Transport/Tempo")
        tempos = [(0.0, float(tempo.get("value", "0")))] if tempo is not None else []
    meters: MeterPoints = []
    signatures = root.find(".//TimeSignatureAutomation")
    if signatures is not None and signatures.get("timeUnit", "seconds") == "seconds":
        meters = [(float(p.get("time", "0")), (int(p.get("numerator", "4")), int(p.get("denominator", "4"))))
                  for p in signatures.iter("TimeSignaturePoint")]
    return tempos, meters


def value_at(points: Sequence[tuple[float, Any]], seconds: float) -> Any:
    """The value the hold points ``points`` give at ``seconds`` (the first before the first point)."""
    times = [t for t, _ in points]
    return points[max(bisect.bisect_right(times, seconds) - 1, 0)][1]


def _faults(maps: dict[str, list[tuple[float, Any]]], duration: float, differ: Callable[[list[Any]], bool],
            show: Callable[[Any], str]) -> list[str]:
    """Where the maps (file name -> points) disagree within the music's ``duration``, one phrase per place."""
    maps = {name: sorted(points, key=lambda p: p[0]) for name, points in maps.items() if points}
    if len(maps) < 2:
        return []
    times = sorted({round(t, 6) for points in maps.values() for t, _ in points if 0.0 <= t < duration} | {0.0})
    faults = []
    # changes the files place within SAME_TIME_S of each other (their own rounding) are one place
    for change in [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] >= SAME_TIME_S]:
        at = min(change + SAME_TIME_S, duration)  # just after the change, past any rounding of its time
        values = {name: value_at(points, at) for name, points in maps.items()}
        if differ(list(values.values())):
            faults.append(f"at {change:.3f} s " + ", ".join(f"{name} {show(v)}" for name, v in values.items()))
    return faults


def tempo_faults(maps: dict[str, TempoPoints], duration: float) -> list[str]:
    """Where the tempo maps (file name -> points) disagree within the music's ``duration``, one phrase per place."""
    return _faults(maps, duration, lambda bpms: max(bpms) - min(bpms) > SAME_BPM, lambda bpm: f"{bpm:.2f} BPM")


def meter_faults(maps: dict[str, MeterPoints], duration: float) -> list[str]:
    """Where the time signatures (file name -> points) disagree within the music's ``duration``."""
    return _faults(maps, duration, lambda meters: len(set(meters)) > 1, lambda meter: "{}/{}".format(*meter))


def count_changes(points: TempoPoints) -> int:
    """How many times ``points`` change the tempo (points that repeat the tempo, as a meter change's, aside)."""
    return sum(1 for (_, a), (_, b) in zip(points, points[1:], strict=False) if abs(a - b) > SAME_BPM)


__all__ = ["count_changes", "dawproject_maps", "meter_faults", "midi_maps", "reaper_maps", "tempo_faults",
           "value_at"]
