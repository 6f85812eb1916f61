"""Sections (intro, build, peak, release) from sustained changes of energy and expression, on bar lines.

Each section also has a texture (which drum layers, bass figure, harmony figure and melody
density play, whether a countermelody joins, where the harmony sits), so the form is heard
in the arrangement and not only in the loudness; long sections alternate two variants
every eight bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECTION_NAMES = ("intro", "build", "peak", "release")
#: how much each section lifts or thins the arrangement (multiplies the density energy)
SECTION_LIFT = {"intro": 0.8, "build": 0.95, "peak": 1.1, "release": 0.85}


#: a section longer than this many bars is split into eight-bar periods that alternate two variants
SPLIT_BARS = 12
PERIOD_BARS = 8


@dataclass(frozen=True)
class Section:
    """A run of whole bars with one role; ``end_bar`` is exclusive; ``variant`` 1 is the contrasting repeat."""

    name: str
    start_bar: int
    end_bar: int
    variant: int = 0

    @property
    def label(self) -> str:
        """Marker name: the role, with "B" for the contrasting variant."""
        return self.name + (" B" if self.variant else "")


@dataclass(frozen=True)
class Texture:
    """How a section is arranged: drum layers, bass figure, harmony figure, melody density, countermelody, register.

    drums: "light" (pulse only) | "groove" (backbeat) | "full" (16ths, open hats);
    bass: "pedal" (tonic held) | "line" | "drive" (eighths); harmony: "pad" | "style" (the style's own figure)
    | "arpeggio"; melody: "sparse" | "line"; register: semitones the harmony voicing moves.
    """

    drums: str
    bass: str
    harmony: str
    melody: str
    counter: bool
    register: int


TEXTURES: dict[tuple[str, int], Texture] = {
    ("intro", 0): Texture("light", "pedal", "pad", "sparse", False, -3),
    ("intro", 1): Texture("light", "pedal", "arpeggio", "sparse", False, -5),
    ("build", 0): Texture("groove", "line", "style", "line", False, 0),
    ("build", 1): Texture("groove", "drive", "arpeggio", "line", True, 4),
    ("peak", 0): Texture("full", "drive", "style", "line", True, 5),
    ("peak", 1): Texture("full", "line", "arpeggio", "line", True, 2),
    ("release", 0): Texture("light", "line", "arpeggio", "line", False, -2),
    ("release", 1): Texture("groove", "pedal", "pad", "sparse", True, -5),
}


def texture(section: Section) -> Texture:
    """The arrangement of ``section``."""
    return TEXTURES[(section.name, section.variant)]


def bar_levels(bar_energy: np.ndarray, bar_expression: np.ndarray) -> np.ndarray:
    """0 low, 1 mid, 2 high for each bar, from energy plus sustained expression change."""
    drive = bar_energy + 0.3 * np.abs(bar_expression - np.median(bar_expression))
    high = max(0.6, float(np.quantile(drive, 0.7)) - 0.08 if drive.size else 0.6)
    low = min(0.35, float(np.quantile(drive, 0.3)) + 0.08 if drive.size else 0.35)
    return np.where(drive >= high, 2, np.where(drive <= low, 0, 1))


def _runs(levels: np.ndarray, min_bars: int) -> list[list[int]]:
    """[level, start, end) runs, with runs shorter than ``min_bars`` merged into their neighbour."""
    runs: list[list[int]] = []
    for i, level in enumerate(levels.tolist()):
        if runs and runs[-1][0] == level:
            runs[-1][2] = i + 1
        else:
            runs.append([level, i, i + 1])
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for j, run in enumerate(runs):
            if run[2] - run[1] < min_bars:
                k = j - 1 if j > 0 else j + 1
                other = runs[k]
                other[1], other[2] = min(other[1], run[1]), max(other[2], run[2])
                runs.pop(j)
                merged = [runs[0]]
                for r in runs[1:]:
                    if r[0] == merged[-1][0]:
                        merged[-1][2] = r[2]
                    else:
                        merged.append(r)
                runs = merged
                changed = True
                break
    return runs


def find_sections(bar_energy: np.ndarray, bar_expression: np.ndarray, cadence_bar: int, n_bars: int) -> list[Section]:
    """Sections over ``n_bars``; the bars from ``cadence_bar`` on are always the closing release."""
    body = max(min(cadence_bar, n_bars), 1)
    levels = bar_levels(bar_energy[:body], bar_expression[:body])
    min_bars = 2 if body >= 8 else 1
    runs = _runs(levels, min_bars)
    intro_bars = min(2 if body >= 8 else 1, body)
    sections: list[Section] = [Section("intro", 0, intro_bars)]
    peak_seen = False
    for index, (level, start, end) in enumerate(runs):
        start = max(start, intro_bars)
        if start >= end:
            continue
        following = runs[index + 1][0] if index + 1 < len(runs) else -1
        if level == 2:
            name = "peak"
            peak_seen = True
        elif following > level:
            name = "build"
        elif peak_seen or level == 0:
            name = "release"
        else:
            name = "build"
        if sections[-1].name == name or (sections[-1].name == "intro" and name == "release" and not peak_seen):
            sections[-1] = Section(sections[-1].name, sections[-1].start_bar, end)
        else:
            sections.append(Section(name, start, end))
    if cadence_bar < n_bars:
        if sections[-1].name == "release":
            sections[-1] = Section("release", sections[-1].start_bar, n_bars)
        else:
            sections.append(Section("release", cadence_bar, n_bars))
    else:
        sections[-1] = Section(sections[-1].name, sections[-1].start_bar, n_bars)
    return _split_long(sections, cadence_bar)


def _split_long(sections: list[Section], cadence_bar: int) -> list[Section]:
    """Sections over ``SPLIT_BARS`` bars (before the cadence) cut into eight-bar periods of alternating variants;
    a remainder shorter than four bars stays with the period before it."""
    out: list[Section] = []
    for section in sections:
        end = min(section.end_bar, cadence_bar) if section.start_bar < cadence_bar else section.end_bar
        if end - section.start_bar <= SPLIT_BARS or section.name == "intro":
            out.append(section)
            continue
        starts = list(range(section.start_bar, end, PERIOD_BARS))
        if end - starts[-1] < 4 and len(starts) > 1:
            starts.pop()
        bounds = starts + [section.end_bar]
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=False)):
            out.append(Section(section.name, a, b, k % 2))
    return out


def section_of_bar(sections: list[Section], bar: int) -> Section:
    """The section that holds ``bar`` (the last one past the end)."""
    for section in sections:
        if section.start_bar <= bar < section.end_bar:
            return section
    return sections[-1]
