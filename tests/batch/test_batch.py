"""``expotion batch`` on a local Ray (2 CPUs) over short generated clips: whole delivery folders equal to
single-clip ``expotion score``, a broken clip reported while the others finish, re-runs that skip
finished clips, cancelling that leaves no partial folder, and timeline and manifest inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf

from studio.batch.folders import is_complete
from studio.batch.inputs import JobDefaults, read_jobs
from studio.batch.jobs import BatchError, with_defaults
from studio.batch.report import BatchProgress
from studio.batch.runner import BatchOptions, require_ray, run_batch
from studio.cli import main
from studio.demo import scenarios
from studio.export.readback import read_bwf
from studio.lock import LOCK_NAME, FolderBusy, FolderLock
from studio.session import Session
from studio.timecode import parse_frames, parse_rate, to_frame

ray = pytest.importorskip("ray")

SIZE = (160, 120)
FORMATS = ("audio", "midi")
DEFAULTS = JobDefaults(seed=7, formats=FORMATS)
BROKEN = "broken.mp4"
DF = parse_rate("29.97")
SOURCE_TC = "01:00:00;00"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A module folder whose analysis cache every worker and in-process score shares; Ray started once."""
    folder = tmp_path_factory.mktemp("batch")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield folder
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def videos(workspace: Path) -> Path:
    """Four 2.5 s clips at 160x120 and a text file named like a video."""
    folder = workspace / "videos"
    folder.mkdir()
    scenarios.face_clip(folder / "face.mp4", size=SIZE, duration=2.5)
    scenarios.no_face_clip(folder / "disc.mp4", size=SIZE, duration=2.5)
    scenarios.cut_clip(folder / "cut.mp4", size=SIZE, duration=2.5, cut_time=1.2)
    scenarios.black_gap_clip(folder / "gap.mp4", size=SIZE, duration=2.5, gap=(1.0, 1.5))
    (folder / BROKEN).write_text("this is a text file, not a video\n")
    return folder


def options(workspace: Path, out: Path, **values: object) -> BatchOptions:
    return BatchOptions(out, cache_dir=workspace / "cache", **values)


def jobs_of(source: Path) -> list:
    return [with_defaults(job, FORMATS, 48000) for job in read_jobs(source, DEFAULTS)]


def report(out: Path) -> dict[str, dict]:
    return {clip["name"]: clip for clip in json.loads((out / "batch.json").read_text())["clips"]}


@pytest.fixture(scope="module")
def first_run(workspace: Path, videos: Path):
    """The folder batch, run once: four good clips and the broken one."""
    out = workspace / "out"
    updates: list[BatchProgress] = []
    result = run_batch(jobs_of(videos), options(workspace, out), progress=updates.append)
    return out, result, updates


def test_folder_batch_writes_whole_folders_equal_to_single_clip_score(workspace: Path, videos: Path,
                                                                       first_run) -> None:
    out, result, updates = first_run
    clips = report(out)
    good = ["cut", "disc", "face", "gap"]
    assert sorted(n for n, c in clips.items() if c["status"] == "done") == good
    assert updates[-1].done == 4 and updates[-1].failed == 1 and updates[-1].running == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*good, "batch.json"])
    for name in good:
        folder = out / name
        assert is_complete(folder)
        assert set(clips[name]["timings"]) >= {"analyse_s", "generate_s", "export_s", "total_s"}
        single = workspace / "single" / name
        assert main(["score", str(videos / f"{name}.mp4"), "-o", str(single), "--seed", "7",
                     "--format", *FORMATS]) == 0
        batch_mix, rate = sf.read(folder / "mix.wav", dtype="float32")
        single_mix, _ = sf.read(single / "mix.wav", dtype="float32")
        assert rate == 48000 and batch_mix.shape == single_mix.shape
        assert np.array_equal(batch_mix, single_mix)
        delivered = sorted(str(p.relative_to(folder)) for p in (folder / "delivery").rglob("*") if p.is_file())
        assert delivered == sorted(str(p.relative_to(single)) for p in (single / "delivery").rglob("*")
                                   if p.is_file())
        assert sorted(clips[name]["outputs"]) == delivered
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in single.iterdir())


