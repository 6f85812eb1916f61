"""The timeline: time ruler, bars/beats ruler, markers, analysis curves, the take's waveform and its stems.

Everything is drawn in *video file time* (seconds into the file). Analysis curves sit at
the analysed range's start; markers and the take are in music time (seconds from the in
point) and are shifted by the in point, or by the take's own start. The widget only
shows data and reports what the user did through signals; edits go through the window's
undo stack, never straight into the model. Under the take's mix, one lane per stem shows
its waveform (dimmed when the mixer silences it) and, in the lane's header, a level meter
of the stem at the playhead; the time ruler counts in timecode or in the take's bars and
beats (:meth:`TimelineWidget.set_ruler`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from expotion_engine.types import ControlTrack, Marker, TempoMap
from studio.timecode import TimecodeRate
from ui.mixdown import meter_shade
from ui.polygons import polygon
from ui.theme import COLORS, DIM_TEXT, TEXT, color
from ui.timecode import format_clock, format_timecode, tick_step, ticks
from ui.waveform import Peaks

HEADER_W = 78
RULER_H = 22
BEATS_H = 18
MARKERS_H = 22
CURVE_H = 42
WAVE_H = 60
STEM_H = 26
#: the level meters' range (dBFS): the floor shows an empty meter
METER_FLOOR_DB = -60.0
GRAB_PX = 8
#: a dragged marker jumps to a hit point, section or beat this close (pixels) when snapping is on
SNAP_PX = 8
#: the colours a user marker can be given (None: the default marker colour); exports carry them
MARKER_COLOURS: tuple[tuple[str, str | None], ...] = (
    ("Default", None), ("Red", "#e03c31"), ("Orange", "#f2994a"), ("Yellow", "#f2c94c"), ("Green", "#27ae60"),
    ("Cyan", "#2dc5d8"), ("Blue", "#2f6fdf"), ("Purple", "#9b51e0"),
)
#: zooming never shows less than this (s)
MIN_SPAN = 0.5


@dataclass(frozen=True)
class CurveLane:
    """One lane of analysis curves: channels drawn on a shared vertical scale."""

    title: str
    color_key: str
    channels: tuple[str, ...]
    value_range: tuple[float, float] | None = None  # None: each channel scaled to its own range


LANES: tuple[CurveLane, ...] = (
    CurveLane("Face", "face", ("face_smile", "face_mouth_open")),
    CurveLane("Motion", "motion", ("body_speed", "flow_energy")),
    CurveLane("Energy", "energy", ("energy",), (0.0, 1.0)),
    CurveLane("Valence", "valence", ("valence",), (-1.0, 1.0)),
)


@dataclass(frozen=True, eq=False)
class _Curve:
    times: np.ndarray  # video time (s)
    values: np.ndarray  # 0..1 for drawing
    valid: np.ndarray
    name: str = ""
    raw: np.ndarray | None = None  # the channel's own values, for the tooltip


def _scaled(values: np.ndarray, valid: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    if value_range is None:
        observed = values[valid] if valid.any() else values
        lo, hi = (float(observed.min()), float(observed.max())) if observed.size else (0.0, 1.0)
    else:
        lo, hi = value_range
    span = max(hi - lo, 1e-6)
    return np.clip((values - lo) / span, 0.0, 1.0)


class TimelineWidget(QWidget):
    """Draws the session's timeline and turns mouse gestures into requests."""

    seekRequested = Signal(float)  # video time, s
    markerAddRequested = Signal(float)  # music time, s
    markerMoved = Signal(int, float)  # user-marker index, new music time
    markerRenameRequested = Signal(int)
    markerDeleteRequested = Signal(int)
    markerRecolorRequested = Signal(int, object)  # user-marker index, "#rrggbb" or None
    markerCommentRequested = Signal(int)
    markerSelected = Signal(int)  # -1 when none
    inPointRequested = Signal(float)  # video time
    viewChanged = Signal(float, float)  # visible video time: start, end
    outPointRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stems: list[tuple[str, Peaks | None]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.sizeHint().height())
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._duration = 0.0
        self._in = 0.0
        self._out = 0.0
        self._position = 0.0
        self._view = (0.0, 0.0)
        self._curves: dict[str, list[_Curve]] = {}
        self._analysis_markers: tuple[Marker, ...] = ()
        self._analysis_start = 0.0
        self._user_markers: tuple[Marker, ...] = ()
        self._take_markers: tuple[Marker, ...] = ()
        self._peaks: Peaks | None = None
        self._take_note = "No take yet: choose a preset and press Generate"
        self._tempo: TempoMap | None = None
        self._take_start = 0.0
        self._take_duration = 0.0
        self._selected = -1
        self._drag: tuple[str, int, float] | None = None  # ("marker", index, time) or ("scrub", -1, 0)
        self._layers: QPixmap | None = None
        self._fps = 25.0
        self._tc: tuple[float, TimecodeRate] | None = None  # ruler in timecode: (start, rate)
        self._ruler = "timecode"
        self._stem_gains: dict[str, float] = {}
        self._levels: dict[str, float] = {}
        self.snap_to_hits = True

    # ------------------------------------------------------------------ data in

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(900, self._stem_top(len(self._stems)) + 2)

    def set_duration(self, seconds: float) -> None:
        """Length of the video; resets the view to show all of it."""
        self._duration = max(float(seconds), 0.0)
        self._view = (0.0, max(self._duration, 1e-3))
        self._invalidate()
        self.viewChanged.emit(*self._view)

    def set_range(self, start: float, end: float) -> None:
        """The in and out points (video time)."""
        self._in, self._out = float(start), float(end)
        self._invalidate()

    def set_frame_rate(self, fps: float) -> None:
        """The video's frame rate: markers land on its frames."""
        if fps > 0:
            self._fps = float(fps)

    def set_timecode(self, start: float, rate: TimecodeRate | None) -> None:
        """Label the ruler in source timecode (``start``: the first frame's, s) at ``rate``; None: m:ss."""
        self._tc = (float(start), rate) if rate is not None else None
        self._invalidate()

    @property
    def view(self) -> tuple[float, float]:
        """The visible span of video time (s)."""
        return self._view

    def set_view(self, start: float, end: float) -> None:
        """Show video time ``start..end`` (clamped to the video, at least :data:`MIN_SPAN`)."""
        if self._duration <= 0:
            return
        span = min(max(end - start, min(MIN_SPAN, self._duration)), self._duration)
        start = min(max(start, 0.0), self._duration - span)
        if (start, start + span) != self._view:
            self._view = (start, start + span)
            self._invalidate()
            self.viewChanged.emit(*self._view)

    def zoom(self, factor: float, anchor: float | None = None) -> None:
        """Zoom in (``factor`` < 1) or out around video time ``anchor`` (default the playhead)."""
        t0, t1 = self._view
        anchor = self._position if anchor is None else anchor
        start = anchor - (anchor - t0) * factor
        self.set_view(start, start + (t1 - t0) * factor)

    def zoom_to_fit(self) -> None:
        """Show the whole video."""
        self.set_view(0.0, self._duration)

    def snap(self, video_time: float, pixels: float = SNAP_PX) -> float:
        """``video_time`` on a video frame; with :attr:`snap_to_hits` on, the hit point, section or beat
        within ``pixels`` (nearest first) instead."""
        if self.snap_to_hits:
            targets = [self._analysis_start + m.time for m in self._analysis_markers]
            targets += [self._take_start + m.time for m in self._take_markers]
            if self._tempo is not None and self._take_duration > 0:
                targets += [self._take_start + b for b in self._tempo.beat_times(self._take_duration)]
            per_px = (self._view[1] - self._view[0]) / self._plot_width()
            near = [t for t in targets if abs(t - video_time) <= pixels * per_px]
            if near:
                video_time = min(near, key=lambda t: abs(t - video_time))
        return self._clamped(math.floor(video_time * self._fps + 0.5 + 1e-9) / self._fps)  # halves up, as timecode

    def set_position(self, seconds: float) -> None:
        """Where the playhead is (video time); the view pages along when the playhead leaves it."""
        t0, t1 = self._view
        if self._duration > 0 and t1 - t0 < self._duration - 1e-6 and not t0 <= seconds <= t1:
            span = t1 - t0
            self._position = float(seconds)
            self.set_view(seconds - 0.1 * span, seconds + 0.9 * span)
            return
        if abs(seconds - self._position) > 1e-4:
            old = self.time_to_x(self._position)
            self._position = float(seconds)
            new = self.time_to_x(self._position)
            for x in (old, new):
                self.update(int(x) - 7, 0, 14, self.height())

    def set_controls(self, track: ControlTrack | None) -> None:
        """Show the analysis curves and hit points of ``track`` (or clear them)."""
        self._curves = {}
        self._analysis_markers = ()
        if track is not None:
            start = track.source.start
            times = track.times + start
            for lane in LANES:
                curves = []
                for name in lane.channels:
                    if track.has(name):
                        values, valid = track.channel(name), track.valid(name)
                        curves.append(_Curve(times, _scaled(values, valid, lane.value_range), valid, name, values))
                self._curves[lane.title] = curves
            self._analysis_markers = track.markers
            self._analysis_start = start
        self._invalidate()

    def set_user_markers(self, markers: Sequence[Marker]) -> None:
        """The editable markers (music time), in the model's order; indices in signals refer to it."""
        self._user_markers = tuple(markers)
        if self._selected >= len(self._user_markers):
            self._selected = -1
        self._invalidate()

    def set_take(self, peaks: Peaks | None, tempo: TempoMap | None, markers: Sequence[Marker] = (),
                 start: float = 0.0) -> None:
        """The current take's waveform, tempo map and section markers, placed at ``start`` (video time)."""
        self._peaks = peaks
        self._tempo = tempo
        self._take_markers = tuple(markers)
        self._take_start = float(start)
        self._take_duration = peaks.duration if peaks is not None else 0.0
        self._invalidate()

    def set_stems(self, stems: Sequence[tuple[str, Peaks | None]], gains: dict[str, float] | None = None) -> None:
        """One lane per stem (name and waveform, top to bottom) under the take; ``gains``: each stem's linear
        gain in the mix (0 draws the lane dimmed: muted, or silenced by another stem's solo)."""
        count = len(self._stems)
        self._stems = list(stems)
        self._stem_gains = dict(gains or {})
        self._levels = {name: level for name, level in self._levels.items() if any(n == name for n, _ in stems)}
        if len(self._stems) != count:
            self.setMinimumHeight(self.sizeHint().height())
            self.updateGeometry()
        self._invalidate()

    def stem_names(self) -> list[str]:
        """The stems that have a lane, top to bottom."""
        return [name for name, _ in self._stems]

    def set_levels(self, levels: dict[str, float]) -> None:
        """Each stem's level at the playhead (peak dBFS), shown by the meters in the stem lanes' headers."""
        if levels == self._levels:
            return
        self._levels = dict(levels)
        if self._stems:
            self.update(0, self._stem_top(0), HEADER_W, STEM_H * len(self._stems))

    def meter_fraction(self, name: str) -> float:
        """How full stem ``name``'s meter is drawn (0 at the floor, 1 at 0 dBFS)."""
        level = self._levels.get(name, METER_FLOOR_DB)
        return min(max((level - METER_FLOOR_DB) / -METER_FLOOR_DB, 0.0), 1.0)

    @property
    def ruler(self) -> str:
        """What the time ruler counts in: ``"timecode"`` or ``"bars"`` (the take's bars and beats)."""
        return self._ruler

    def set_ruler(self, mode: str) -> None:
        """Count the time ruler in ``"timecode"`` or ``"bars"`` (bars and beats of the current take's tempo map;
        timecode where there is no take)."""
        if mode not in ("timecode", "bars"):
            raise ValueError(f"ruler mode must be 'timecode' or 'bars', not {mode!r}")
        self._ruler = mode
        self._invalidate()

    @property
    def duration(self) -> float:
        """Length of the video shown (s)."""
        return self._duration

    def curve_count(self) -> int:
        """How many analysis curves are drawn."""
        return sum(len(curves) for curves in self._curves.values())

    def set_take_note(self, text: str) -> None:
        """What the take lane says while it has no take (the window's next step, or that one is being made)."""
        if text != self._take_note:
            self._take_note = text
            self._invalidate()

    @property
    def take_note(self) -> str:
        """The take lane's text while it has no take."""
        return self._take_note

    def has_waveform(self) -> bool:
        """Whether a take's waveform is drawn."""
        return self._peaks is not None and len(self._peaks.low) > 0

    @property
    def selected_marker(self) -> int:
        return self._selected

    def select_marker(self, index: int) -> None:
        self._selected = index if 0 <= index < len(self._user_markers) else -1
        self.markerSelected.emit(self._selected)
        self._invalidate()

    # ------------------------------------------------------------------ geometry

    def _plot_width(self) -> float:
        return max(self.width() - HEADER_W, 1)

    def time_to_x(self, seconds: float) -> float:
        t0, t1 = self._view
        return HEADER_W + (seconds - t0) / max(t1 - t0, 1e-9) * self._plot_width()

    def x_to_time(self, x: float) -> float:
        t0, t1 = self._view
        return t0 + (x - HEADER_W) / self._plot_width() * (t1 - t0)

    def value_text(self, x: float, y: float) -> str | None:
        """The tooltip at pixel ``(x, y)``: a lane's curves, their values there and their scale (legend)."""
        stem = int((y - self._stem_top(0)) // STEM_H) if y >= self._stem_top(0) else -1
        if 0 <= stem < len(self._stems):
            name = self._stems[stem][0]
            silent = " (silent in the mix)" if self._stem_gains.get(name, 1.0) <= 0 else ""
            level = self._levels.get(name, METER_FLOOR_DB)
            shown = f"{level:.1f} dBFS" if level > METER_FLOOR_DB else "silent"
            return f"{name} stem{silent}; level at the playhead {shown}"
        index = int((y - self._lane_top(0)) // CURVE_H)
        if not 0 <= index < len(LANES) or y < self._lane_top(0):
            return None
        lane = LANES[index]
        scale = (f"scale {lane.value_range[0]:g} to {lane.value_range[1]:g}" if lane.value_range is not None
                 else "each curve scaled to its own range")
        curves = self._curves.get(lane.title, [])
        if x < HEADER_W or not curves:
            names = ", ".join(c.removeprefix("face_").replace("_", " ") for c in lane.channels)
            return f"{lane.title}: {names} ({scale})"
        seconds = self.x_to_time(x)
        parts = []
        for curve in curves:
            if curve.raw is None or not len(curve.times):
                continue
            i = int(np.clip(np.searchsorted(curve.times, seconds), 0, len(curve.times) - 1))
            label = curve.name.removeprefix("face_").replace("_", " ")
            parts.append(f"{label} {curve.raw[i]:.2f}" if curve.valid[i] else f"{label}: nobody seen")
        return f"{lane.title} at {self.ruler_label(seconds, 0.1)}: {', '.join(parts)} ({scale})"

    def marker_text(self, index: int) -> str:
        """User marker ``index``'s tooltip: name, timecode and comment."""
        marker = self._user_markers[index]
        text = f"{marker.name} at {self.ruler_label(self._marker_origin() + marker.time, 0.1)}"
        return f"{text}\n{marker.comment}" if marker.comment else text

    def _lane_top(self, index: int) -> int:
        return RULER_H + BEATS_H + MARKERS_H + index * CURVE_H

    def _wave_top(self) -> int:
        return self._lane_top(len(LANES))

    def _stem_top(self, index: int) -> int:
        return self._wave_top() + WAVE_H + index * STEM_H

    def _marker_origin(self) -> float:
        return self._in

    def user_marker_x(self, index: int) -> float:
        """Pixel x of user marker ``index`` (tests and hit testing use it)."""
        return self.time_to_x(self._marker_origin() + self._user_markers[index].time)

    def _user_marker_at(self, x: float) -> int:
        best, best_dx = -1, GRAB_PX + 1.0
        for i in range(len(self._user_markers)):
            dx = abs(self.user_marker_x(i) - x)
            if dx <= best_dx:
                best, best_dx = i, dx
        return best

    def _clamped(self, seconds: float) -> float:
        return min(max(seconds, 0.0), self._duration)

    # ------------------------------------------------------------------ painting

    def _invalidate(self) -> None:
        """Data, view or size changed: redraw the cached layers on the next paint."""
        self._layers = None
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._layers = None

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Everything but the playhead is drawn once into a pixmap; playback only moves the playhead."""
        ratio = self.devicePixelRatioF()
        if self._layers is None or self._layers.size() != self.size() * ratio:
            self._layers = QPixmap(self.size() * ratio)
            self._layers.setDevicePixelRatio(ratio)
            layers = QPainter(self._layers)
            self._paint_layers(layers)
            layers.end()
        p = QPainter(self)
        p.drawPixmap(event.rect(), self._layers, QRectF(event.rect().topLeft() * ratio,
                                                         event.rect().size() * ratio).toRect())
        self._paint_meters(p)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._paint_playhead(p)
        p.end()

    def _paint_layers(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), QColor(COLORS["lane"]))
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() - 1.5, 6.5))
        p.setFont(small)
        self._paint_range(p)
        self._paint_ruler(p)
        self._paint_beats(p)
        for i, lane in enumerate(LANES):
            self._paint_lane(p, i, lane)
        self._paint_waveform(p)
        self._paint_stems(p)
        self._paint_markers(p)
        self._paint_headers(p)

    def _paint_headers(self, p: QPainter) -> None:
        p.fillRect(QRectF(0, 0, HEADER_W, self.height()), QColor("#202126"))
        p.setPen(QColor(DIM_TEXT))
        bars = self.tempo_label()
        ruler = "Bars" if self._ruler == "bars" and self._tempo is not None else "Time"
        rows = [(0, RULER_H, ruler), (RULER_H, BEATS_H, bars), (RULER_H + BEATS_H, MARKERS_H, "Markers")]
        rows += [(self._lane_top(i), CURVE_H, lane.title) for i, lane in enumerate(LANES)]
        rows.append((self._wave_top(), WAVE_H, "Take"))
        rows += [(self._stem_top(i), STEM_H, name) for i, (name, _) in enumerate(self._stems)]
        for top, height, title in rows:
            p.drawText(QRectF(6, top, HEADER_W - 8, height), Qt.AlignmentFlag.AlignVCenter, title)
            p.setPen(QColor(COLORS["grid"]))
            p.drawLine(0, top + height, self.width(), top + height)
            p.setPen(QColor(DIM_TEXT))
        for i, lane in enumerate(LANES):
            p.fillRect(QRectF(0, self._lane_top(i) + 4, 3, CURVE_H - 8), color(lane.color_key))

    def _paint_range(self, p: QPainter) -> None:
        if self._duration <= 0:
            return
        top = RULER_H
        x_in, x_out = self.time_to_x(self._in), self.time_to_x(self._out)
        shade = QColor(0, 0, 0, 110)
        p.fillRect(QRectF(HEADER_W, top, max(x_in - HEADER_W, 0), self.height() - top), shade)
        p.fillRect(QRectF(x_out, top, max(self.width() - x_out, 0), self.height() - top), shade)
        p.setPen(QPen(color("inout"), 2))
        for x in (x_in, x_out):
            p.drawLine(QPointF(x, 0), QPointF(x, RULER_H))
        p.fillRect(QRectF(x_in, RULER_H - 4, max(x_out - x_in, 0), 4), color("inout"))

    def _paint_ruler(self, p: QPainter) -> None:
        t0, t1 = self._view
        if t1 <= t0:
            return
        if self._ruler == "bars" and self._tempo is not None and self._take_duration > 0:
            self._paint_bars_ruler(p)
            return
        step = tick_step((t1 - t0) / self._plot_width(), 70.0 if self._tc is None else 100.0)
        p.setPen(QColor(TEXT))
        for t in ticks(t0, min(t1, self._duration), step):
            x = self.time_to_x(t)
            p.drawLine(QPointF(x, RULER_H - 8), QPointF(x, RULER_H - 4))
            p.drawText(QPointF(x + 3, RULER_H - 9), self.ruler_label(t, step))

    def tempo_label(self) -> str:
        """The beats lane's header: the take's main tempo and the meter at bar 1 (``"130 bpm 4/4"``), the
        meter its bar lines use, not the lead-in's or the short pickup bar's before it; ``"Bars"`` without a take."""
        if self._tempo is None:
            return "Bars"
        meter = self._tempo.meter_at(self._tempo.anchor)
        return f"{self._main_bpm():.0f} bpm {meter.numerator}/{meter.denominator}"

    def _main_bpm(self) -> float:
        """The tempo most of the take's beats are played at (:meth:`TempoMap.held_bpm`)."""
        return self._tempo.held_bpm(self._take_duration)

    def bar_ticks(self) -> list[tuple[float, str]]:
        """The bars ruler's ticks: (video time, label) at every bar (``"5"``), and at every beat (``"5.3"``)
        when beats are at least 40 px apart; only the bars a label fits under are labelled."""
        if self._tempo is None or self._take_duration <= 0:
            return []
        beats = self._tempo.beat_times(self._take_duration)
        bars = self._tempo.downbeat_times(self._take_duration)
        px_per_s = self._plot_width() / max(self._view[1] - self._view[0], 1e-9)
        beat_px = px_per_s * 60.0 / self._main_bpm()
        bar_px = beat_px * max(self._tempo.meter_at(self._tempo.anchor).numerator, 1)
        every = max(1, int(math.ceil(48.0 / max(bar_px, 1e-3))))
        result: list[tuple[float, str]] = []
        for b in beats:
            bar = int(np.searchsorted(bars, b + 1e-6))  # 1-based: downbeats at or before b
            if bar == 0:
                continue
            beat = int(np.searchsorted(beats, b + 1e-6) - np.searchsorted(beats, bars[bar - 1] - 1e-6))
            if beat == 1 and (bar - 1) % every == 0:
                result.append((self._take_start + float(b), str(bar)))
            elif beat > 1 and beat_px >= 40:
                result.append((self._take_start + float(b), f"{bar}.{beat}"))
        return result

    def _paint_bars_ruler(self, p: QPainter) -> None:
        t0, t1 = self._view
        p.setPen(QColor(TEXT))
        for t, label in self.bar_ticks():
            if t0 <= t <= t1:
                x = self.time_to_x(t)
                p.drawLine(QPointF(x, RULER_H - 8), QPointF(x, RULER_H - 4))
                p.drawText(QPointF(x + 3, RULER_H - 9), label)

    def ruler_label(self, seconds: float, step: float = 1.0) -> str:
        """The ruler's label at video time ``seconds``: source timecode when set, else m:ss."""
        if self._tc is not None:
            return format_timecode(self._tc[0] + seconds, self._tc[1])
        return format_clock(seconds, decimals=1 if step < 1 else 0)

    def _paint_beats(self, p: QPainter) -> None:
        if self._tempo is None or self._take_duration <= 0:
            return
        top = RULER_H
        end = self._take_duration
        beats = self._tempo.beat_times(end)
        bars = self._tempo.downbeat_times(end)
        px_per_beat = (self.time_to_x(self._take_start + 60.0 / self._tempo.bpm_at(0))
                       - self.time_to_x(self._take_start))
        wave_bottom = self._stem_top(len(self._stems))
        if px_per_beat >= 4:
            p.setPen(QPen(color("beat"), 1))
            for b in beats:
                x = self.time_to_x(self._take_start + b)
                p.drawLine(QPointF(x, top + BEATS_H - 5), QPointF(x, top + BEATS_H))
                p.drawLine(QPointF(x, self._wave_top()), QPointF(x, wave_bottom))
        label_every = max(1, int(np.ceil(28.0 / max(px_per_beat * 4, 1e-3))))
        for number, b in enumerate(bars, start=1):
            x = self.time_to_x(self._take_start + b)
            p.setPen(QPen(color("bar"), 1))
            p.drawLine(QPointF(x, top + 2), QPointF(x, top + BEATS_H))
            p.drawLine(QPointF(x, self._wave_top()), QPointF(x, wave_bottom))
            if (number - 1) % label_every == 0:
                p.setPen(QColor(TEXT))
                p.drawText(QPointF(x + 3, top + BEATS_H - 5), str(number))

    def _paint_lane(self, p: QPainter, index: int, lane: CurveLane) -> None:
        top = self._lane_top(index) + 4
        height = CURVE_H - 8
        if lane.value_range is not None and lane.value_range[0] < 0 < lane.value_range[1]:
            zero = top + height * lane.value_range[1] / (lane.value_range[1] - lane.value_range[0])
            p.setPen(QPen(color("grid"), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(HEADER_W, zero), QPointF(self.width(), zero))
        base = color(lane.color_key)
        for k, curve in enumerate(self._curves.get(lane.title, [])):
            if k == 0:
                self._paint_missing(p, curve, top, height)
            pen_color = QColor(base) if k == 0 else QColor(base.lighter(140))
            if k:
                pen_color.setAlpha(150)
            # hairline pens only: an antialiased pen wider than 1 px goes through Qt's stroker, ten times slower;
            # the main curve is drawn twice, 0.6 px apart, to look bold
            p.setPen(QPen(pen_color, 1.0))
            for line in self._curve_polylines(curve, top, height):
                p.drawPolyline(line)
                if k == 0:
                    p.drawPolyline(line.translated(0.0, 0.6))

    def _visible_slice(self, times: np.ndarray) -> slice:
        t0, t1 = self._view
        i0 = max(int(np.searchsorted(times, t0)) - 1, 0)
        i1 = min(int(np.searchsorted(times, t1)) + 1, len(times))
        return slice(i0, i1)

    def _curve_polylines(self, curve: _Curve, top: float, height: float) -> list[QPolygonF]:
        """The curve as one polyline per run of valid values, about one point per pixel."""
        sl = self._visible_slice(curve.times)
        step = max(1, (sl.stop - sl.start) // max(int(self._plot_width()), 1))
        times, values, valid = curve.times[sl][::step], curve.values[sl][::step], curve.valid[sl][::step]
        t0, t1 = self._view
        xs = HEADER_W + (times - t0) / max(t1 - t0, 1e-9) * self._plot_width()
        ys = top + height * (1.0 - values)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], valid.astype(np.int8), [0]))))
        return [polygon(xs[a:b], ys[a:b]) for a, b in zip(edges[::2], edges[1::2], strict=True)]

    def _paint_missing(self, p: QPainter, curve: _Curve, top: float, height: float) -> None:
        if curve.valid.all():
            return
        missing = ~curve.valid
        edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.astype(np.int8), [0]))))
        dt = float(curve.times[1] - curve.times[0]) if len(curve.times) > 1 else 0.0
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            x0 = self.time_to_x(float(curve.times[a]))
            x1 = self.time_to_x(float(curve.times[b - 1]) + dt)
            p.fillRect(QRectF(x0, top, max(x1 - x0, 1), height), QColor(COLORS["missing"]))

    def _paint_waveform(self, p: QPainter) -> None:
        peaks = self._peaks
        top, height = self._wave_top() + 3, WAVE_H - 6
        if peaks is None or len(peaks.low) == 0:
            p.setPen(QColor(DIM_TEXT))
            p.drawText(QRectF(HEADER_W + 8, top, 400, height), Qt.AlignmentFlag.AlignVCenter, self._take_note)
            return
        fill = color("waveform")
        fill.setAlpha(190)
        self._paint_peaks(p, peaks, top, height, fill)

    def _paint_stems(self, p: QPainter) -> None:
        for i, (name, peaks) in enumerate(self._stems):
            if peaks is None or len(peaks.low) == 0:
                continue
            fill = color("waveform").darker(115)
            fill.setAlpha(170 if self._stem_gains.get(name, 1.0) > 0 else 45)
            self._paint_peaks(p, peaks, self._stem_top(i) + 2, STEM_H - 4, fill)

    def _paint_peaks(self, p: QPainter, peaks: Peaks, top: float, height: float, fill: QColor) -> None:
        """A waveform (``peaks`` from the take's start) in the lane from ``top``, one line per pixel column."""
        mid = top + height / 2
        x0 = max(self.time_to_x(self._take_start), HEADER_W)
        x1 = min(self.time_to_x(self._take_start + peaks.duration), self.width())
        if x1 <= x0:
            return
        columns = np.arange(int(x0), int(x1) + 1, dtype=np.float64)
        t0, t1 = self._view
        t_start = t0 + (columns - HEADER_W) / self._plot_width() * (t1 - t0) - self._take_start
        idx = np.clip((t_start / peaks.seconds_per_bucket).astype(int), 0, len(peaks.low) - 1)
        # column k covers buckets idx[k] .. idx[k + 1] - 1 (at least its own); a padded end keeps indices valid
        bounds = np.append(idx, min(int(idx[-1]) + 1, len(peaks.low)))
        high = np.maximum.reduceat(np.append(peaks.high, 0.0), bounds)[:-1]
        low = np.minimum.reduceat(np.append(peaks.low, 0.0), bounds)[:-1]
        scale = height / 2 / max(float(max(np.abs(peaks.low).max(), np.abs(peaks.high).max())), 1e-3)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(QPen(fill, 1))
        # one vertical line per column, as point pairs (top, bottom)
        p.drawLines(polygon(np.repeat(columns, 2), np.column_stack((mid - high * scale, mid - low * scale)).ravel()))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_meters(self, p: QPainter) -> None:
        """Each stem lane's level meter: a bar along the bottom of its header, green, amber from -12 dB, red from -3."""
        for i, (name, _) in enumerate(self._stems):
            rect = QRectF(6, self._stem_top(i) + STEM_H - 8, HEADER_W - 14, 4)
            p.fillRect(rect, QColor("#15161a"))
            fraction = self.meter_fraction(name)
            if fraction <= 0:
                continue
            level = self._levels.get(name, METER_FLOOR_DB)
            p.fillRect(QRectF(rect.left(), rect.top(), rect.width() * fraction, rect.height()),
                       QColor(meter_shade(level)))

    def _paint_markers(self, p: QPainter) -> None:
        top = RULER_H + BEATS_H
        bottom = self.height()
        for marker in self._analysis_markers:
            x = self.time_to_x(self._analysis_start + marker.time)
            self._marker_line(p, x, color("hit"), top, bottom, 70)
            p.setBrush(color("hit"))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawPolygon(QPolygonF([QPointF(x - 4, top + 3), QPointF(x + 4, top + 3), QPointF(x, top + 10)]))
        for marker in self._take_markers:
            if marker.kind != "section":
                continue
            x = self.time_to_x(self._take_start + marker.time)
            self._marker_line(p, x, color("section"), top, bottom, 110)
            p.setPen(color("section"))
            p.drawText(QPointF(x + 3, top + MARKERS_H - 4), marker.name)
        for i, marker in enumerate(self._user_markers):
            time = self._drag[2] if self._drag and self._drag[0] == "marker" and self._drag[1] == i else marker.time
            x = self.time_to_x(self._marker_origin() + time)
            c = QColor(marker.color) if marker.color else color("user")
            selected = i == self._selected
            self._marker_line(p, x, c, top, bottom, 230 if selected else 140, 2 if selected else 1)
            label = f"{marker.name} ✎" if marker.comment else marker.name  # the pencil: it has a comment
            flag = QRectF(x, top + 2, max(p.fontMetrics().horizontalAdvance(label) + 8, 10), 13)
            p.fillRect(flag, c if selected else c.darker(150))
            p.setPen(QColor("#10141a") if selected else QColor(TEXT))
            p.drawText(flag.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, label)

    @staticmethod
    def _marker_line(p: QPainter, x: float, c: QColor, top: float, bottom: float, alpha: int,
                     width: float = 1.0) -> None:
        line = QColor(c)
        line.setAlpha(alpha)
        p.setPen(QPen(line, width))
        p.drawLine(QPointF(x, top), QPointF(x, bottom))

    def _paint_playhead(self, p: QPainter) -> None:
        if self._duration <= 0:
            return
        x = self.time_to_x(self._position)
        p.setPen(QPen(color("playhead"), 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setBrush(color("playhead"))
        p.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 7)]))

    # ------------------------------------------------------------------ interaction

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        x = event.position().x()
        if x < HEADER_W or self._duration <= 0:
            return
        if event.button() == Qt.MouseButton.RightButton:
            self._context_menu(event)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._user_marker_at(x)
        if hit >= 0:
            self.select_marker(hit)
            self._drag = ("marker", hit, self._user_markers[hit].time)
        else:
            self._drag = ("scrub", -1, 0.0)
            self.seekRequested.emit(self._clamped(self.x_to_time(x)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        x = event.position().x()
        if self._drag is None:
            marker = self._user_marker_at(x) if x >= HEADER_W else -1
            self.setCursor(Qt.CursorShape.SizeHorCursor if marker >= 0 else Qt.CursorShape.ArrowCursor)
            text = self.marker_text(marker) if marker >= 0 and event.position().y() < RULER_H + BEATS_H + MARKERS_H \
                else self.value_text(x, event.position().y())
            self.setToolTip(text or "")
            return
        kind, index, _ = self._drag
        if kind == "marker":
            music = self.snap(self.x_to_time(x)) - self._marker_origin()
            self._drag = (kind, index, music)
            self._invalidate()
        else:
            self.seekRequested.emit(self._clamped(self.x_to_time(x)))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        drag, self._drag = self._drag, None
        if drag is None or drag[0] != "marker":
            return
        _, index, music = drag
        if abs(music - self._user_markers[index].time) > 1e-6:
            self.markerMoved.emit(index, float(music))
        self._invalidate()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        x = event.position().x()
        if x < HEADER_W:
            return
        hit = self._user_marker_at(x)
        if hit >= 0:
            self.markerRenameRequested.emit(hit)
        else:
            self.markerAddRequested.emit(self.snap(self.x_to_time(x)) - self._marker_origin())

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._selected >= 0:
            self.markerDeleteRequested.emit(self._selected)
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        if self._duration <= 0:
            return
        t0, t1 = self._view
        steps = event.angleDelta().y() / 120.0
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(0.8**steps, self.x_to_time(event.position().x()))
        else:
            shift = -steps * (t1 - t0) * 0.1
            self.set_view(t0 + shift, t1 + shift)

    def _context_menu(self, event: QMouseEvent) -> None:
        x = event.position().x()
        video_time = self._clamped(self.x_to_time(x))
        menu = QMenu(self)
        hit = self._user_marker_at(x)
        if hit >= 0:
            self.select_marker(hit)
            rename = QAction("Rename marker…", menu)
            rename.triggered.connect(lambda: self.markerRenameRequested.emit(hit))
            comment = QAction("Comment…", menu)
            comment.triggered.connect(lambda: self.markerCommentRequested.emit(hit))
            delete = QAction("Delete marker", menu)
            delete.triggered.connect(lambda: self.markerDeleteRequested.emit(hit))
            menu.addActions([rename, comment, delete])
            colours = menu.addMenu("Colour")
            for label, value in MARKER_COLOURS:
                action = colours.addAction(label)
                action.triggered.connect(lambda _c=False, v=value: self.markerRecolorRequested.emit(hit, v))
        else:
            add = QAction("Add marker here", menu)
            add.triggered.connect(lambda: self.markerAddRequested.emit(video_time - self._marker_origin()))
            menu.addAction(add)
        menu.addSeparator()
        set_in = QAction("Set in point here", menu)
        set_in.triggered.connect(lambda: self.inPointRequested.emit(video_time))
        set_out = QAction("Set out point here", menu)
        set_out.triggered.connect(lambda: self.outPointRequested.emit(video_time))
        menu.addActions([set_in, set_out])
        menu.popup(event.globalPosition().toPoint())
