"""The real clock sender: opens a MIDI output through mido + python-rtmidi and plays timed messages.

Messages are scheduled against :func:`time.perf_counter`: the sender sleeps until
``spin`` seconds before each one is due, then spins, so ticks leave within a fraction of
a millisecond of their time on an idle machine. The error of every clock tick (sent
minus scheduled) is measured and reported. Setting ``cancel`` sends Stop at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from expotion_engine.progress import CancelEvent, ProgressFn, no_progress
from studio.clock.errors import ClockError
from studio.clock.timing import TimedMessage

if TYPE_CHECKING:
    from mido.backends.backend import Backend
    from mido.ports import BaseOutput

log = logging.getLogger(__name__)

# ``--api`` names -> rtmidi API names as mido spells them.
MIDI_APIS: dict[str, str] = {
    "alsa": "LINUX_ALSA",
    "jack": "UNIX_JACK",
    "coremidi": "MACOSX_CORE",
    "winmm": "WINDOWS_MM",
}
API_ENV = "EXPOTION_MIDI_API"
CLIENT_NAME = "Expotion"
VIRTUAL_PORT_NAME = "Expotion Clock"
_LOCATE = ("songpos", "sysex")
_LONGEST_SLEEP = 0.05
_DRAIN = 0.05  # JACK delivers at its next period; closing at once can drop the final Stop


def midi_backend(api: str | None = None) -> Backend:
    """The mido rtmidi backend for ``api`` (``alsa``, ``jack``, …; None: ``$EXPOTION_MIDI_API`` or the default)."""
    import mido

    api = api or os.environ.get(API_ENV) or None
    if api is not None and api not in MIDI_APIS:
        raise ClockError(f"MIDI API {api!r} is not known; choose one of {', '.join(MIDI_APIS)}.")
    try:
        import rtmidi
    except ImportError as exc:
        raise ClockError(f"No MIDI backend: python-rtmidi cannot be imported ({exc}); install python-rtmidi.") from None
    if api is None:
        return mido.Backend("mido.backends.rtmidi", load=True)
    if getattr(rtmidi, f"API_{MIDI_APIS[api]}") not in rtmidi.get_compiled_api():
        compiled = ", ".join(rtmidi.get_api_display_name(a) for a in rtmidi.get_compiled_api())
        raise ClockError(f"MIDI API {api!r} is not built into this python-rtmidi; it has: {compiled}.")
    if api == "jack":
        os.environ.setdefault("JACK_NO_START_SERVER", "1")
    return mido.Backend(f"mido.backends.rtmidi/{MIDI_APIS[api]}", load=True)


def _no_output_error(api: str | None, exc: Exception) -> ClockError:
    """One sentence for a MIDI system that cannot be reached, with the usual cure."""
    name = api or os.environ.get(API_ENV) or "default"
    hint = {
        "jack": "start a JACK server (jackd, or QjackCtl/PipeWire's JACK) first",
        "alsa": "load the ALSA sequencer (modprobe snd-seq) or use --api jack with a running JACK server",
    }.get(name, "use --api alsa or --api jack where that system runs")
    return ClockError(f"No MIDI output is available through the {name} MIDI API ({exc}); {hint}.")


def output_names(api: str | None = None) -> list[str]:
    """Names of the MIDI output ports the ``api`` can open now."""
    backend = midi_backend(api)
    try:
        return list(backend.get_output_names())
    except OSError as exc:
        raise _no_output_error(api, exc) from None


def resolve_port(name: str, available: Sequence[str]) -> str:
    """The port called ``name``, or the only one whose name contains it (case-insensitive)."""
    if name in available:
        return name
    matches = [p for p in available if name.lower() in p.lower()]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(repr(p) for p in available) or "none"
    if matches:
        raise ClockError(f"MIDI port {name!r} matches several ports ({', '.join(map(repr, matches))}); name one.")
    raise ClockError(f"MIDI output port {name!r} does not exist; available: {listed}.")


@contextlib.contextmanager
def open_clock_port(
    *, port: str | None = None, virtual: bool = False, api: str | None = None
) -> Iterator[BaseOutput]:
    """Open an existing output ``port`` (exact name or a unique part of it) or a virtual one; closes on exit."""
    if (port is None) == (not virtual):
        raise ClockError("Choose where the clock goes: --port NAME (an existing MIDI input) or --virtual.")
    backend = midi_backend(api)
    try:
        if virtual:
            output = backend.open_output(VIRTUAL_PORT_NAME, virtual=True, client_name=CLIENT_NAME)
        else:
            output = backend.open_output(resolve_port(port, backend.get_output_names()))
    except OSError as exc:
        raise _no_output_error(api, exc) from None
    log.info("clock output %r open (%s)", output.name, getattr(output, "api", "?"))
    try:
        yield output
    finally:
        time.sleep(_DRAIN)
        output.close()


@dataclass(frozen=True, eq=False)
class ClockReport:
    """What a run sent and how late each clock tick left (``errors``: seconds, sent minus scheduled)."""

    sent: int
    ticks: int
    errors: np.ndarray = field(repr=False)
    cancelled: bool = False
    stopped_at: float = 0.0

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile (0-100) of the absolute tick error, in milliseconds (0 without ticks)."""
        return float(np.percentile(np.abs(self.errors), q) * 1000.0) if self.errors.size else 0.0

    @property
    def median_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def max_ms(self) -> float:
        return self.percentile_ms(100)

    def summary(self) -> str:
        """One line for the terminal: tick count and jitter figures."""
        return (f"{self.ticks} clock ticks; jitter (sent - scheduled): median {self.median_ms:.3f} ms, "
                f"p99 {self.percentile_ms(99):.3f} ms, max {self.max_ms:.3f} ms")


