"""Issue 13 item 3: any Unicode in titles, video file names and marker names reaches every writer.

The MIDI file carries CJK and emoji as UTF-8 meta text, file names keep a non-Latin title instead
of turning it into "untitled", and a marker name with line breaks stays one line in the EDL, the
FCP XML, the Reaper project and the MIDI file (the CSV keeps it, quoted)."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import mido
import pytest
from lxml import etree

from expotion_engine.types import Marker, Take
from studio.cli import main
from studio.demo.scenarios import Clip
from studio.export.job import ExportJob, safe_name
from studio.export.registry import export_delivery

TITLE = "映画のテーマ 🎬"
INJECTED = "Verse\r\nM2   001       050.0                01:00:00:00\n* FROM CLIP NAME: evil\x1b[31m"


@pytest.fixture(scope="module")
def take(tmp_path_factory: pytest.TempPathFactory, face_clip: Clip) -> tuple[Take, Path]:
    """A short take scored from a copy of the face clip named in Japanese, and that video."""
    folder = tmp_path_factory.mktemp("unicode")
    video = folder / "ビデオ 🎥.mp4"
    shutil.copy(face_clip.path, video)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        assert main(["score", str(video), "-o", str(folder / "out"), "--end", "2.2", "--format", "midi"]) == 0
    return Take.load(folder / "out"), video


def test_score_names_files_after_a_non_latin_video_and_writes_its_midi(take: tuple[Take, Path]) -> None:
    video = take[1]
    delivery = video.parent / "out" / "delivery"
    assert sorted(p.name for p in delivery.iterdir()) == [".expotion-delivery.json", "ビデオ_🎥.mid",
                                                          "ビデオ_🎥_README.txt"]
    mask = os.umask(0)
    os.umask(mask)
    assert delivery.stat().st_mode & 0o777 == 0o777 & ~mask  # a staged folder is published like a mkdir
    assert (video.parent / "out" / "ビデオ_🎥.expotion").is_file()
    midi = mido.MidiFile(delivery / "ビデオ_🎥.mid", charset="utf-8")
    assert midi.tracks[0][0].name == "ビデオ 🎥"


def test_every_writer_takes_unicode_and_keeps_marker_names_on_one_line(take: tuple[Take, Path],
                                                                        tmp_path: Path) -> None:
    job = ExportJob(take=take[0], title=TITLE + "\nsecond line", video=take[1], markers=(Marker(1.0, INJECTED),))
    formats = ["midi", "markers", "edl", "fcp7", "fcpxml", "otio", "reaper", "dawproject"]
    written = export_delivery(job, tmp_path, formats=formats)
    assert all(p.name.startswith("映画のテーマ_🎬_second_line") for p in written)
    one_line = "Verse M2 001 050.0 01:00:00:00 * FROM CLIP NAME: evil [31m"

    midi = mido.MidiFile(tmp_path / job.file(".mid"), charset="utf-8")
    assert midi.tracks[0][0].name == TITLE + " second line"
    assert [m.text for m in midi.tracks[0] if m.type == "marker"] == [one_line]

    edl = (tmp_path / job.file(".edl")).read_text(encoding="utf-8")
    assert not any(line.upper().startswith(("M2", "* FROM CLIP NAME: EVIL")) for line in edl.splitlines())
    assert "\x1b" not in edl and "\r" not in edl
    locators = [line for line in edl.splitlines() if "VERSE" in line.upper()]
    assert locators == [f"* LOC: 00:00:01:00 GREEN   {one_line.upper()}"]

    fcp7 = etree.parse(str(tmp_path / job.file("_fcp7.xml")))
    assert [n.text for n in fcp7.iter("name") if n.text and "Verse" in n.text] == [one_line]
    rpp = (tmp_path / job.file(".rpp")).read_text(encoding="utf-8")
    assert [line.strip() for line in rpp.splitlines() if "Verse" in line][0].startswith("MARKER")
    with (tmp_path / job.file("_markers.csv")).open(newline="", encoding="utf-8") as handle:
        assert [row["Marker Name"] for row in csv.DictReader(handle)] == [INJECTED]


@pytest.mark.parametrize(("title", "slug"), [
    ("映画", "映画"), ("🎬🎵", "🎬🎵"), ("Émile: déjà vu", "Émile_déjà_vu"), ("a/b\\c\nd", "a_b_c_d"),
    ("\udcff\udcfe", "untitled"), ("...", "untitled"), ("CON", "CON_"), ("x" * 400, "x" * 120),
])
def test_file_names_from_titles_are_safe_but_never_emptied(title: str, slug: str) -> None:
    assert safe_name(title) == slug
