"""The editors' named marker colours (OpenTimelineIO's ``MarkerColor`` names) and the nearest of them to
any colour, for the formats that take a name rather than RGB (marker CSV, OTIO, EDL locators)."""

from __future__ import annotations

#: each name's RGB as Expotion reads and writes it
MARKER_COLORS = {
    "PINK": "#ff6eb4", "RED": "#e02020", "ORANGE": "#ff8c00", "YELLOW": "#f0d000", "GREEN": "#20b040",
    "CYAN": "#00c0d0", "BLUE": "#2060e0", "PURPLE": "#8040c0", "MAGENTA": "#e020e0", "BLACK": "#000000",
    "WHITE": "#ffffff",
}


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def nearest_color_name(rgb: tuple[int, int, int]) -> str:
    """The named colour closest to ``rgb`` (squared distance in RGB); a named colour's own RGB gives its name."""
    return min(MARKER_COLORS, key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, _rgb(MARKER_COLORS[name]),
                                                                                  strict=True)))
