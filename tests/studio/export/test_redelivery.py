"""A delivery written again: the previous delivery's own files go (its manifest names them), the user's stay,
a failure leaves the previous delivery whole; and every delivery's ``<title>_README.txt`` guide."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from expotion_engine.errors import ExportError
from expotion_engine.types import Take
from studio.export import ExportJob, ExportSettings, export_delivery
from studio.export.check import check_delivery
from studio.export.manifest import MANIFEST, read_manifest
from studio.export.readme import listed_files

FORCE = ExportSettings(force=True)
SMALL = ["audio", "midi", "markers", "otio", "reaper", "dawproject"]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in files_under(folder)}


def two_stem_take(take: Take) -> Take:
    """Another take: only the harmony and melody stems (the piano-solo case), its mix their sum."""
    stems = tuple(s for s in take.stems if s.name in ("harmony", "melody"))
    return replace(take, stems=stems, mix=stems[0].audio + stems[1].audio, seed=8)


def test_another_take_replaces_the_previous_deliverys_files_and_keeps_the_users(job: ExportJob,
                                                                                tmp_path: Path) -> None:
    out = tmp_path / "delivery"
    export_delivery(job, out)
    assert (out / "My_Clip_stems/My_Clip_drums.wav").is_file()
    user = {out / "notes.txt": b"call the client", out / "My_Clip_stems/notes.txt": b"stems: keep quiet"}
    for path, data in user.items():
        path.write_bytes(data)
    second = replace(job, take=two_stem_take(job.take), settings=FORCE)
    written = export_delivery(second, out)
    assert files_under(out) == set(written) | set(user) | {out / MANIFEST}
    assert not any((out / f"My_Clip_stems/My_Clip_{s}.wav").exists() for s in ("drums", "bass"))
    assert all(path.read_bytes() == data for path, data in user.items())
    manifest = read_manifest(out)
    assert manifest is not None and manifest.paths() == {p.relative_to(out).as_posix() for p in written}
    results = check_delivery(out)
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    assert "sum of 2 stems" in next(r.detail for r in results if r.name == "stems null")


def test_a_failing_re_delivery_leaves_the_previous_delivery_whole(job: ExportJob, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.export import registry

    out = tmp_path / "delivery"
    export_delivery(job, out, SMALL)
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)

    def broken(job: ExportJob, folder: object) -> list[Path]:
        raise ZeroDivisionError("deliberate")

    monkeypatch.setitem(registry.FORMATS, "midi", f"{__name__}:_broken")
    monkeypatch.setattr(f"{__name__}._broken", broken, raising=False)
    second = replace(job, take=two_stem_take(job.take), settings=FORCE)
    with pytest.raises(ExportError, match="The midi export failed"):
        export_delivery(second, out, SMALL)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["delivery"]


def _broken(job: ExportJob, folder: object) -> list[Path]:
    raise AssertionError("replaced by the test")


def test_a_format_added_to_the_same_take_joins_its_delivery(job: ExportJob, tmp_path: Path) -> None:
    first = export_delivery(job, tmp_path, ["audio"])
    second = export_delivery(job, tmp_path, ["midi"])  # no --force needed: nothing is overwritten but the guide
    kept = {p for p in first if p.name != "My_Clip_README.txt"}
    assert files_under(tmp_path) == kept | set(second) | {tmp_path / MANIFEST}
    assert listed_files(tmp_path / "My_Clip_README.txt") == [
        "My_Clip_mix.wav", *(f"My_Clip_stems/My_Clip_{s}.wav" for s in ("drums", "bass", "harmony", "melody")),
        "My_Clip.mid"]


def test_a_partial_delivery_of_another_take_needs_force_and_then_stands_alone(job: ExportJob,
                                                                              tmp_path: Path) -> None:
    export_delivery(job, tmp_path, ["audio", "midi"])
    other = replace(job, take=two_stem_take(job.take))
    before = snapshot(tmp_path)
    with pytest.raises(ExportError, match=r"holds the delivery of another take \(My_Clip\.mid would be removed\)"
                                          r"; use --force"):
        export_delivery(other, tmp_path, ["markers"])
    assert snapshot(tmp_path) == before
    written = export_delivery(replace(other, settings=FORCE), tmp_path, ["markers"])
    assert files_under(tmp_path) == set(written) | {tmp_path / MANIFEST}
    assert not (tmp_path / "My_Clip_stems").exists()


def test_the_readme_says_what_each_file_is_and_where_the_music_sits(job: ExportJob, tmp_path: Path) -> None:
    written = export_delivery(job, tmp_path / "a")
    guide = tmp_path / "a" / "My_Clip_README.txt"
    assert guide in written
    text = guide.read_text(encoding="utf-8")
    files = [p.relative_to(tmp_path / "a").as_posix() for p in written if p != guide]
    assert listed_files(guide) == files
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  My_Clip")}
    assert "written by the export" not in text and len(lines) == len(files)
    assert "the drums stem" in lines["My_Clip_stems/My_Clip_drums.wav"]
    assert "REAPER project" in lines["My_Clip.rpp"] and "Audacity" in lines["My_Clip_markers.txt"]
    assert "the video with the score" in lines["My_Clip_scored.mp4"]
    for expected in ("Length:      3.000 s", "Tempo:       120.0 BPM at the start, changing once (90.0 to 120.0 BPM)",
                     "Meter:       4/4, 3/4 from 2.333 s", "Key:         not given by the engine",
                     "Timecode:    25 fps; the music starts at 01:00:02:00 and ends at 01:00:05:00",
                     "procedural engine, seed 7", "Audio:       48000 Hz, 24-bit",
                     "expotion score face.mp4 -o OUT --engine procedural --seed 7 --start 2 --end 5 "
                     "--timecode-start 01:00:00:00"):
        assert expected in text, (expected, text)
    export_delivery(job, tmp_path / "b")
    assert (tmp_path / "b" / "My_Clip_README.txt").read_text(encoding="utf-8") == text  # deterministic


def test_check_compares_the_readme_with_the_files(job: ExportJob, tmp_path: Path) -> None:
    export_delivery(job, tmp_path, SMALL)
    paths = next(r for r in check_delivery(tmp_path) if r.name == "paths")
    assert paths.passed and "My_Clip_README.txt lists every file" in paths.detail
    guide = tmp_path / "My_Clip_README.txt"
    text = guide.read_text(encoding="utf-8")
    guide.write_text(text.replace("  My_Clip.mid ", "  My_Clip_old.mid "), encoding="utf-8")
    paths = next(r for r in check_delivery(tmp_path) if r.name == "paths")
    assert not paths.passed
    assert "My_Clip_README.txt lists missing My_Clip_old.mid" in paths.detail
    assert "My_Clip.mid is not in My_Clip_README.txt" in paths.detail
