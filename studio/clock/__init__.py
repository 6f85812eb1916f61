"""Live MIDI clock: a pure timing core (tempo map -> timed messages) and the real-time sender."""

from studio.clock.errors import ClockError
from studio.clock.mtc import MTC_RATES, format_timecode, parse_timecode
from studio.clock.sender import (
    MIDI_APIS,
    VIRTUAL_PORT_NAME,
    ClockReport,
    open_clock_port,
    output_names,
    send_clock,
)
from studio.clock.timing import MIDI_CLOCK_PPQN, BarPosition, TimedMessage, clock_messages, first_clock_beat

__all__ = [
    "MIDI_APIS",
    "MIDI_CLOCK_PPQN",
    "MTC_RATES",
    "VIRTUAL_PORT_NAME",
    "BarPosition",
    "ClockError",
    "ClockReport",
    "TimedMessage",
    "clock_messages",
    "first_clock_beat",
    "format_timecode",
    "open_clock_port",
    "output_names",
    "parse_timecode",
    "send_clock",
]
