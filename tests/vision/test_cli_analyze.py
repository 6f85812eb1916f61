"""``expotion analyze``: files written, the cache, and every bad input as a one-sentence error."""

from __future__ import annotations

import json

import pytest

import studio.analysis as studio_analysis
from expotion_engine.types import ControlTrack
from expotion_engine.vision import AnalysisSettings
from studio.cli import main
from studio.demo.bad_inputs import BAD_INPUTS


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_inputs_exit_2_with_one_sentence(name, bad_inputs, tmp_path, capsys) -> None:
    out = tmp_path / "c.npz"
    assert main(["analyze", str(bad_inputs[name]), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("expotion: error: "), err
    assert bad_inputs[name].name in lines[0]
    assert "Traceback" not in err
    assert not out.exists()


def test_analyze_writes_track_sidecar_and_plot(face_clip, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    out, plot = tmp_path / "controls.npz", tmp_path / "controls.png"
    assert main(["analyze", str(face_clip.path), "-o", str(out), "--plot", str(plot), "--end", "3"]) == 0
    track = ControlTrack.load(out)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["source"]["end"] == 3.0 and track.n_frames == 150
    assert sidecar["settings"]["analysis.analysis_fps"] == 10.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 20_000


def test_second_analysis_comes_from_the_cache(face_clip, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = studio_analysis.analyze_video
    monkeypatch.setattr(studio_analysis, "analyze_video", lambda *a, **k: calls.append(1) or real(*a, **k))
    settings = AnalysisSettings(end=2.0)
    first = studio_analysis.analyze(face_clip.path, settings)
    second = studio_analysis.analyze(face_clip.path, settings)
    assert calls == [1]
    assert (second.values == first.values).all() and second.markers == first.markers
    studio_analysis.analyze(face_clip.path, AnalysisSettings(end=2.0, smoothing=0.3))
    assert calls == [1, 1], "other settings must not hit the same cache entry"


def test_an_end_past_the_video_is_said_once(face_clip, tmp_path, monkeypatch, capfd) -> None:
    """``--end`` beyond the video: analysed to its end, as before, and now said (it was silent)."""
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "c.npz"
    assert main(["analyze", str(face_clip.path), "-o", str(out), "--start", "4", "--end", "60"]) == 0
    said = [line for line in capfd.readouterr().err.splitlines() if "--end" in line]
    duration = face_clip.duration
    assert said == [f"--end 60 s is past the end of the video ({duration:.2f} s); analysed to its end"]
    assert json.loads(out.with_suffix(".json").read_text())["source"]["end"] == pytest.approx(duration, abs=0.05)
    assert main(["analyze", str(face_clip.path), "-o", str(out), "--start", "4", "--end", "4.5"]) == 0
    assert "--end" not in capfd.readouterr().err
