"""The scoring pipeline on a generated clip with the procedural engine: stages, progress, the
analysis cache, takes written whole, and a cancelled or failing stage that loses nothing."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from expotion_engine.errors import Cancelled, EngineError, ExportError, PresetError
from expotion_engine.types import Stem, Take, TempoMap
from studio.demo.scenarios import Clip
from studio.pipeline import (
    STAGE_WEIGHTS,
    analyze_session,
    commit_take,
    export_take,
    finish_take,
    run_pipeline,
)
from studio.session import Session

RATE = 48000
IN, OUT = 0.5, 3.0


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> content hash)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A module folder with the analysis cache switched to it."""
    folder = tmp_path_factory.mktemp("pipeline")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        yield folder


@pytest.fixture(scope="module")
def scored(workspace: Path, face_clip: Clip) -> tuple[Session, object, list[tuple[float, str]]]:
    """A saved session on a copy of the face clip (0.5-3.0 s), analysed once, then run through every stage."""
    project = workspace / "project"
    project.mkdir()
    shutil.copy(face_clip.path, project / "clip.mp4")
    session = Session.for_video(project / "clip.mp4", video_in=IN, video_out=OUT, preset="documentary", seed=5,
                                timecode_start=3600.0)
    session.add_marker(1.0, "client cue", "cue")
    session.save(project / "clip.expotion")
    analyze_session(session)  # fills the cache: the pipeline's own analysis must come from it
    reports: list[tuple[float, str]] = []
    result = run_pipeline(session, export_dir=project / "delivery", formats=["audio", "midi"],
                          progress=lambda f, m: reports.append((f, m)))
    return session, result, reports


def test_end_to_end_writes_a_whole_take_and_saves_the_session(scored) -> None:
    session, result, _ = scored
    record = result.record
    assert record.folder == session.takes_dir / record.id
    mix, rate = sf.read(record.folder / "mix.wav", always_2d=True)
    assert rate == RATE
    assert mix.shape[0] == round((OUT - IN) * RATE)
    stems = sorted(p.name for p in (record.folder / "stems").glob("*.wav"))
    assert stems == sorted(f"{s.name}.wav" for s in result.take.stems) and len(stems) >= 4
    for name in stems:
        assert sf.info(record.folder / "stems" / name).frames == mix.shape[0]
    assert not list(record.folder.parent.glob(".*partial*"))

    loaded = Session.load(session.path)
    assert loaded.chosen_take == record.id
    assert loaded.chosen_take_folder() == record.folder
    assert (loaded.take(record.id).seed, loaded.take(record.id).preset) == (5, "documentary")
    assert loaded.take(record.id).params["video_in"] == pytest.approx(IN)
    assert Take.load(loaded.chosen_take_folder()).n_samples == mix.shape[0]
    # the user's cue reached the engine
    assert [c["name"] for c in result.take.request["cues"]] == ["client cue"]


def test_delivery_is_written_at_the_sessions_rate(scored) -> None:
    session, result, _ = scored
    delivery = session.path.parent / "delivery"
    assert {p.name for p in result.exported} >= {"clip_mix.wav", "clip.mid"}
    assert all(delivery in p.parents for p in result.exported)
    info = sf.info(delivery / "clip_mix.wav")
    assert (info.samplerate, info.frames) == (RATE, round((OUT - IN) * RATE))


