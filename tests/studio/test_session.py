"""The session file: round trip of every field, relative paths and relink, clear errors that
lose nothing, migration of version 1 files, autosave and crash recovery."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import fields, replace
from pathlib import Path

import pytest

from expotion_engine.errors import SessionError
from expotion_engine.types import Marker
from expotion_engine.vision import AnalysisSettings
from studio.demo.scenarios import Clip
from studio.session import (
    SESSION_VERSION,
    DeliveryPrefs,
    Session,
    TakeRecord,
    autosave_path,
    find_autosave,
)


@pytest.fixture
def project(tmp_path: Path, face_clip: Clip) -> Path:
    """A project folder holding a copy of the face clip."""
    folder = tmp_path / "project"
    (folder / "media").mkdir(parents=True)
    shutil.copy(face_clip.path, folder / "media" / "clip.mp4")
    return folder


def full_session(project: Path) -> Session:
    """A session with every field set away from its default."""
    session = Session.for_video(
        project / "media" / "clip.mp4",
        title="Interview A",
        video_in=0.5,
        video_out=4.5,
        timecode_start=3600.0,
        preset="cinematic",
        prompt="warm strings, slow",
        engine="musicgen",
        engine_options={"model": "musicgen-small", "top_k": 200},
        seed=1234,
        bpm=96.0,
        analysis=AnalysisSettings(analysis_fps=8.0, control_rate=40.0, smoothing=0.2, hit_threshold=1.3),
        export=DeliveryPrefs(sample_rate=96000, bit_depth=32, formats=("midi", "reaper")),
    )
    session.add_marker(0.75, "client note", "user", "#00cc66")
    session.add_marker(2.25, "swell", "cue")
    for n in (1, 2):
        session.add_take(TakeRecord(
            id=session.next_take_id(), folder=project / "Interview_takes" / f"take-{n:03d}", engine="musicgen",
            seed=1234 + n, prompt="warm strings", preset="cinematic", params={"bpm": 96.0, "sample_rate": 48000},
            created="2026-12-01T20:00:00+00:00", label=f"version {n}",
        ))
    session.choose_take("take-001")
    return session


def test_round_trip_keeps_every_field(project: Path, face_clip: Clip) -> None:
    session = full_session(project)
    assert session.frame_rate == pytest.approx(face_clip.fps)
    path = session.save(project / "Interview.expotion")
    loaded = Session.load(path)
    assert loaded == session
    for f in fields(Session):
        if f.name != "path":
            assert getattr(loaded, f.name) == getattr(session, f.name), f.name
    assert loaded.path == path
    assert loaded.chosen_take_folder() == project / "Interview_takes" / "take-001"
    assert loaded.chosen_take_folder().is_absolute()
    # the analysis range follows the session's in/out points
    assert loaded.analysis_settings().start == 0.5 and loaded.analysis_settings().end == 4.5


def test_media_paths_are_relative_and_survive_moving_the_project(project: Path, tmp_path: Path) -> None:
    full_session(project).save(project / "Interview.expotion")
    data = json.loads((project / "Interview.expotion").read_text())
    assert data["video"]["path"] == "media/clip.mp4"
    assert [t["folder"] for t in data["takes"]] == ["Interview_takes/take-001", "Interview_takes/take-002"]

    moved = tmp_path / "elsewhere" / "renamed_project"
    moved.parent.mkdir()
    shutil.move(project, moved)
    loaded = Session.load(moved / "Interview.expotion")
    assert loaded.video == (moved / "media" / "clip.mp4").resolve()
    assert loaded.video_found
    assert loaded.check_video() == loaded.video
    assert loaded.chosen_take_folder() == (moved / "Interview_takes" / "take-001").resolve()


def test_a_moved_video_is_relinked_only_to_the_same_content(project: Path, tmp_path: Path, no_face_clip: Clip) -> None:
    path = full_session(project).save(project / "Interview.expotion")
    new_home = tmp_path / "archive"
    new_home.mkdir()
    shutil.move(project / "media" / "clip.mp4", new_home / "clip_final.mp4")

    session = Session.load(path)
    assert not session.video_found
    with pytest.raises(SessionError, match="not there any more; relink it"):
        session.check_video()
    with pytest.raises(SessionError, match="is not this session's video"):
        session.relink(no_face_clip.path)
    assert not session.video_found
    session.relink(new_home / "clip_final.mp4")
    assert session.video == (new_home / "clip_final.mp4").resolve()
    session.save()
    assert Session.load(path).video_found


def test_a_changed_video_is_reported(project: Path, no_face_clip: Clip) -> None:
    session = full_session(project)
    shutil.copy(no_face_clip.path, project / "media" / "clip.mp4")
    with pytest.raises(SessionError, match="not the video the session was made for"):
        session.check_video()


CORRUPTIONS = {
    "truncated JSON": (lambda text: text[: len(text) // 2], "corrupted"),
    "not an object": (lambda text: "[1, 2, 3]", "not an Expotion session file"),
    "other format": (lambda text: text.replace("expotion.session", "expotion.take"), "not an Expotion session"),
    "future version": (lambda text: text.replace(f'"version": {SESSION_VERSION}', '"version": 99'),
                       "newer Expotion .*version 99"),
    "wrong type": (lambda text: text.replace('"seed": 1234', '"seed": "1234"'), "field 'seed' must be a whole number"),
    "missing field": (lambda text: text.replace('"prompt": "warm strings, slow",', ""), "field 'prompt' is missing"),
    "bad nested field": (lambda text: text.replace('"frame_rate": 25.0', '"frame_rate": "fast"'),
                         "field 'timecode.frame_rate' must be"),
    "bad marker kind": (lambda text: text.replace('"kind": "cue"', '"kind": "hit"'), r"field 'markers\[1\]'"),
    "bad sample rate": (lambda text: text.replace('"sample_rate": 96000', '"sample_rate": 22050'),
                        "field 'export'.*22050"),
    "unknown engine": (lambda text: text.replace('"name": "musicgen"', '"name": "theremin"'), "Unknown engine"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_bad_files_give_a_clear_error_and_stay_untouched(project: Path, case: str) -> None:
    path = full_session(project).save(project / "Interview.expotion")
    damage, message = CORRUPTIONS[case]
    text = damage(path.read_text())
    assert text != path.read_text()
    path.write_text(text)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    with pytest.raises(SessionError, match=message) as error:
        Session.load(path)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
    assert sorted(p.name for p in project.iterdir()) == ["Interview.expotion", "media"]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="nope.expotion: session file not found"):
        Session.load(tmp_path / "nope.expotion")


def test_version_1_file_loads_and_is_saved_as_the_current_version(project: Path) -> None:
    old = {
        "format": "expotion.session",
        "version": 1,
        "title": "Old project",
        "video": "media/clip.mp4",
        "video_hash": Session.for_video(project / "media" / "clip.mp4").video_hash,
        "in": 1.0,
        "out": 3.0,
        "fps": 24.0,
        "preset": "lo-fi",
        "prompt": "dusty keys",
        "engine": "procedural",
        "seed": 7,
        "bpm": 84,
        "analysis": {"analysis_fps": 5.0},
        "markers": [{"time": 0.5, "name": "look", "kind": "user"}],
        "takes": [{"id": "t1", "folder": "takes/t1", "seed": 7, "prompt": "dusty keys", "created": "2025-01-01"}],
        "chosen_take": "t1",
        "sample_rate": 44100,
    }
    path = project / "old.expotion"
    path.write_text(json.dumps(old))
    session = Session.load(path)
    assert path.read_text() == json.dumps(old)  # reading never rewrites
    assert session.video_found and session.video_hash == old["video_hash"]
    assert (session.video_in, session.video_out, session.frame_rate) == (1.0, 3.0, 24.0)
    assert (session.preset, session.prompt, session.seed, session.bpm) == ("lo-fi", "dusty keys", 7, 84.0)
    assert session.analysis.analysis_fps == 5.0
    assert session.markers == [Marker(0.5, "look", "user")]
    assert session.take("t1").engine == "procedural"
    assert session.chosen_take_folder() == project / "takes" / "t1"
    assert session.export.sample_rate == 44100
    session.save()
    assert json.loads(path.read_text())["version"] == SESSION_VERSION
    assert Session.load(path) == session


def test_autosave_recovery_and_clean_save(project: Path) -> None:
    session = full_session(project)
    path = session.save(project / "Interview.expotion")
    saved = path.read_bytes()
    assert find_autosave(path) is None

    session.prompt = "edited after the last save"
    session.add_marker(3.0, "new idea")
    auto = session.autosave()
    assert auto == autosave_path(path) == project / "Interview.expotion.autosave"
    assert path.read_bytes() == saved  # the session file itself is untouched

    # after a "crash" the autosave is found and holds the unsaved work
    assert find_autosave(path) == auto
    recovered = Session.recover(path)
    assert recovered.path == path
    assert recovered == session
    assert recovered.video_found
    recovered.save()
    assert not auto.exists()
    assert find_autosave(path) is None
    assert Session.load(path).prompt == "edited after the last save"


def test_an_autosave_older_than_the_file_is_not_offered(project: Path) -> None:
    session = full_session(project)
    path = session.save(project / "Interview.expotion")
    auto = session.autosave()
    os.utime(auto, ns=(1, 1))
    assert find_autosave(path) is None


def test_marker_and_take_helpers(project: Path) -> None:
    session = full_session(project)
    index = session.add_marker(1.5, "door slam", "cue")
    session.move_marker(index, 1.75)
    session.rename_marker(index, "door")
    assert session.user_markers[index] == Marker(1.75, "door", "cue")
    assert [m.time for m in session.cues(duration=2.0)] == [0.75, 1.75]
    with pytest.raises(SessionError, match="before the in point"):
        session.move_marker(index, -1.0)
    with pytest.raises(SessionError, match="not 'hit'"):
        session.add_marker(1.0, "x", "hit")
    assert session.remove_marker(index).name == "door"
    with pytest.raises(SessionError, match="no marker 9"):
        session.remove_marker(9)

    assert session.next_take_id() == "take-003"
    session.rename_take("take-002", "the keeper")
    session.choose_take("take-002")
    assert session.chosen().label == "the keeper"
    with pytest.raises(SessionError, match="no take 'take-404'; it has: take-001, take-002"):
        session.choose_take("take-404")
    session.remove_take("take-002")
    assert session.chosen_take == "take-001"


def test_settings_by_name_validate_and_keep_the_old_value(project: Path) -> None:
    session = full_session(project)
    session.set_setting("bpm", 120.0)
    session.set_setting("analysis.smoothing", 0.3)
    assert session.setting("bpm") == 120.0 and session.setting("analysis.smoothing") == 0.3
    with pytest.raises(SessionError, match="Tempo 5000 BPM"):
        session.set_setting("bpm", 5000)
    with pytest.raises(SessionError, match="out point"):
        session.set_setting("video_out", 0.1)
    with pytest.raises(SessionError, match="analysis_fps"):
        session.set_setting("analysis.analysis_fps", 1000.0)
    assert (session.bpm, session.video_out, session.analysis.analysis_fps) == (120.0, 4.5, 8.0)
    with pytest.raises(SessionError, match="Unknown session setting"):
        session.setting("colour")


def test_save_needs_a_path_and_validates(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="give a path"):
        Session().save()
    bad = replace(Session(), seed=-1)
    with pytest.raises(SessionError, match="Seed -1"):
        bad.save(tmp_path / "bad.expotion")
    assert not (tmp_path / "bad.expotion").exists()


def test_new_take_ids_skip_folders_left_on_disk(project: Path) -> None:
    session = full_session(project)
    session.save(project / "Interview.expotion")
    assert session.takes_dir == project / "Interview_takes"
    (session.takes_dir / "take-003").mkdir(parents=True)
    assert session.next_take_id() == "take-004"
