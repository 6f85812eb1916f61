"""The timeline's stem lanes (waveform, level meter at the playhead, dimmed when silenced) and its bars ruler."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from ui.mixdown import METER_FLOOR_DB, stem_levels
from ui.timeline import HEADER_W, STEM_H

pytestmark = pytest.mark.slow


def lane_pixels(window, index: int) -> np.ndarray:
    """The plot area of stem lane ``index`` as an (h, w) brightness array."""
    timeline = window.timeline
    image = timeline.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    ratio = image.width() / timeline.width()
    data = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    top = int((timeline._stem_top(index) + 3) * ratio)
    return data[top: top + int((STEM_H - 6) * ratio), int((HEADER_W + 2) * ratio): int(image.width() - 2)]


def loudest_moment(take, name: str) -> float:
    """The music time (s) where stem ``name`` peaks."""
    stem = next(s for s in take.stems if s.name == name)
    return float(np.abs(stem.audio).max(axis=0).argmax()) / take.sample_rate


def test_one_lane_per_stem_with_its_waveform_and_a_meter(loaded, qtbot) -> None:
    window = loaded
    take = window.take_audio.take
    names = [s.name for s in take.stems]
    qtbot.waitUntil(lambda: window.stem_peaks.get(window.session.chosen_take) is not None, timeout=20_000)
    window._show_current_take()
    timeline = window.timeline
    assert timeline.stem_names() == names == window.takes_panel.mixer.stem_names()
    assert timeline.height() >= timeline._stem_top(len(names))
    for i in range(len(names)):
        assert (lane_pixels(window, i) > 90).mean() > 0.01  # a waveform is drawn in every lane

    # the meters show the mixer's levels at the playhead
    name = names[0]
    at = loudest_moment(take, name)
    window.transport.seek(window.session.video_in + at)
    expected = stem_levels(take, window.takes_panel.mixer.state, at)[name]
    assert expected > METER_FLOOR_DB
    assert timeline.meter_fraction(name) == pytest.approx((expected - METER_FLOOR_DB) / -METER_FLOOR_DB)
    assert f"{name} stem; level at the playhead {expected:.1f} dBFS" == timeline.value_text(
        HEADER_W + 20, timeline._stem_top(0) + STEM_H / 2)

    # muted: the meter drops to the floor and the lane is drawn dimmer
    bright = lane_pixels(window, 0).astype(float).mean()
    window.side.setCurrentWidget(window.takes_panel)
    qtbot.mouseClick(window.takes_panel.mixer.mute_button(name), Qt.MouseButton.LeftButton)
    assert timeline.meter_fraction(name) == 0.0
    assert lane_pixels(window, 0).astype(float).mean() < bright
    assert "silent in the mix" in timeline.value_text(HEADER_W + 20, timeline._stem_top(0) + STEM_H / 2)


def test_the_ruler_counts_bars_and_beats_and_is_remembered(loaded, tmp_path) -> None:
    window = loaded
    take = window.take_audio.take
    timeline = window.timeline
    assert timeline.ruler == "timecode" and not window.act_bars_ruler.isChecked()
    window.act_bars_ruler.trigger()
    assert timeline.ruler == "bars"
    start = timeline._take_start
    ticks = timeline.bar_ticks()
    bars = [(t, label) for t, label in ticks if "." not in label]
    downbeats = take.tempo_map.downbeat_times(take.duration)
    assert bars[0] == (pytest.approx(start + downbeats[0]), "1")
    assert all(t == pytest.approx(start + downbeats[int(label) - 1]) for t, label in bars)
    timeline.set_view(start, start + 60.0 / take.tempo_map.bpm_at(0.0) * 8)  # two bars: beats are labelled
    labels = [label for _, label in timeline.bar_ticks()]
    assert labels[:4] == ["1", "1.2", "1.3", "1.4"]
    assert window.settings.value("view/ruler") == "bars"

    from ui.main_window import MainWindow

    window.settings.sync()
    other = MainWindow(QSettings(window.settings.fileName(), QSettings.Format.IniFormat), autosave_ms=3_600_000)
    try:
        assert other.act_bars_ruler.isChecked() and other.timeline.ruler == "bars"
    finally:
        other.close()
        other.deleteLater()
