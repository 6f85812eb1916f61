"""A private JACK server (dummy driver) for the live-clock tests, and a MIDI input that records what arrives."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.types import Take, TempoMap

# 64 frames (1.3 ms) keeps arrival quantisation small; --sync makes a late client delay the cycle
# instead of losing its events, which a loaded CI box would otherwise do.
JACK_PERIOD = 64


@pytest.fixture(scope="module")
def jack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``jackd --no-realtime -d dummy`` under a unique server name; skip where jackd is absent."""
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd is not installed (Debian package jackd2); the live MIDI clock test needs a JACK server")
    rtmidi = pytest.importorskip("rtmidi")
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.skip("this python-rtmidi is built without JACK support")
    name = f"expotion-clock-test-{os.getpid()}"
    log_path = tmp_path_factory.mktemp("jack") / "jackd.log"
    patch = pytest.MonkeyPatch()
    patch.setenv("JACK_DEFAULT_SERVER", name)
    patch.setenv("JACK_NO_START_SERVER", "1")
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [jackd, "-n", name, "--no-realtime", "--sync", "-t", "2000",
             "-d", "dummy", "-r", "48000", "-p", str(JACK_PERIOD)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10.0
        while True:
            if server.poll() is not None:
                pytest.skip(f"jackd exited at once ({log_path.read_text(errors='replace').strip()[-300:]})")
            try:
                rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="probe").delete()
                break
            except rtmidi.RtMidiError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jackd did not come up in 10 s; its log: {log_path.read_text(errors='replace')}")
                time.sleep(0.05)
        yield name
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        patch.undo()


class Received:
    """A JACK MIDI input that keeps what arrives in rtmidi's own queue (no Python runs in JACK's thread,
    so a busy sender in this process cannot make the input miss a cycle); ``times`` are rtmidi's JACK
    time stamps counted from the first message."""

    def __init__(self, port: object) -> None:
        self.port = port
        self.messages: list[list[int]] = []
        self.times: list[float] = []

    def collect(self) -> None:
        """Move every queued message into ``messages``/``times``."""
        while (event := self.port.get_message()) is not None:
            raw, delta = event
            self.times.append((self.times[-1] + delta) if self.times else 0.0)
            self.messages.append(list(raw))

    def wait_for(self, status: int, timeout: float) -> bool:
        """True once a message starting with ``status`` has arrived (within ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while True:
            self.collect()
            if any(m[0] == status for m in self.messages):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


@pytest.fixture
def jack_input(jack_server: str) -> Iterator[Callable[[str | None], Received]]:
    """Open JACK MIDI inputs: ``connect(None)`` makes the virtual port ``recv:Expotion Test In``,
    ``connect(name)`` reads the existing output port ``name``."""
    import rtmidi

    opened: list[rtmidi.MidiIn] = []

    def connect(source: str | None) -> Received:
        port = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="recv", queue_size_limit=8192)
        opened.append(port)
        port.ignore_types(sysex=False, timing=False, active_sense=True)
        if source is None:
            port.open_virtual_port("Expotion Test In")
        else:
            port.open_port(port.get_ports().index(source))
        return Received(port)

    yield connect
    for port in opened:
        port.close_port()
        port.delete()


@pytest.fixture
def midi_in(jack_input: Callable[[str | None], Received]) -> Received:
    """A JACK MIDI input with the virtual port ``recv:Expotion Test In``, recording every message."""
    return jack_input(None)


@pytest.fixture
def make_take(tmp_path: Path) -> Callable[[TempoMap, float], Path]:
    """Write a real (silent) Take folder with a given tempo map and length, as the engines save it."""

    def make(tempo_map: TempoMap, seconds: float, request: dict | None = None) -> Path:
        rate = 8000
        take = Take(engine="test", sample_rate=rate, mix=np.zeros((1, int(round(seconds * rate))), np.float32),
                    stems=(), tempo_map=tempo_map, markers=(), request=request or {}, seed=0)
        return take.save(tmp_path / "take")

    return make