def test_broken_clip_is_reported_in_one_sentence_while_the_others_finish(first_run) -> None:
    out, result, _ = first_run
    broken = report(out)["broken"]
    assert broken["status"] == "failed" and broken["stage"] == "analyse"
    assert BROKEN in broken["error"] and broken["error"].endswith(".") and "\n" not in broken["error"]
    assert "Traceback" not in broken["error"]
    assert not (out / "broken").exists()
    summary = json.loads((out / "batch.json").read_text())["summary"]
    assert summary["done"] == 4 and summary["failed"] == 1 and summary["clips_per_min"] > 0


def test_rerun_skips_complete_clips_and_force_redoes_one(workspace: Path, videos: Path, first_run) -> None:
    out, _, _ = first_run
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/take.json")}
    assert main(["batch", str(videos), "-o", str(out), "--seed", "7", "--format", *FORMATS,
                 "--cache-dir", str(workspace / "cache")]) == 1  # the broken clip fails again
    clips = report(out)
    assert {n: c["status"] for n, c in clips.items()} == {
        "cut": "skipped", "disc": "skipped", "face": "skipped", "gap": "skipped", "broken": "failed"}
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/take.json")} == stamps

    face = [job for job in jobs_of(videos) if job.name == "face"]
    before, _ = sf.read(out / "face" / "mix.wav", dtype="float32")
    result = run_batch(face, options(workspace, out, force=True))
    assert [c.status for c in result.clips] == ["done"]
    assert (out / "face" / "take.json").stat().st_mtime_ns != stamps[out / "face" / "take.json"]
    assert np.array_equal(sf.read(out / "face" / "mix.wav", dtype="float32")[0], before)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_rerun_scores_again_only_the_clips_whose_choices_changed(workspace: Path, videos: Path, first_run) -> None:
    """An edited manifest row (here disc's seed) is scored again on a re-run; an unchanged clip is skipped."""
    out = workspace / "changed"
    shutil.copytree(first_run[0], out)
    face_take = (out / "face" / "take.json").stat().st_mtime_ns
    jobs = [replace(job, seed=8) if job.name == "disc" else job for job in jobs_of(videos)
            if job.name in ("disc", "face")]
    result = run_batch(jobs, options(workspace, out))
    assert {c.name: c.status for c in result.clips} == {"disc": "done", "face": "skipped"}
    assert Session.load(out / "disc" / "disc.expotion").seed == 8
    assert (out / "face" / "take.json").stat().st_mtime_ns == face_take
    assert [c.status for c in run_batch(jobs, options(workspace, out)).clips] == ["skipped", "skipped"]


def test_cancelling_mid_batch_leaves_only_complete_folders(workspace: Path, videos: Path) -> None:
    out = workspace / "cancelled"
    cancel = threading.Event()

    def stop_after_first(state: BatchProgress) -> None:
        if state.done >= 1:
            cancel.set()

    jobs = [job for job in jobs_of(videos) if job.name != "broken"]
    fresh = BatchOptions(out, cache_dir=workspace / "cancel-cache")  # analysed anew: the clips finish apart
    result = run_batch(jobs, fresh, progress=stop_after_first, cancel=cancel)
    assert result.cancelled
    statuses = {c.name: c.status for c in result.clips}
    assert "cancelled" in statuses.values() and "done" in statuses.values(), statuses
    assert set(statuses.values()) <= {"done", "cancelled"}
    assert sorted(p.name for p in out.iterdir()) == sorted([*(n for n, s in statuses.items() if s == "done"),
                                                            "batch.json"])
    assert all(is_complete(out / n) for n, s in statuses.items() if s == "done")
    assert {n: c["status"] for n, c in report(out).items()} == statuses

    rest = run_batch(jobs, options(workspace, out))
    assert sorted(c.status for c in rest.clips) == sorted("skipped" if s == "done" else "done"
                                                         for s in statuses.values())


