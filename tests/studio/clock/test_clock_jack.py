"""The real sender end to end: mido + python-rtmidi on a private JACK server, read back by a JACK MIDI input."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from expotion_engine.types import TempoChange, TempoMap
from studio.cli import main
from studio.clock import ClockError, clock_messages, open_clock_port, send_clock

SPP, START, CLOCK, STOP, QUARTER_FRAME, SYSEX = 0xF2, 0xFA, 0xF8, 0xFC, 0xF1, 0xF0


def tick_timing(received, scheduled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrival error of each tick (its constant latency removed) and of each tick interval, in seconds."""
    arrived = np.array([t for t, m in zip(received.times, received.messages, strict=True) if m[0] == CLOCK])
    offset = (arrived - arrived[0]) - (scheduled - scheduled[0])
    return offset - np.median(offset), np.diff(arrived) - np.diff(scheduled)


def test_sender_through_jack_follows_the_tempo_change(midi_in) -> None:
    received = midi_in
    tempo_map = TempoMap((TempoChange(0.0, 120.0), TempoChange(1.0, 90.0)))
    messages = clock_messages(tempo_map, 0.0, 2.0)
    with open_clock_port(port="Expotion Test In", api="jack") as output:
        assert output.name == "recv:Expotion Test In"
        report = send_clock(messages, output, preroll=0.2)
    assert received.wait_for(STOP, 2.0), "Stop never arrived"
    kinds = [m[0] for m in received.messages]
    assert received.messages[0] == [SPP, 0, 0]
    assert kinds == [SPP, START] + [CLOCK] * 84 + [STOP]
    scheduled = np.array([m.time for m in messages if m.kind == "clock"])
    errors, interval_errors = tick_timing(received, scheduled)
    # Both tempos are followed: ticks after the change at 1.0 s still land where the map puts them.
    assert np.median(np.abs(errors[scheduled < 1.0])) < 2e-3
    assert np.median(np.abs(errors[scheduled >= 1.0])) < 2e-3
    assert np.median(np.abs(interval_errors)) < 2e-3
    assert report.ticks == 84 and report.median_ms < 2.0
    print(f"JACK arrival error: median {np.median(np.abs(errors)) * 1e3:.3f} ms, max {np.max(np.abs(errors)) * 1e3:.3f}"
          f" ms; sender {report.summary()}")


def test_virtual_port_is_readable_by_a_midi_input(jack_input) -> None:
    messages = clock_messages(TempoMap.constant(150.0), 0.0, 1.0)
    opened = threading.Event()
    result: list = []

    def play() -> None:
        with open_clock_port(virtual=True, api="jack") as output:
            opened.set()
            result.append(send_clock(messages, output, preroll=3.0))  # slack for a loaded machine to connect

    sender = threading.Thread(target=play)
    sender.start()
    try:
        assert opened.wait(5.0), "the virtual port did not open"
        received = jack_input("Expotion:Expotion Clock")
    finally:
        sender.join(10.0)
    assert received.wait_for(STOP, 2.0), "Stop never arrived"
    kinds = [m[0] for m in received.messages]
    assert kinds == [START] + [CLOCK] * 60 + [STOP]  # the SPP went out before the input connected
    assert result[0].ticks == 60


def test_list_ports_and_missing_port(midi_in, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clock", "--list-ports", "--api", "jack"]) == 0
    assert "recv:Expotion Test In" in capsys.readouterr().out.splitlines()
    with pytest.raises(ClockError, match=r"'No Such Synth' does not exist; available: .*'recv:Expotion Test In'"):
        with open_clock_port(port="No Such Synth", api="jack"):
            pass


def test_no_jack_server_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    rtmidi = pytest.importorskip("rtmidi")
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.skip("this python-rtmidi is built without JACK support")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "expotion-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(ClockError, match="No MIDI output is available through the jack MIDI API .*start a JACK server"):
        with open_clock_port(virtual=True, api="jack"):
            pass


def test_clock_command_end_to_end(midi_in, make_take, capfd: pytest.CaptureFixture[str]) -> None:
    received = midi_in
    # 100 BPM for 0.6 s (1 beat), then 140 BPM for 0.6 s (1.4 beats): 2.4 beats, ticks k/24 < 2.4 -> 58.
    folder = make_take(TempoMap((TempoChange(0.0, 100.0), TempoChange(0.6, 140.0))), 1.2)
    code = main(["clock", str(folder), "--api", "jack", "--port", "Expotion Test In", "--mtc", "25",
                 "--timecode", "01:00:00:00", "--preroll", "0.1"])
    err = capfd.readouterr().err
    assert code == 0, err
    assert "clock on 'recv:Expotion Test In': bar 1.1" in err
    assert "MTC 25 fps from 01:00:00:00" in err
    assert "58 clock ticks; jitter (sent - scheduled): median" in err
    assert received.wait_for(STOP, 2.0), "Stop never arrived"
    messages = received.messages
    assert messages[0] == [SYSEX, 0x7F, 0x7F, 0x01, 0x01, (1 << 5) | 1, 0, 0, 0, 0xF7]
    assert messages[1] == [SPP, 0, 0]
    kinds = [m[0] for m in messages]
    assert kinds.count(CLOCK) == 58 and kinds.count(START) == 1 and kinds[-1] == STOP
    assert kinds.index(START) < kinds.index(CLOCK)
    assert kinds.count(QUARTER_FRAME) == 120  # 4 per frame, 25 fps, 1.2 s
    pieces = [m[1] >> 4 for m in messages if m[0] == QUARTER_FRAME]
    assert pieces == [i % 8 for i in range(120)]
