"""What every marker-carrying exporter needs to know about a job's markers: which ones fall
inside the music, how long each lasts, and its colour.

Sections last until the next section (or the end of the music) so editors and DAWs can
show them as ranges or regions; hits, cues and user markers are points. Colours: the
marker's own ``#rrggbb`` when it has one, else one per kind; named colours (the palette
editors offer) always follow the kind so a kind reads the same everywhere.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from expotion_engine.types import Marker
from studio.export.job import ExportJob
from studio.export.marker_colors import nearest_color_name
from studio.export.text import clean_line

log = logging.getLogger(__name__)

KIND_RGB = {"section": (47, 111, 223), "hit": (224, 60, 49), "cue": (242, 201, 76), "user": (39, 174, 96)}
KIND_COLOR_NAME = {"section": "BLUE", "hit": "RED", "cue": "YELLOW", "user": "GREEN"}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Cue:
    """One marker placed in the music: ``start``/``end`` in music seconds (equal for points)."""

    marker: Marker
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def is_range(self) -> bool:
        return self.end > self.start

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The marker's own colour when it is a valid ``#rrggbb``, else its kind's."""
        match = _HEX.match(self.marker.color or "")
        if match is None:
            return KIND_RGB[self.marker.kind]
        value = int(match.group(1), 16)
        return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)

    @property
    def color_name(self) -> str:
        """Editor palette colour (OpenTimelineIO ``MarkerColor`` name): the nearest to the marker's own
        colour when it has one (an editor's red cue stays red), else its kind's."""
        if _HEX.match(self.marker.color or "") is None:
            return KIND_COLOR_NAME[self.marker.kind]
        return nearest_color_name(self.rgb)

    @property
    def label(self) -> str:
        """The marker's name as one line (controls and line breaks as spaces), or its kind when it has none."""
        return clean_line(self.marker.name) or self.marker.kind

    @property
    def full_name(self) -> str:
        """The marker's name as typed, line breaks included, for formats that escape them (CSV)."""
        return self.marker.name or self.marker.kind


def cues(job: ExportJob) -> list[Cue]:
    """The job's markers inside ``[0, duration]`` in time order, sections spanning to the next section."""
    duration = job.take.duration
    inside = sorted((m for m in job.markers if 0.0 <= m.time <= duration), key=lambda m: m.time)
    dropped = len(job.markers) - len(inside)
    if dropped:
        log.warning("%d marker(s) lie outside the music (0..%.3f s) and are not exported.", dropped, duration)
    section_times = [m.time for m in inside if m.kind == "section"]
    out = []
    for marker in inside:
        end = marker.time
        if marker.kind == "section":
            end = next((t for t in section_times if t > marker.time), duration)
        out.append(Cue(marker, marker.time, end))
    return out