def test_timeline_input_makes_one_job_per_clip_with_its_range(workspace: Path, videos: Path) -> None:
    rate = 25.0
    track = otio.schema.Track(name="V1")
    for name, video, start, length in (("opening", "face.mp4", 0.4, 2.0), ("insert", "disc.mp4", 0.2, 2.2)):
        reference = otio.schema.ExternalReference(
            target_url=(videos / video).as_uri(),
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                    otio.opentime.RationalTime(62, rate)))
        track.append(otio.schema.Clip(name=name, media_reference=reference, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start * rate, rate), otio.opentime.RationalTime(length * rate, rate))))
        track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
            duration=otio.opentime.RationalTime(10, rate))))
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(track)
    path = workspace / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))

    jobs = jobs_of(path)
    assert [(j.name, j.video.name, j.start, j.end) for j in jobs] == [
        ("001_opening", "face.mp4", 0.4, 2.4), ("002_insert", "disc.mp4", 0.2, 2.4)]
    out = workspace / "timeline"
    result = run_batch(jobs, options(workspace, out))
    assert [c.status for c in result.clips] == ["done", "done"], [c.error for c in result.clips]
    for job in jobs:
        assert sf.info(out / job.name / "mix.wav").frames == round((job.end - job.start) * 48000)


def test_manifest_rows_carry_their_own_choices(workspace: Path, videos: Path) -> None:
    manifest = videos / "manifest.csv"
    manifest.write_text("path,start,end,preset,seed,formats,timecode\n"
                        "face.mp4,0.5,2,documentary,3,audio midi,01:00:00:00\n"
                        "face.mp4,,,,,,\n")
    first, second = read_jobs(manifest, DEFAULTS)
    assert (first.name, first.start, first.end, first.preset, first.seed, first.formats, first.timecode_start) == (
        "face", 0.5, 2.0, "documentary", 3, ("audio", "midi"), "01:00:00:00")
    assert (second.name, second.seed, second.preset) == ("face_2", 7, DEFAULTS.preset)
    bad = videos / "manifest.json"
    bad.write_text(json.dumps([{"path": "face.mp4", "speed": 2}]))
    with pytest.raises(BatchError, match="unknown column"):
        read_jobs(bad)


def test_without_ray_the_command_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    with pytest.raises(BatchError, match=r"pip install 'expotion-studio\[batch\]'"):
        require_ray()


def test_editor_timelines_of_a_scored_range_read_back_as_that_range(workspace: Path, videos: Path) -> None:
    out = workspace / "editors"
    assert main(["score", str(videos / "face.mp4"), "-o", str(out), "--start", "0.2", "--end", "2.4",
                 "--format", "edl", "fcp7", "fcpxml", "otio"]) == 0
    for name in ("face.edl", "face_fcp7.xml", "face.fcpxml", "face.otio"):
        jobs = read_jobs(out / "delivery" / name)
        assert [(j.name, j.video, j.start, j.end) for j in jobs] == [
            ("001_face", (videos / "face.mp4").resolve(), 0.2, 2.4)], name


def test_generation_in_a_long_lived_actor_gives_the_same_music(workspace: Path, videos: Path, first_run) -> None:
    out, _, _ = first_run
    jobs = [job for job in jobs_of(videos) if job.name in ("face", "disc")]
    result = run_batch(jobs, options(workspace, workspace / "actor", actors=True))
    assert [c.status for c in result.clips] == ["done", "done"]
    for job in jobs:
        assert np.array_equal(sf.read(workspace / "actor" / job.name / "mix.wav", dtype="float32")[0],
                              sf.read(out / job.name / "mix.wav", dtype="float32")[0])


