"""Issue 13 items 11 and 4: a start timecode that is not a time of day (inf, NaN, negative, 24 h or
more, or music that would run past 24:00:00:00) is one sentence, never a silent wrap; videos at
12, 15 and 120 fps deliver, counted at a SMPTE rate the output names."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from expotion_engine.errors import ExportError
from expotion_engine.types import Take
from studio.cli import main
from studio.demo import scenarios
from studio.demo.scenarios import Clip
from studio.export.job import ExportJob


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("start", ["inf", "-inf", "nan", "Infinity", "-1", "86400", "1e308", "99:00:00:00",
                                   "24:00:00:00", "-0:00:01:00", "01:00:00:25"])
def test_a_start_that_is_no_time_of_day_is_one_sentence(start: str, face_clip: Clip, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["score", str(face_clip.path), "-o", str(out), "--end", "2.2", f"--timecode-start={start}"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("expotion:")]
    assert "Traceback" not in err and len(lines) == 1 and start in lines[0], err
    assert not out.exists()


def test_music_running_past_midnight_is_refused_not_wrapped(face_clip: Clip, tmp_path: Path) -> None:
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "out"), "--end", "2.2", "--no-delivery"]) == 0
    take = Take.load(tmp_path / "out")
    ExportJob(take=take, title="t", timecode_start=86400 - 2.5)  # ends at 23:59:59.70: fine
    with pytest.raises(ExportError, match="past timecode 24:00:00:00"):
        ExportJob(take=take, title="t", timecode_start=86400 - 2.0)


@pytest.mark.slow
@pytest.mark.parametrize(("fps", "counted"), [(12.0, "24"), (15.0, "30"), (120.0, "60")])
def test_odd_frame_rates_deliver(fps: float, counted: str, tmp_path: Path,
                                 capfd: pytest.CaptureFixture[str]) -> None:
    clip = scenarios.face_clip(tmp_path / f"face{fps:g}.mp4", fps=fps, duration=2.4)
    out = tmp_path / "out"
    assert main(["score", str(clip.path), "-o", str(out), "--timecode-start", "01:00:00:00",
                 "--format", "midi", "markers", "edl", "fcpxml"]) == 0
    err = capfd.readouterr().err
    assert "timecode:" in err and counted in err.split("timecode:")[1].splitlines()[0]
    names = sorted(p.name for p in (out / "delivery").iterdir())
    assert names == sorted([".expotion-delivery.json", *(f"face{fps:g}{s}" for s in (
        ".edl", ".fcpxml", ".mid", "_README.txt", "_audio.edl", "_markers.csv", "_markers.txt"))])
    assert (out / "delivery" / f"face{fps:g}.edl").read_text().count("01:00:00:00") >= 1
    offset = [m for m in mido.MidiFile(out / "delivery" / f"face{fps:g}.mid").tracks[0] if m.type == "smpte_offset"]
    assert offset and offset[0].hours == 1
