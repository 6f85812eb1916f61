"""``expotion score TIMELINE``: edits are hits at their exact frames, markers are cues, the sequence's timecode."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf

from expotion_engine.errors import Cancelled
from expotion_engine.media.probe import probe_video
from expotion_engine.vision import AnalysisSettings
from studio.cli import main
from studio.lock import FolderLock
from studio.session import Session
from studio.timecode import TimecodeRate, frame_seconds, parse_frames
from studio.timeline import read_timeline
from studio.timeline.controls import timeline_controls
from studio.timeline.relink import url_path
from studio.timeline.render import render_picture
from tests.processes import ended_within
from tests.timeline.build import (
    CLIP_MARKER,
    CLIP_MARKER_RECORD,
    EDITS,
    SEQUENCE_MARKER,
    SHOTS,
    build_timeline,
    write_timeline,
)

FPS = 25.0
RATE = 48000
LENGTH = sum(d for _, d in SHOTS)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, shots_25: list[Path]) -> Iterator[Path]:
    """``expotion score`` of the 25 fps sequence (.otio) into an output folder, with MIDI, markers and video."""
    folder = tmp_path_factory.mktemp("timeline_score")
    built = write_timeline(build_timeline(shots_25, FPS), shots_25[0].parent, "otio_json", FPS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        code = main(["score", str(built.path), "-o", str(folder / "out"), "--seed", "3",
                     "--format", "markers", "midi", "video"])
    assert code == 0
    yield folder / "out"


def test_every_edit_point_is_a_hit_candidate_at_its_exact_frame(scored: Path, shots_25: list[Path]) -> None:
    timeline = read_timeline(shots_25[0].parent / f"scene12_otio_json_{FPS:.2f}.otio")  # the file `scored` read
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(scored.parent / "cache"))  # the run's analyses, per clip
        controls = timeline_controls(timeline, AnalysisSettings())

    edits = [m for m in controls.markers if m.cause == "edit"]
    assert [m.time * FPS for m in edits] == pytest.approx(EDITS, abs=1e-9)
    assert all(m.kind == "hit" and m.strength == 1.0 for m in edits)
    assert not [m for m in controls.markers if m.cause == "cut" and abs(m.time * FPS - EDITS[0]) < 1.5]
    assert controls.n_frames == round(LENGTH / FPS * controls.rate)


def test_the_take_marks_an_edit_at_its_exact_frame(scored: Path) -> None:
    take = json.loads((scored / "take.json").read_text())
    marked = [round(m["time"] * FPS, 6) for m in take["markers"] if m.get("cause") == "edit"]

    assert marked and set(marked) <= {float(f) for f in EDITS}
    assert sf.info(scored / "mix.wav").frames == round(LENGTH / FPS * RATE)


def test_the_timelines_markers_are_cues_and_its_timecode_the_deliverys(scored: Path) -> None:
    session = Session.load(next(scored.glob("*.expotion")))
    cues = [(round(m.time * FPS, 6), m.name, m.color) for m in session.markers]
    assert cues == [(float(SEQUENCE_MARKER[1]), SEQUENCE_MARKER[0], "#20b040"),
                    (float(CLIP_MARKER_RECORD), CLIP_MARKER[0], "#2060e0")]
    assert session.timecode_rate == "25"
    assert session.timecode_start == frame_seconds(parse_frames("01:00:00:00", TimecodeRate(25)), TimecodeRate(25))

    rows = list(csv.DictReader((scored / "delivery").glob("*_markers.csv").__next__().open()))
    text = json.dumps(rows)
    assert SEQUENCE_MARKER[0] in text and CLIP_MARKER[0] in text
    assert "01:00:01:15" in text  # the first edit (frame 40) on the sequence's own timecode
    assert "01:00:00:10" in text  # the sequence marker (frame 10)


def _frame(path: Path, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image.astype(np.float32)


def test_the_picture_is_the_sequence_cut_at_the_edit_frames(scored: Path, shots_25: list[Path]) -> None:
    path = next(scored.glob("*_picture.mp4"))
    delivered = probe_video(next((scored / "delivery").glob("*.mp4")))
    assert round(probe_video(path).duration * FPS) == LENGTH
    assert round(delivered.duration * FPS) == LENGTH

    last_of_a, first_of_b = _frame(path, EDITS[0] - 1), _frame(path, EDITS[0])
    source_a = _frame(shots_25[0], SHOTS[0][0] + SHOTS[0][1] - 1)
    source_b = _frame(shots_25[1], SHOTS[1][0])

    def distance(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.abs(x - y).mean())

    assert distance(last_of_a, source_a) < distance(last_of_a, source_b) / 4
    assert distance(first_of_b, source_b) < distance(first_of_b, source_a) / 4
    # once shot B's disc moves (its source frame 25 on), the picture matches its exact source frame, not a neighbour
    moving = _frame(path, EDITS[0] + 20)
    near = [distance(moving, _frame(shots_25[1], SHOTS[1][0] + 20 + step)) for step in (-1, 0, 1)]
    assert near[1] < min(near[0], near[2])


def test_missing_media_stops_score_with_one_sentence(tmp_path: Path, shots_25: list[Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    built = write_timeline(build_timeline(shots_25, FPS), tmp_path, "cmx_3600", FPS)

    assert main(["score", str(built.path), "-o", str(tmp_path / "out"), "--timecode-rate", "25"]) == 2

    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["expotion: error: scene12_cmx_3600_25.00.edl: 3 media files not found (shot_a.mp4, shot_b.mp4, "
                     "shot_c.mp4); put them next to the timeline or in a folder below it."]
    assert not (tmp_path / "out").exists()


def test_a_timeline_run_takes_the_folder_lock(tmp_path: Path, shots_25: list[Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    built = write_timeline(build_timeline(shots_25, FPS), shots_25[0].parent, "otio_json", FPS)
    out = tmp_path / "out"
    with FolderLock(out):
        code = main(["score", str(built.path), "-o", str(out), "--no-delivery"])
        assert code == 2
        assert "is in use by another Expotion run" in capsys.readouterr().err
        assert sorted(p.name for p in out.iterdir()) == [".expotion.lock"]  # nothing rendered or analysed



def _as_from_a_terminal() -> None:
    """In the child: Ctrl-C handled by default and not blocked, as in a shell (not inherited from this test run)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT])
