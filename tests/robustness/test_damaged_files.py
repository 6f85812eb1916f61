"""Damaged files the project or a user wrote: one ExpotionError sentence naming the file, never a traceback or a hang.

Covers issue 13 items 7 (a damaged analysis-cache archive is discarded and analysed again)
and 8 (takes, sessions and deeply nested JSON).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pytest

import studio.analysis as studio_analysis
from expotion_engine.errors import AudioError, ControlError, PresetError, SessionError
from expotion_engine.types import ControlTrack, Note, Stem, Take, TempoMap
from expotion_engine.vision import AnalysisSettings
from studio.presets import read_preset
from studio.session import Session
from tests.factories import make_control_track

RATE = 8000


def _take(folder: Path) -> Path:
    """A small real take on disk: 0.5 s stereo mix and one stem with two notes."""
    n = RATE // 2
    t = np.arange(n) / RATE
    tone = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    audio = np.stack([tone, tone])
    stem = Stem("pad", audio, notes=(Note(57, 0.0, 0.2, 90), Note(60, 0.2, 0.4, 80)))
    take = Take(engine="procedural", sample_rate=RATE, mix=audio, stems=(stem,),
                tempo_map=TempoMap.constant(120.0), markers=(), request={"prompt": "x"}, seed=3)
    return take.save(folder)


def _edit(folder: Path, change) -> None:
    meta = json.loads((folder / "take.json").read_text())
    change(meta)
    (folder / "take.json").write_text(json.dumps(meta))


def _write_short_stem(folder: Path) -> None:
    import soundfile as sf

    sf.write(folder / "stems" / "pad.wav", np.zeros((100, 2), np.float32), RATE, subtype="FLOAT")


TAKE_DAMAGE = {
    "missing engine": lambda f: _edit(f, lambda m: m.pop("engine")),
    "missing tempo map": lambda f: _edit(f, lambda m: m.pop("tempo_map")),
    "zero sample rate": lambda f: _edit(f, lambda m: m.update(sample_rate=0)),
    "text sample rate": lambda f: _edit(f, lambda m: m.update(sample_rate="fast")),
    "empty tempo map": lambda f: _edit(f, lambda m: m.update(tempo_map={"tempos": []})),
    "pitch 300": lambda f: _edit(f, lambda m: m["stems"][0]["notes"][0].update(pitch=300)),
    "stems not a list of objects": lambda f: _edit(f, lambda m: m.update(stems=[1, 2])),
    "stem file outside the take": lambda f: _edit(f, lambda m: m["stems"][0].update(file="../../x.wav")),
    "stem file an absolute path": lambda f: _edit(f, lambda m: m["stems"][0].update(file=str(f / "mix.wav"))),
    "stem shorter than the mix": _write_short_stem,
    "mix not audio": lambda f: (f / "mix.wav").write_bytes(b"RIFF\x00\x00garbage"),
    "mix missing": lambda f: (f / "mix.wav").unlink(),
    "take.json not JSON": lambda f: (f / "take.json").write_text("{\"format\": "),
    "take.json nested 100 000 deep": lambda f: (f / "take.json").write_text("[" * 100_000 + "]" * 100_000),
}


def test_an_intact_take_loads(tmp_path) -> None:
    take = Take.load(_take(tmp_path / "take"))
    assert take.sample_rate == RATE and take.stems[0].notes[1].pitch == 60


@pytest.mark.parametrize("damage", TAKE_DAMAGE)
def test_a_damaged_take_is_one_sentence_naming_the_file(damage, tmp_path) -> None:
    folder = _take(tmp_path / "take")
    TAKE_DAMAGE[damage](folder)
    with pytest.raises(AudioError) as caught:
        Take.load(folder)
    message = str(caught.value)
    assert str(folder) in message and "\n" not in message and len(message) < 400, message


def _session(tmp_path: Path) -> Path:
    path = tmp_path / "film.expotion"
    Session().save(path)
    return path


def test_a_session_nested_100000_deep_is_one_sentence(tmp_path) -> None:
    path = _session(tmp_path)
    path.write_text("{\"a\": " * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(SessionError, match="too deeply"):
        Session.load(path)


def _read_fifo(tmp_path: Path, name: str, reader) -> BaseException | None:
    """Call ``reader`` on a new FIFO in a thread; fail if it blocks, else return what it raised."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("this platform has no FIFOs")
    fifo = tmp_path / name
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            reader(fifo)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        with open(fifo, "w"):  # unblock the reader so the thread can end
            pass
        pytest.fail(f"reading the FIFO {name} hung")
    return outcome[0]


