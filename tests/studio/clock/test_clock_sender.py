"""The sender's scheduling and stop rules on a recording port (no MIDI system needed)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from expotion_engine.types import TempoChange, TempoMap
from studio.clock import ClockError, clock_messages, send_clock
from studio.clock.sender import resolve_port


class RecordingPort:
    """Stands in for a MIDI output: keeps each message with the perf_counter time it was handed over."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []

    def send(self, message) -> None:
        self.sent.append((time.perf_counter(), message.type))


def test_messages_leave_at_their_times_after_the_preroll() -> None:
    tempo_map = TempoMap((TempoChange(0.0, 240.0), TempoChange(0.25, 180.0)))
    messages = clock_messages(tempo_map, 0.0, 0.5)
    port = RecordingPort()
    began = time.perf_counter()
    report = send_clock(messages, port, preroll=0.1)
    kinds = [k for _, k in port.sent]
    assert kinds == [m.kind for m in messages]
    assert port.sent[0][0] - began < 0.02  # the locate message goes out at once
    start_at = port.sent[1][0]
    assert start_at - began == pytest.approx(0.1, abs=0.02)
    sent = np.array([t for t, k in port.sent if k == "clock"]) - start_at
    scheduled = np.array([m.time for m in messages if m.kind == "clock"])
    assert np.median(np.abs(sent - scheduled)) < 2e-3
    assert report.ticks == len(scheduled) and report.sent == len(messages) and not report.cancelled
    assert report.errors.shape == (len(scheduled),) and np.all(report.errors >= 0)


def test_cancel_sends_stop_at_once() -> None:
    messages = clock_messages(TempoMap.constant(120.0), 0.0, 5.0)
    port = RecordingPort()
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    began = time.perf_counter()
    timer.start()
    report = send_clock(messages, port, cancel=cancel)
    timer.join()
    assert report.cancelled
    assert port.sent[-1][1] == "stop" and port.sent[-1][0] - began < 0.4
    assert [k for _, k in port.sent].count("stop") == 1
    assert report.stopped_at == pytest.approx(0.3, abs=0.05)
    assert 0.25 * 48 < report.ticks < 0.4 * 48


def test_an_error_mid_run_still_sends_stop() -> None:
    class FailingPort(RecordingPort):
        def send(self, message) -> None:
            if len(self.sent) == 10:
                self.sent.append((time.perf_counter(), "failed"))
                raise OSError("the device went away")
            super().send(message)

    port = FailingPort()
    with pytest.raises(OSError, match="went away"):
        send_clock(clock_messages(TempoMap.constant(300.0), 0.0, 1.0), port)
    assert port.sent[-1][1] == "stop"


def test_progress_reports_each_beat_with_the_position_text() -> None:
    messages = clock_messages(TempoMap.constant(600.0), 0.0, 0.5)  # 5 beats
    reports: list[tuple[float, str]] = []
    send_clock(messages, RecordingPort(), progress=lambda f, m: reports.append((f, m)),
               describe=lambda t: f"at {t:.1f}")
    assert [m for _, m in reports] == ["at 0.0", "at 0.1", "at 0.2", "at 0.3", "at 0.4", "at 0.5"]
    assert reports[-1][0] == 1.0


def test_port_names_resolve_exactly_or_by_a_unique_part() -> None:
    ports = ["Midi Through:Midi Through Port-0 14:0", "reaper:MIDI in 1", "reaper:MIDI in 2"]
    assert resolve_port("reaper:MIDI in 2", ports) == "reaper:MIDI in 2"
    assert resolve_port("through", ports) == ports[0]
    with pytest.raises(ClockError, match="matches several ports"):
        resolve_port("reaper", ports)
    with pytest.raises(ClockError, match=r"'Bitwig' does not exist; available: 'Midi Through"):
        resolve_port("Bitwig", ports)
    with pytest.raises(ClockError, match="available: none"):
        resolve_port("Bitwig", [])