def test_one_progress_for_every_stage(scored) -> None:
    _, _, reports = scored
    fractions = [f for f, _ in reports]
    assert all(b >= a - 1e-9 for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[-1] == 1.0
    stages = list(dict.fromkeys(m.split(":")[0] for _, m in reports[:-1]))
    assert stages == list(STAGE_WEIGHTS)
    assert any(m == "analyse: analysis loaded from cache" for _, m in reports)
    export_start = min(f for f, m in reports if m.startswith("export"))
    assert export_start == pytest.approx(1.0 - STAGE_WEIGHTS["export"], abs=1e-6)


def test_cancel_in_the_middle_keeps_the_session_and_earlier_takes(scored) -> None:
    session, _, _ = scored
    project = session.path.parent
    before_files, before_takes = tree(project), list(session.takes)
    cancel = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if message.startswith("generate") and fraction > 0.45:
            cancel.set()

    with pytest.raises(Cancelled):
        run_pipeline(session, export_dir=project / "delivery2", progress=progress, cancel=cancel)
    assert cancel.is_set()
    assert tree(project) == before_files
    assert session.takes == before_takes
    assert not (project / "delivery2").exists()


def test_a_delivery_that_cannot_be_written_fails_before_anything_changes(scored) -> None:
    session, _, _ = scored
    project = session.path.parent
    before = tree(project)
    blocker = project / "not_a_folder"
    blocker.write_text("a file where the delivery folder should go")
    with pytest.raises(ExportError, match="not_a_folder"):
        run_pipeline(session, export_dir=blocker, formats=["audio"])
    blocker.unlink()
    assert tree(project) == before and len(session.takes) == 1  # no new take, the session file as it was


def test_a_failing_export_keeps_the_session_and_every_take(scored, monkeypatch: pytest.MonkeyPatch) -> None:
    session, _, _ = scored
    project = session.path.parent
    old_take = tree(session.chosen_take_folder())

    def broken(job: object, folder: object) -> list[Path]:
        raise OSError(28, "No space left on device")  # fails while writing, after every check passed

    monkeypatch.setattr("studio.export.bwf.write_audio", broken)
    with pytest.raises(ExportError, match="The audio export failed"):
        run_pipeline(session, export_dir=project / "failing", formats=["audio"])
    loaded = Session.load(session.path)
    assert len(loaded.takes) == 2
    first, second = loaded.takes
    assert tree(first.folder) == old_take
    assert Take.load(second.folder).n_samples == round((OUT - IN) * RATE)
    assert not (project / "failing").exists()


def test_a_bad_preset_fails_before_anything_changes(scored, tmp_path: Path) -> None:
    session, _, _ = scored
    project = session.path.parent
    before = tree(project)
    bad = tmp_path / "broken.toml"
    bad.write_text('name = "broken"\n[tempo]\nmin = "fast"\n')
    session.preset = str(bad)
    try:
        with pytest.raises(PresetError, match="broken.toml"):
            run_pipeline(session)
    finally:
        session.preset = "documentary"
    assert tree(project) == before


def test_export_again_without_generating(scored, tmp_path: Path) -> None:
    session, _, _ = scored
    first = session.takes[0]
    written = export_take(session, tmp_path / "again", take_id=first.id, formats=["markers"])
    assert sorted(p.name for p in written) == ["clip_README.txt", "clip_markers.csv", "clip_markers.txt"]
    csv = (tmp_path / "again" / "clip_markers.csv").read_text()
    assert "client cue" in csv
    with pytest.raises(ExportError, match="already exists"):
        export_take(session, tmp_path / "again", take_id=first.id, formats=["markers"])
    assert export_take(session, tmp_path / "again", take_id=first.id, formats=["markers"], force=True)


@pytest.mark.slow
def test_finish_take_fits_the_length_and_separates_a_bare_mix() -> None:
    rng = np.random.default_rng(3)
    n = RATE  # one second
    mix = (0.1 * rng.standard_normal((2, n - 300))).astype(np.float32)
    bare = Take(engine="test", sample_rate=RATE, mix=mix, stems=(), tempo_map=TempoMap.constant(120.0),
                markers=(), request={}, seed=0)
    finished = finish_take(bare, n)
    assert finished.n_samples == n
    assert finished.stems and all(s.audio.shape[1] == n for s in finished.stems)
    assert all(s.origin != "rendered" for s in finished.stems)
    np.testing.assert_array_equal(finished.mix[:, : n - 300], mix)
    with pytest.raises(EngineError, match="test engine returned"):
        finish_take(bare, 2 * n)


def test_a_take_that_cannot_be_written_leaves_no_folder(tmp_path: Path) -> None:
    audio = np.zeros((2, 480), np.float32)
    take = Take(engine="test", sample_rate=RATE, mix=audio, stems=(Stem("ok", audio), Stem("bad\0name", audio)),
                tempo_map=TempoMap.constant(120.0), markers=(), request={}, seed=0)
    with pytest.raises(ValueError):
        commit_take(take, tmp_path / "takes" / "take-001")
    assert list((tmp_path / "takes").iterdir()) == []
    good = Take(engine="test", sample_rate=RATE, mix=audio, stems=(Stem("ok", audio),),
                tempo_map=TempoMap.constant(120.0), markers=(), request={}, seed=0)
    folder = commit_take(good, tmp_path / "takes" / "take-001")
    assert sorted(tree(folder)) == ["mix.wav", "stems/ok.wav", "take.json"]


def test_a_take_rendered_in_memory_makes_no_staging_folder_a_killed_run_could_leave(scored) -> None:
    session, _, _ = scored
    project = session.path.parent
    hidden_while_generating: list[list[str]] = []

    def progress(fraction: float, message: str) -> None:
        if message.startswith("generate"):
            hidden_while_generating.append(sorted(p.name for p in project.rglob(".*.partial")))

    run_pipeline(session, export_dir=project / "delivery3", formats=["audio"], progress=progress)
    assert hidden_while_generating and all(names == [] for names in hidden_while_generating)