def send_clock(
    messages: Sequence[TimedMessage],
    output: BaseOutput,
    *,
    start: float | None = None,
    preroll: float = 0.0,
    spin: float = 0.001,
    progress: ProgressFn | None = None,
    describe: Callable[[float], str] | None = None,
    cancel: CancelEvent | None = None,
) -> ClockReport:
    """Send ``messages`` on ``output`` at their times; music time ``start`` is now + ``preroll``.

    Locate messages due at ``start`` (Song Position Pointer, MTC full frame) go out at
    once, so the slave can chase during ``preroll``. ``progress`` hears the position on
    every beat (``describe`` turns music time into its text). When ``cancel`` is set, or
    anything interrupts the run, Stop goes out before returning.
    """
    if not messages:
        return ClockReport(0, 0, np.zeros(0))
    start = messages[0].time if start is None else start
    end = messages[-1].time
    span = max(end - start, 1e-9)
    progress = progress or no_progress
    describe = describe or (lambda t: f"{t:.2f} s")
    errors: list[float] = []
    sent = 0
    running = False
    stopped = False
    cancelled = False
    now = start
    locate = 0
    while locate < len(messages) and messages[locate].kind in _LOCATE and messages[locate].time <= start + 1e-9:
        output.send(messages[locate].message)
        sent += 1
        locate += 1
    origin = time.perf_counter() + preroll - start
    try:
        for item in messages[locate:]:
            target = origin + item.time
            if not _wait_until(target, spin, cancel):
                cancelled = True
                break
            output.send(item.message)
            sent_at = time.perf_counter()
            sent += 1
            now = item.time
            if item.kind == "clock":
                errors.append(sent_at - target)
                if item.beat is not None and abs(item.beat - round(item.beat)) < 1e-9:
                    progress((item.time - start) / span, describe(item.time))
            elif item.kind in ("start", "continue"):
                running = True
            elif item.kind == "stop":
                stopped = True
    finally:
        if running and not stopped:
            import mido

            output.send(mido.Message("stop"))
            sent += 1
    progress(1.0 if not cancelled else (now - start) / span, describe(now))
    return ClockReport(sent, len(errors), np.asarray(errors), cancelled, now)


def _wait_until(target: float, spin: float, cancel: CancelEvent | None) -> bool:
    """Sleep until ``spin`` s before ``target``, then spin to it; False when ``cancel`` was set."""
    while True:
        if cancel is not None and cancel.is_set():
            return False
        remaining = target - time.perf_counter()
        if remaining <= spin:
            break
        time.sleep(min(remaining - spin, _LONGEST_SLEEP))
    while time.perf_counter() < target:
        pass
    return True