def test_the_picture_renders_ffmpeg_in_its_own_group_which_dies_with_the_run(
        stop: signal.Signals, tmp_path: Path, shots_25: list[Path]) -> None:
    import imageio_ffmpeg

    built = write_timeline(build_timeline(shots_25, FPS), shots_25[0].parent, "otio_json", FPS)
    marker = tmp_path / "ffmpeg.pid"
    fake = tmp_path / "ffmpeg"  # the render (a filter graph) says its pid and works for a minute; probes run
    fake.write_text("#!/bin/sh\n"
                    f'case "$*" in *-filter_complex*) echo $$ > "{marker}"; exec sleep 60;; esac\n'
                    f'exec "{imageio_ffmpeg.get_ffmpeg_exe()}" "$@"\n')
    fake.chmod(0o755)
    code = ("import sys\nfrom pathlib import Path\nfrom studio.timeline import read_timeline\n"
            "from studio.timeline.render import render_picture\n"
            "render_picture(read_timeline(sys.argv[1]), Path(sys.argv[2]))\n")
    parent = subprocess.Popen([sys.executable, "-c", code, str(built.path), str(tmp_path / "picture.mp4")],
                              cwd=ROOT, stderr=subprocess.DEVNULL, preexec_fn=_as_from_a_terminal,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "IMAGEIO_FFMPEG_EXE": str(fake)})
    for _ in range(600):
        if marker.is_file() and marker.read_text().strip():
            break
        time.sleep(0.05)
    child = int(marker.read_text())
    assert os.getpgid(child) == child != os.getpgid(parent.pid)  # a terminal's Ctrl-C reaches the run only

    parent.send_signal(stop)
    parent.wait(timeout=30)
    assert ended_within(child)


def test_without_delivered_audio_the_sequence_gets_the_takes_own_files(scored: Path) -> None:
    roundtrip = next((scored / "delivery").glob("*_sequence.otio"))  # the run delivered no BWFs (no "audio")
    sequence = otio.adapters.read_from_file(str(roundtrip))
    take = json.loads((scored / "take.json").read_text())

    score = [(t.name, t.enabled, url_path(t.find_clips()[0].media_reference.target_url)) for t in
             sequence.audio_tracks()]
    assert score == [("Expotion Mix", True, (scored / "mix.wav").resolve())] + [
        (f"Expotion {s['name']}", False, (scored / s["file"]).resolve()) for s in take["stems"]]
    assert [c.name for c in sequence.video_tracks()[0].find_clips()] == [p.name for p in
                                                                         read_timeline(roundtrip).media]


def test_export_of_a_timeline_session_delivers_its_sequence_again(scored: Path, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    session = next(scored.glob("*.expotion"))
    assert main(["export", str(session), "-o", str(tmp_path / "again"), "--format", "audio"]) == 0

    sequence = otio.adapters.read_from_file(str(next((tmp_path / "again").glob("*_sequence.otio"))))
    mix = sequence.audio_tracks()[0].find_clips()[0]
    assert url_path(mix.media_reference.target_url) == next((tmp_path / "again").glob("*_mix.wav")).resolve()
    assert sequence.global_start_time.value == parse_frames("01:00:00:00", TimecodeRate(25))

    moved = Session.load(session)  # the sequence file is gone: the delivery goes on without it, with a warning
    moved.timeline = replace(moved.timeline, path=tmp_path / "gone.otio")
    moved.save(tmp_path / "moved.expotion")
    assert main(["export", str(tmp_path / "moved.expotion"), "-o", str(tmp_path / "third"), "--format", "audio"]) == 0
    assert not list((tmp_path / "third").glob("*_sequence.*"))
    assert "The sequence is not delivered with the score: " in caplog.text


def test_the_picture_reports_its_frames_and_a_cancelled_render_leaves_nothing(tmp_path: Path,
                                                                               shots_25: list[Path]) -> None:
    built = write_timeline(build_timeline(shots_25, FPS), shots_25[0].parent, "otio_json", FPS)
    timeline = read_timeline(built.path)
    reports: list[float] = []

    picture = render_picture(timeline, tmp_path / "picture.mp4", progress=lambda f, _: reports.append(f))

    assert reports and reports == sorted(reports) and reports[-1] == 1.0
    assert round(probe_video(picture).duration * FPS) == LENGTH
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        render_picture(timeline, tmp_path / "cancelled.mp4", cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["picture.mp4"]  # no picture, no hidden .part file


def test_preview_plays_a_timelines_take_too(tmp_path: Path, shots_25: list[Path],
                                            capfd: pytest.CaptureFixture[str]) -> None:
    """``--preview`` with a timeline: the take's first seconds are announced in OUT/preview.wav as they come
    (it was ignored for timelines), and the finished take removes it."""
    built = write_timeline(build_timeline(shots_25, FPS), shots_25[0].parent, "otio_json", FPS)
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
        assert main(["score", str(built.path), "-o", str(out), "--no-delivery", "--preview"]) == 0
    err = capfd.readouterr().err
    assert f"s are in {out / 'preview.wav'} (" in err  # "(playing on ...)" or "(no audio output here; open it)"
    assert not (out / "preview.wav").exists() and (out / "mix.wav").is_file()
