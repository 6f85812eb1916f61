"""The clock's timing core: tick times against the tempo map's integral, SPP, Start/Continue, MTC, bar.beat."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.types import MeterChange, TempoChange, TempoMap
from studio.clock import BarPosition, ClockError, clock_messages, format_timecode, parse_timecode

GRID = 1e-5  # seconds per step of the independent numerical integral


def beats_by_integration(changes: list[tuple[float, float]], times: np.ndarray, end: float) -> np.ndarray:
    """Quarter notes elapsed at ``times``: the integral of bpm/60 over a fine grid (no TempoMap code)."""
    grid = np.arange(0.0, end + 2 * GRID, GRID)
    starts = np.array([t for t, _ in changes])
    bpms = np.array([b for _, b in changes])
    rate = bpms[np.searchsorted(starts, grid[:-1] + GRID / 2, side="right") - 1] / 60.0
    cumulative = np.concatenate([[0.0], np.cumsum(rate * GRID)])
    return np.interp(times, grid, cumulative)


def stepped_ramp(first: float, last: float, steps: int, length: float) -> list[tuple[float, float]]:
    """``steps`` equal tempo steps from ``first`` to ``last`` BPM over ``length`` seconds."""
    return [(length * i / steps, first + (last - first) * i / (steps - 1)) for i in range(steps)]


@pytest.mark.parametrize(
    "changes",
    [
        [(0.0, 90.0), (1.0, 100.0), (2.0, 110.0), (3.0, 120.0)],
        stepped_ramp(90.0, 120.0, 400, 8.0),
        stepped_ramp(140.0, 70.0, 97, 6.3),
    ],
    ids=["four-steps", "400-small-steps", "slowing-97-steps"],
)
def test_ticks_follow_the_tempo_maps_integral(changes: list[tuple[float, float]]) -> None:
    tempo_map = TempoMap(tuple(TempoChange(t, b) for t, b in changes))
    end = changes[-1][0] + 1.5
    messages = clock_messages(tempo_map, 0.0, end)
    ticks = [m for m in messages if m.kind == "clock"]
    times = np.array([m.time for m in ticks])
    expected_beats = np.arange(len(ticks)) / 24.0
    beats = beats_by_integration(changes, times, end)
    bpm_at = np.array([tempo_map.bpm_at(t) for t in times])
    error_s = (beats - expected_beats) * 60.0 / bpm_at
    assert np.max(np.abs(error_s)) < 1e-4
    assert len(ticks) == int(np.floor(beats_by_integration(changes, np.array([end]), end)[0] * 24 - 1e-9)) + 1
    assert [m.kind for m in messages[:3]] == ["songpos", "start", "clock"]
    assert messages[0].message.pos == 0
    assert messages[-1].kind == "stop" and messages[-1].time == pytest.approx(end)
    assert np.all(np.diff([m.time for m in messages]) >= 0)


def test_tempo_change_shows_in_tick_intervals() -> None:
    tempo_map = TempoMap((TempoChange(0.0, 120.0), TempoChange(1.0, 90.0)))
    times = np.array([m.time for m in clock_messages(tempo_map, 0.0, 2.0) if m.kind == "clock"])
    intervals = np.diff(times)
    np.testing.assert_allclose(intervals[times[1:] <= 1.0], 60 / 120 / 24, atol=1e-12)
    np.testing.assert_allclose(intervals[times[:-1] >= 1.0], 60 / 90 / 24, atol=1e-12)
    assert len(times) == 48 + 36  # 2 beats at 120 BPM, then 1.5 beats in the second at 90 BPM


def test_start_mid_song_sends_spp_and_continue_at_the_next_16th() -> None:
    tempo_map = TempoMap((TempoChange(0.0, 120.0), TempoChange(4.0, 90.0)))
    # 8 beats by 4.0 s, then 1.3 s at 1.5 beats/s: 9.95 beats, so play from 16th note 40 (beat 10.0).
    messages = clock_messages(tempo_map, 5.3, 8.0)
    assert messages[0].kind == "songpos" and messages[0].message.pos == 40
    assert messages[0].time == pytest.approx(5.3)
    assert messages[1].kind == "continue"
    first_tick = next(m for m in messages if m.kind == "clock")
    assert first_tick.time == pytest.approx(4.0 + 2.0 / 1.5, abs=1e-12)
    assert messages[1].time == pytest.approx(first_tick.time)
    assert first_tick.message.bytes() == [0xF8]
    assert messages[0].message.bytes() == [0xF2, 40 & 0x7F, 40 >> 7]


def test_start_on_a_16th_mid_song_keeps_that_position() -> None:
    tempo_map = TempoMap.constant(100.0)
    start = 37 * 0.25 * 60.0 / 100.0  # 16th note 37
    messages = clock_messages(tempo_map, start, start + 1.0)
    assert messages[0].message.pos == 37
    assert [m.kind for m in messages[1:3]] == ["continue", "clock"]
    assert messages[2].time == pytest.approx(start, abs=1e-12)


def test_start_at_zero_is_start_not_continue() -> None:
    kinds = [m.kind for m in clock_messages(TempoMap.constant(120.0), 0.0, 1.0)]
    assert kinds.count("start") == 1 and "continue" not in kinds
    assert kinds.count("clock") == 48 and kinds[-1] == "stop"


def decode_quarter_frames(messages: list) -> list[tuple[float, int, tuple[int, int, int, int]]]:
    """``(time of piece 0, rate code, (h, m, s, f))`` of every complete 8-piece cycle, from the raw bytes."""
    pieces = [(m.time, m.message.bytes()) for m in messages if m.kind == "quarter_frame"]
    cycles = []
    for i in range(0, len(pieces) - 7):
        group = pieces[i:i + 8]
        if [raw[1] >> 4 for _, raw in group] != list(range(8)):
            continue
        nibble = [raw[1] & 0x0F for _, raw in group]
        frames = nibble[0] | (nibble[1] << 4)
        seconds = nibble[2] | (nibble[3] << 4)
        minutes = nibble[4] | (nibble[5] << 4)
        hours = nibble[6] | ((nibble[7] & 0x01) << 4)
        cycles.append((group[0][0], nibble[7] >> 1, (hours, minutes, seconds, frames)))
    return cycles


@pytest.mark.parametrize(("fps", "code"), [(24, 0), (25, 1), (30, 3)])
@pytest.mark.parametrize(("timecode", "start"), [("01:00:00:00", 0.0), ("00:59:58:03", 2.37), ("23:59:59:00", 0.5)])
def test_mtc_quarter_frames_decode_to_the_timecode(fps: int, code: int, timecode: str, start: float) -> None:
    offset = parse_timecode(timecode, fps)
    messages = clock_messages(TempoMap.constant(120.0), start, start + 3.0, mtc=fps, timecode=offset)
    quarter = [m for m in messages if m.kind == "quarter_frame"]
    np.testing.assert_allclose(np.diff([m.time for m in quarter]), 1.0 / (4 * fps), atol=1e-9)
    assert len(quarter) == pytest.approx(3.0 * 4 * fps, abs=4)
    cycles = decode_quarter_frames(messages)
    assert len(cycles) >= (3.0 * fps) // 2 - 1
    for time, rate_code, (h, m, s, f) in cycles:
        assert rate_code == code
        absolute = (offset + time) % 86400.0
        assert h * 3600 + m * 60 + s + f / fps == pytest.approx(absolute, abs=1e-6)
    sysex = messages[0].message.bytes()
    assert sysex[:5] == [0xF0, 0x7F, 0x7F, 0x01, 0x01] and sysex[-1] == 0xF7
    hours = sysex[5] & 0x1F
    assert sysex[5] >> 5 == code
    located = f"{hours:02d}:{sysex[6]:02d}:{sysex[7]:02d}:{sysex[8]:02d}"
    assert located == format_timecode((offset + start) % 86400.0, fps)


def test_timecode_text_round_trip_and_errors() -> None:
    assert parse_timecode("01:00:00:00", 25) == 3600.0
    assert parse_timecode("00:00:01:12", 24) == pytest.approx(1.5)
    assert format_timecode(3600.0 + 1.5, 24) == "01:00:01:12"
    with pytest.raises(ClockError, match="not HH:MM:SS:FF"):
        parse_timecode("1 hour", 25)
    with pytest.raises(ClockError, match="frames 0-24"):
        parse_timecode("00:00:00:25", 25)
    with pytest.raises(ClockError, match="24, 25, 30"):
        clock_messages(TempoMap.constant(120.0), 0.0, 1.0, mtc=29)


@pytest.mark.parametrize(("start", "end"), [(2.0, 1.0), (-1.0, 1.0), (0.0, float("nan"))])
def test_bad_range_is_a_clock_error(start: float, end: float) -> None:
    with pytest.raises(ClockError, match="start must be >= 0 and < end"):
        clock_messages(TempoMap.constant(120.0), start, end)


def test_bar_beat_counts_from_the_first_downbeat_through_a_meter_change() -> None:
    # One beat of pickup at 120 BPM, 4/4 from 0.5 s, 3/4 from bar 3 (beat 9 = 4.5 s).
    tempo_map = TempoMap(
        (TempoChange(0.0, 120.0),), (MeterChange(0.0, 4, 4), MeterChange(4.5, 3, 4)), anchor=0.5
    )
    position = BarPosition(tempo_map, 10.0)
    assert position(0.0) == "0.4"
    assert position(0.5) == "1.1"
    assert position(1.0) == "1.2"
    assert position(2.5) == "2.1"
    assert position(4.5) == "3.1"
    assert position(5.5) == "3.3"
    assert position(6.0) == "4.1"
    assert position(12.0) == "8.1"  # beat 24; past the end it keeps counting in the last meter