def test_a_session_path_that_is_a_fifo_is_refused_without_hanging(tmp_path) -> None:
    error = _read_fifo(tmp_path, "film.expotion", Session.load)
    assert isinstance(error, SessionError), error
    assert "film.expotion" in str(error) and "not a regular file" in str(error)


def test_a_session_path_that_is_a_folder_is_named_in_one_sentence(tmp_path, capsys) -> None:
    from studio.cli import main

    folder = tmp_path / "film.expotion"
    folder.mkdir()
    with pytest.raises(SessionError, match="not a regular file") as caught:
        Session.load(folder)
    assert str(folder) in str(caught.value)
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: not a regular file" in err and "\n" not in err.strip(), err


def test_a_session_that_is_not_utf8_is_one_sentence(tmp_path) -> None:
    path = _session(tmp_path)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(SessionError, match="not UTF-8"):
        Session.load(path)


ARCHIVE_DAMAGE = {
    "zip header, garbage body": lambda p: p.write_bytes(b"PK\x03\x04" + b"garbage" * 40),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "wrong keys": lambda p: np.savez(p, other=np.zeros(3)),
    "sidecar nested": lambda p: p.with_suffix(".json").write_text("[" * 100_000 + "]" * 100_000),
    "sidecar text version": lambda p: p.with_suffix(".json").write_text(
        json.dumps({**json.loads(p.with_suffix(".json").read_text()), "version": "one"})),
}


@pytest.mark.parametrize("damage", ARCHIVE_DAMAGE)
def test_a_damaged_control_track_is_a_control_error(damage, tmp_path) -> None:
    path = make_control_track(duration=2.0).save(tmp_path / "controls.npz")
    ARCHIVE_DAMAGE[damage](path)
    with pytest.raises(ControlError) as caught:
        ControlTrack.load(path)
    assert "controls." in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("damage", ["zip header, garbage body", "truncated", "wrong keys"])
def test_a_damaged_cache_entry_is_discarded_and_analysed_again(damage, face_clip, tmp_path, monkeypatch,
                                                                caplog) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    settings = AnalysisSettings(end=1.0)
    first = studio_analysis.analyze(face_clip.path, settings)
    (entry,) = (tmp_path / "cache" / "analysis").glob("*.npz")
    ARCHIVE_DAMAGE[damage](entry)
    with caplog.at_level(logging.WARNING, logger="studio.analysis"):
        again = studio_analysis.analyze(face_clip.path, settings)
    assert np.array_equal(again.values, first.values) and again.markers == first.markers
    assert any("damaged analysis cache entry" in r.getMessage() for r in caplog.records)
    assert np.array_equal(ControlTrack.load(entry).values, first.values), "the entry is rewritten whole"



def test_a_preset_nested_100000_deep_is_one_sentence(tmp_path) -> None:
    preset = tmp_path / "deep.toml"
    preset.write_text("prompt = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(PresetError, match="too deeply") as caught:
        read_preset(preset)
    assert str(preset) in str(caught.value)


def test_a_preset_that_is_a_fifo_is_refused_without_hanging(tmp_path) -> None:
    error = _read_fifo(tmp_path, "live.toml", read_preset)
    assert isinstance(error, PresetError) and "not a regular file" in str(error), error


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, '{"format": "expotion.take", "version": "1"}'])
def test_expotion_clock_on_a_damaged_take_is_one_sentence(content, tmp_path, capsys) -> None:
    from studio.cli import main

    path = tmp_path / "take.json"
    path.write_text(content)
    assert main(["clock", str(path), "--virtual"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "take.json" in lines[0] and "Traceback" not in lines[0], lines
