"""The map's lead-in before an early first beat: no tempo blip in the MIDI a composer imports.

The MIDI files are read back with mido and interpreted on their own (ticks, set_tempo and
time_signature events), not through :class:`TempoMap`.
"""

from __future__ import annotations

import io
from functools import cache

import mido
import numpy as np
import pytest

from expotion_engine.tempo import TempoAnalysis, analyze_tempo
from expotion_engine.tempo.build import LEAD_IN_RANGE, build_tempo_map
from expotion_engine.tempo.segments import segment_beats
from expotion_engine.types import Take, TempoMap
from studio.commands.tempo import tempo_map_midi
from studio.export.job import ExportJob
from studio.export.midi import midi_file
from tests.tempo.synth import beat_times, click_track

RATE = 22050
STARTS = (0.05, 0.1, 0.3, 0.6)
TEMPI = (70.0, 120.0, 160.0)


def early(start: float, bpm: float) -> bool:
    """Whether a first beat at ``start`` is too early for one lead-in beat within the allowed range."""
    return LEAD_IN_RANGE * start < 60.0 / bpm


class MidiGrid:
    """Seconds of ticks, whole beats and bar lines as a MIDI file's own conductor events place them."""

    def __init__(self, midi: mido.MidiFile) -> None:
        self.ppq = midi.ticks_per_beat
        self.tempos: list[tuple[int, int]] = []
        self.meters: list[tuple[int, int, int]] = []
        tick = 0
        for message in midi.tracks[0]:
            tick += message.time
            if message.type == "set_tempo":
                self.tempos.append((tick, message.tempo))
            elif message.type == "time_signature":
                self.meters.append((tick, message.numerator, message.denominator))

    def bpms(self) -> list[float]:
        return [mido.tempo2bpm(tempo) for _, tempo in self.tempos]

    def seconds(self, tick: int) -> float:
        out, last_tick, tempo = 0.0, 0, 500000
        for at, value in self.tempos:
            if at >= tick:
                break
            out += mido.tick2second(at - last_tick, self.ppq, tempo)
            last_tick, tempo = at, value
        return out + mido.tick2second(tick - last_tick, self.ppq, tempo)

    def beat_seconds(self, count: int) -> np.ndarray:
        return np.array([self.seconds(k * self.ppq) for k in range(count)])

    def bar_seconds(self, count: int) -> np.ndarray:
        """The first ``count`` bar lines, bar lengths following the time signatures in force."""
        ticks, tick = [], 0
        while len(ticks) < count:
            ticks.append(tick)
            _, numerator, denominator = [m for m in self.meters if m[0] <= tick][-1]
            tick += numerator * self.ppq * 4 // denominator
        return np.array([self.seconds(t) for t in ticks])


def midi_files(tempo_map: TempoMap, audio: np.ndarray) -> dict[str, mido.MidiFile]:
    """The map as ``expotion tempo -o`` writes it and as the session's MIDI export writes a take's."""
    take = Take(engine="musicgen", sample_rate=RATE, mix=audio, stems=(), tempo_map=tempo_map, markers=(),
                request={}, seed=0)
    export = io.BytesIO()
    midi_file(ExportJob(take=take, title="lead-in")).save(file=export)
    return {
        "tempo command": mido.MidiFile(file=io.BytesIO(tempo_map_midi(tempo_map, length=take.duration))),
        "session export": mido.MidiFile(file=io.BytesIO(export.getvalue())),
    }


@cache
def click_case(start: float, bpm: float) -> tuple[np.ndarray, np.ndarray, TempoAnalysis]:
    beats = beat_times(((24, bpm, bpm),), start)
    audio = click_track(beats, 4, RATE)
    return beats, audio, analyze_tempo(audio, RATE)


@pytest.mark.parametrize("bpm", TEMPI)
@pytest.mark.parametrize("start", STARTS)
def test_written_midi_has_no_tempo_blip_and_keeps_beats_and_bars(start: float, bpm: float) -> None:
    beats, audio, result = click_case(start, bpm)
    on_grid = beats[1:] if early(start, bpm) else beats
    bar_truth = beats[::4].copy()
    if early(start, bpm):
        bar_truth[0] = 0.0  # the map's beat 0 stands for an early first beat
    count = len(beats) + 4  # the lead-in may add beats
    for writer, midi in midi_files(result.tempo_map, audio).items():
        grid = MidiGrid(midi)
        bpms = grid.bpms()
        assert all(bpm / LEAD_IN_RANGE <= b <= bpm * LEAD_IN_RANGE for b in bpms), (writer, bpms)
        whole = grid.beat_seconds(count)
        error = np.abs(whole[:, None] - on_grid[None, :]).min(axis=0)
        assert error.max() < 0.02, f"{writer}: a beat is {error.max() * 1000:.1f} ms from a whole beat"
        bars = grid.bar_seconds(len(bar_truth) + 1)
        if abs(bars[0] - bar_truth[0]) > 0.025:  # a short pickup bar before bar 1
            assert bars[0] == 0.0 and grid.meters[0][1] < 4, (writer, grid.meters)
            bars = bars[1:]
        bars = bars[: len(bar_truth)]
        assert np.abs(bars - bar_truth).max() < 0.025, (writer, bars[:3], bar_truth[:3])


@pytest.mark.parametrize("bpm", [50.0, 70.0, 90.0, 120.0, 160.0, 200.0, 240.0])
def test_lead_in_of_any_first_beat_stays_in_range_on_whole_beats(bpm: float) -> None:
    """Beat lists whose first beat sweeps 0..2.5 s, with a pickup of 0..3 beats before a 4/4 bar."""
    period = 60.0 / bpm
    for start in np.linspace(0.0, 2.5, 51):
        beats = start + period * np.arange(32)
        for first_downbeat in range(4):
            tempo_map = build_tempo_map(beats, segment_beats(beats), 4, first_downbeat)
            lead = tempo_map.tempos[0].bpm
            assert bpm / LEAD_IN_RANGE <= lead <= bpm * LEAD_IN_RANGE, (start, lead)
            positions = np.array([tempo_map.beat_at(t) for t in beats[1:]])
            assert np.abs(positions - np.round(positions)).max() < 1e-6, start
            assert np.all(np.diff(np.round(positions)) == 1)
            assert tempo_map.meter_at(tempo_map.anchor).numerator == 4
            anchor = tempo_map.beat_at(tempo_map.anchor)
            assert anchor == pytest.approx(round(anchor), abs=1e-6)
            bar_one = 0.0 if first_downbeat == 0 and early(start, bpm) else beats[first_downbeat]
            assert tempo_map.anchor == pytest.approx(bar_one, abs=1e-6), (start, first_downbeat)