def test_a_foreign_folder_in_the_way_fails_its_clip_and_is_left_alone(workspace: Path, videos: Path) -> None:
    out = workspace / "foreign"
    (out / "face").mkdir(parents=True)
    (out / "face" / "notes.txt").write_text("the editor's notes\n")
    face = [job for job in jobs_of(videos) if job.name == "face"]
    result = run_batch(face, options(workspace, out))
    assert [c.status for c in result.clips] == ["failed"]
    assert "--force" in result.clips[0].error and result.clips[0].error.endswith(".")
    assert sorted(p.name for p in (out / "face").iterdir()) == ["notes.txt"]


def test_a_batch_holds_its_output_folders_lock_and_a_second_run_into_it_stops(
        workspace: Path, videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = workspace / "locked"
    (out / "face").mkdir(parents=True)
    (out / "face" / "notes.txt").write_text("in the way, so the clip ends at once\n")
    face = [job for job in jobs_of(videos) if job.name == "face"]
    seen: list[str] = []

    def try_the_lock(_: BatchProgress) -> None:
        try:
            with FolderLock(out):
                seen.append("free")
        except FolderBusy:
            seen.append("busy")

    run_batch(face, options(workspace, out), progress=try_the_lock)
    assert seen and set(seen) == {"busy"}  # held for the whole run, reports included
    assert not (out / LOCK_NAME).exists()  # and given back

    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with FolderLock(out):
        assert main(["batch", str(videos), "-o", str(out), "--format", "audio"]) == 2
    error = capsys.readouterr().err
    assert f"{out} is in use by another Expotion run (process {os.getpid()})" in error
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing written by the second run


@pytest.fixture(scope="module")
def camera(workspace: Path) -> Path:
    """A 2.5 s clip at 29.97 fps carrying the camera timecode 01:00:00;00, alone in its folder."""
    folder = workspace / "tagged"
    folder.mkdir()
    plain = scenarios.face_clip(workspace / "plain.mp4", size=SIZE, duration=2.5).path
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(plain), "-r", "30000/1001",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-timecode", SOURCE_TC,
                    str(folder / "camera.mp4")], check=True, timeout=120)
    return folder / "camera.mp4"


def test_a_clip_starts_at_the_timecode_its_file_carries_unless_its_row_gives_one(workspace: Path,
                                                                                  camera: Path) -> None:
    manifest = camera.parent / "clips.csv"
    manifest.write_text("path,name,timecode\ncamera.mp4,own,\ncamera.mp4,given,00:10:00;00\n")
    jobs = [with_defaults(job, ("audio",), 48000) for job in read_jobs(manifest, DEFAULTS)]
    out = workspace / "tagged_out"
    result = run_batch(jobs, options(workspace, out))
    assert [c.status for c in result.clips] == ["done", "done"], [c.error for c in result.clips]
    for name, label in (("own", SOURCE_TC), ("given", "00:10:00;00")):
        mix = read_bwf(next((out / name / "delivery").glob("*_mix.wav")))
        assert to_frame(mix.start_seconds, DF) == parse_frames(label, DF), name
        (session,) = (out / name).glob("*.expotion")
        assert to_frame(Session.load(session).timecode_start, DF) == parse_frames(label, DF)
    assert [(job.name, job.timecode_start) for job in jobs] == [("own", None), ("given", "00:10:00;00")]


def test_an_edl_of_a_tagged_clip_reads_back_as_its_range_at_its_timecode(workspace: Path, camera: Path) -> None:
    out = workspace / "tagged_edl"
    assert main(["score", str(camera), "-o", str(out), "--start", "0.3", "--end", "2.4", "--format", "edl"]) == 0
    (job,) = read_jobs(out / "delivery" / "camera.edl")  # an EDL names no media start: the file's tag is it
    assert (job.video, to_frame(job.start, DF), to_frame(job.end, DF)) == (camera.resolve(), 9, 72)
    assert to_frame(float(job.timecode_start), DF) == parse_frames(SOURCE_TC, DF)
