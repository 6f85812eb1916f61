"""Parts played by a VST3/AU plugin: one clear error for a missing or broken plugin, exact MIDI for a working one."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from expotion_engine.engines.procedural.render import render_score
from expotion_engine.engines.procedural.render.plugin import midi_messages
from expotion_engine.engines.procedural.score import Part
from expotion_engine.errors import EngineError
from expotion_engine.types import Note


@pytest.fixture(autouse=True)
def _approve_tmp_path(tmp_path, monkeypatch):
    """These tests' plugin files live in tmp_path, so it is an approved plugin folder."""
    monkeypatch.setenv("EXPOTION_PLUGIN_PATH", str(tmp_path))


def plugin_part(path: Path | str) -> Part:
    return Part("strings", "strings", (Note(60, 0.0, 0.5, 100),), plugin=str(path))


def test_missing_plugin_is_one_clear_error(tmp_path, make_score):
    path = tmp_path / "Nowhere.vst3"
    with pytest.raises(EngineError) as err:
        render_score(make_score((plugin_part(path),), 1.0), 48000)
    message = str(err.value)
    assert "'strings'" in message and str(path) in message and "does not exist" in message
    assert "\n" not in message


@pytest.mark.parametrize("make", [lambda p: p.write_text("not a plugin"), lambda p: p.mkdir()])
def test_file_that_is_not_a_plugin_is_one_clear_error(tmp_path, make_score, make):
    path = tmp_path / "Fake.vst3"
    make(path)
    with pytest.raises(EngineError) as err:
        render_score(make_score((plugin_part(path),), 1.0), 48000)
    message = str(err.value)
    assert "'strings'" in message and str(path) in message and "could not be loaded" in message
    assert "\n" not in message


def test_a_broken_plugin_stops_the_render_before_any_other_part(tmp_path, make_score, groove):
    path = tmp_path / "Fake.vst3"
    path.write_text("not a plugin")
    parts = (*groove(2.0), plugin_part(path))
    seen: list[str] = []
    with pytest.raises(EngineError, match="Fake.vst3"):
        render_score(make_score(parts, 2.0), 48000, progress=lambda f, m: seen.append(m))
    assert seen == []  # nothing rendered, and no built-in strings stood in


def test_midi_messages_are_the_notes_in_time_order():
    notes = (Note(64, 0.5, 1.0, 90, 2, 40), Note(60, 0.0, 0.5, 100, 2, 40), Note(67, 0.5, 0.75, 70, 2, 40))
    messages = midi_messages(Part("strings", "strings", notes))
    parsed = [(mido.Message.from_bytes(list(raw)), time) for raw, time in messages]
    assert parsed[0][0].type == "program_change" and parsed[0][0].program == 40
    times = [time for _, time in parsed]
    assert times == sorted(times)
    at_half = [m for m, t in parsed if t == 0.5]
    assert [m.type for m in at_half] == ["note_off", "note_on", "note_on"]  # the old note ends before new ones
    ons = [(m.note, m.velocity, m.channel, t) for m, t in parsed if m.type == "note_on"]
    assert ons == [(60, 100, 2, 0.0), (64, 90, 2, 0.5), (67, 70, 2, 0.5)]
    offs = sorted((m.note, t) for m, t in parsed if m.type == "note_off")
    assert offs == [(60, 0.5), (64, 1.0), (67, 0.75)]
