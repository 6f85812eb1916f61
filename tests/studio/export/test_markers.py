"""Marker CSV and Audacity labels parsed back with the csv module and plain string splitting."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from expotion_engine.types import Marker
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.markers import CSV_COLUMNS, write_markers


def _tc_seconds(tc: str, fps: float) -> float:
    hours, minutes, seconds, frames = (int(part) for part in tc.split(":"))
    return hours * 3600 + minutes * 60 + seconds + frames / fps


def test_csv_lists_every_marker_at_its_record_timecode(job: ExportJob, tmp_path: Path) -> None:
    csv_path, _ = write_markers(job, DeliveryFolder(tmp_path))
    assert csv_path.name == "My_Clip_markers.csv"
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = list(reader)
    expected = sorted(job.markers, key=lambda m: m.time)
    assert [r["Marker Name"] for r in rows] == [m.name for m in expected]
    assert [r["Kind"] for r in rows] == [m.kind for m in expected]
    for row, marker in zip(rows, expected, strict=True):
        assert abs(_tc_seconds(row["In"], job.fps) - (job.start_seconds + marker.time)) <= 0.5 / job.fps + 1e-9
        assert abs(float(row["Seconds"]) - marker.time) < 1e-6
        length = _tc_seconds(row["Out"], job.fps) - _tc_seconds(row["In"], job.fps)
        assert abs(_tc_seconds(row["Duration"], job.fps) - length) <= 1 / job.fps + 1e-9
        assert (length > 0) == (marker.kind == "section")
    assert rows[0]["In"] == "01:00:02:00"
    intro, verse = (r for r in rows if r["Kind"] == "section")
    assert intro["Out"] == verse["In"]  # a section lasts until the next one
    assert verse["Out"] == "01:00:05:00"  # ... or the end of the music
    assert {r["Color"] for r in rows if r["Kind"] == "hit"} == {"Red"}


def test_audacity_labels_are_seconds_from_music_start(job: ExportJob, tmp_path: Path) -> None:
    _, labels = write_markers(job, DeliveryFolder(tmp_path))
    assert labels.name == "My_Clip_markers.txt"
    lines = labels.read_text(encoding="utf-8").splitlines()
    parsed = [(float(a), float(b), name) for a, b, name in (line.split("\t") for line in lines)]
    expected = sorted(job.markers, key=lambda m: m.time)
    assert [name for _, _, name in parsed] == [m.name for m in expected]
    for (start, end, _), marker in zip(parsed, expected, strict=True):
        assert abs(start - marker.time) < 1e-6
        assert (end > start) == (marker.kind == "section")
    assert abs(parsed[-2][1] - job.take.duration) < 1e-6  # the last section ends with the music


def test_markers_outside_the_music_are_left_out_and_labels_stay_one_line(job: ExportJob, tmp_path: Path) -> None:
    odd = replace(job, markers=(Marker(-1.0, "before"), Marker(1.0, "two\tword\nname"), Marker(99.0, "after")))
    csv_path, labels = write_markers(odd, DeliveryFolder(tmp_path))
    assert labels.read_text(encoding="utf-8") == "1.000000\t1.000000\ttwo word name\n"
    with csv_path.open(newline="", encoding="utf-8") as handle:
        assert [r["Marker Name"] for r in csv.DictReader(handle)] == ["two\tword\nname"]


def test_a_markers_own_colour_names_the_nearest_editor_colour_and_a_plain_one_its_kinds(job: ExportJob,
                                                                                       tmp_path: Path) -> None:
    coloured = replace(job, markers=(Marker(0.5, "red cue", kind="cue", color="#e02020"),
                                     Marker(1.0, "crimson", kind="user", color="#c8102e"),
                                     Marker(1.5, "sky", kind="hit", color="#2f80ff"),
                                     Marker(2.0, "plain", kind="cue")))
    csv_path, _ = write_markers(coloured, DeliveryFolder(tmp_path))
    with csv_path.open(newline="", encoding="utf-8") as handle:
        colours = {r["Marker Name"]: r["Color"] for r in csv.DictReader(handle)}
    assert colours == {"red cue": "Red", "crimson": "Red", "sky": "Blue", "plain": "Yellow"}
