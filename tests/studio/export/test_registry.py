"""export_delivery: format names, up-front overwrite and path checks, order, progress, cancel, failures."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import mido
import pytest

from expotion_engine.errors import Cancelled, ExportError
from expotion_engine.types import Stem
from studio.export import FORMATS, DeliveryFolder, ExportSettings, export_delivery, planned_files
from studio.export.manifest import MANIFEST


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_unknown_format_lists_the_valid_ones(job, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"'mp3'.*valid formats are audio, midi, .*video"):
        export_delivery(job, out, ["midi", "mp3"])
    assert not out.exists()


def test_every_format_lands_under_the_folder_with_title_names(job, tmp_path):
    out = tmp_path / "delivery"
    reports: list[tuple[float, str]] = []
    written = export_delivery(job, out, progress=lambda f, m: reports.append((f, m)))
    planned = [(out / f).resolve() for name in FORMATS for f in planned_files(job, name)]
    assert [p.resolve() for p in written] == [*planned, (out / "My_Clip_README.txt").resolve()]
    assert files_under(out) == set(written) | {out / MANIFEST}
    assert all(out.resolve() in p.resolve().parents for p in written)
    assert all(p.name.startswith("My_Clip_") or p.name.startswith("My_Clip.") for p in written)
    assert {p.suffix for p in written} >= {".wav", ".mid", ".csv", ".edl", ".otio", ".rpp", ".dawproject", ".mp4"}
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [m for _, m in reports if m.startswith("Exporting ")] == [f"Exporting {name}" for name in FORMATS]


def test_audio_runs_first_whatever_order_is_asked(job, tmp_path):
    written = export_delivery(job, tmp_path, ["midi", "audio"])
    assert written[0].name == "My_Clip_mix.wav" and written[-2].name == "My_Clip.mid"
    assert written[-1].name == "My_Clip_README.txt"


def test_existing_file_stops_the_export_before_anything_is_written(job, tmp_path):
    existing = tmp_path / "My_Clip.mid"
    existing.write_bytes(b"keep me")
    with pytest.raises(ExportError, match=r"My_Clip\.mid already exists; use --force"):
        export_delivery(job, tmp_path, ["audio", "midi"])
    assert files_under(tmp_path) == {existing}
    assert existing.read_bytes() == b"keep me"
    forced = replace(job, settings=ExportSettings(force=True))
    export_delivery(forced, tmp_path, ["audio", "midi"])
    assert mido.MidiFile(existing).type == 1


def test_a_path_leading_outside_the_folder_is_refused(job, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "My_Clip_stems").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ExportError, match="outside the output folder"):
        export_delivery(job, out, ["audio"])
    assert files_under(elsewhere) == set() and files_under(out) == set()
    with pytest.raises(ExportError, match="outside the output folder"):
        DeliveryFolder(out).path("../escape.wav")


def test_output_folder_that_is_a_file_is_refused(job, tmp_path):
    target = tmp_path / "delivery"
    target.write_text("not a folder")
    with pytest.raises(ExportError, match="is a file"):
        export_delivery(job, target, ["midi"])


def test_stems_whose_file_names_clash_are_refused(job, tmp_path):
    audio = job.take.stems[0].audio
    clash = replace(job.take, stems=(Stem("lead vox", audio), Stem("lead_vox", audio)))
    with pytest.raises(ExportError, match="would both write"):
        export_delivery(replace(job, take=clash), tmp_path / "out", ["audio"])
    assert not (tmp_path / "out").exists()


def test_cancel_between_exporters_leaves_no_delivery(job, tmp_path):
    cancel = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if message == "Audio written":
            cancel.set()

    out = tmp_path / "delivery"
    with pytest.raises(Cancelled):
        export_delivery(job, out, ["audio", "midi"], progress=progress, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_exporter_leaves_no_partial_delivery(job, tmp_path):
    late = replace(job, video_in=4.0)  # the 3 s score runs past the 5 s video's end
    out = tmp_path / "delivery"
    with pytest.raises(ExportError, match=r"The video export failed: .*video is .*Nothing was written"):
        export_delivery(late, out, ["audio", "midi", "video"])
    assert list(tmp_path.iterdir()) == []


def broken_exporter(job, folder):
    """A format that writes one file, then fails as a bug would."""
    folder.write_text(job.file("_broken.txt"), "half")
    raise ZeroDivisionError("deliberate")


@pytest.mark.parametrize("existing", [False, True])
def test_a_deliberately_failing_format_leaves_the_folder_as_it_was(job, tmp_path, monkeypatch, existing):
    import sys

    from studio.export import registry

    module = next(name for name, m in sys.modules.items() if getattr(m, "broken_exporter", None) is broken_exporter)
    monkeypatch.setitem(registry.FORMATS, "broken", f"{module}:broken_exporter")
    monkeypatch.setitem(registry.FILES, "broken", lambda job: [job.file("_broken.txt")])
    out = tmp_path / "delivery"
    if existing:
        out.mkdir()
        (out / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match=r"The broken export failed \(ZeroDivisionError: deliberate\)"):
        export_delivery(job, out, ["audio", "midi", "markers", "broken"])
    if existing:
        assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"
        assert list(tmp_path.iterdir()) == [out]
    else:
        assert list(tmp_path.iterdir()) == []
    written = export_delivery(job, out, ["audio", "midi", "markers"])
    assert files_under(out) == set(written) | {out / MANIFEST} | ({out / "notes.txt"} if existing else set())
    assert [p for p in tmp_path.rglob(".*")] == [out / MANIFEST]


def test_all_formats_without_a_video_skip_the_video(job, tmp_path):
    no_video = replace(job, video=None)
    written = export_delivery(no_video, tmp_path)
    assert not any(p.name.startswith("My_Clip_scored") for p in written)
    assert [p.resolve() for p in written] == [
        (tmp_path / f).resolve() for name in FORMATS for f in planned_files(no_video, name)
    ] + [(tmp_path / "My_Clip_README.txt").resolve()]
    with pytest.raises(ExportError, match="no video"):
        export_delivery(no_video, tmp_path / "asked", ["video"])


@pytest.mark.parametrize(("field", "value", "message"), [
    ("fps", 0.0, "frame rate must be > 0"), ("video_in", -1.0, "video_in must be a time >= 0"),
    ("timecode_start", float("nan"), "timecode_start must be a time >= 0"),
])
def test_job_values_are_checked(job, field, value, message):
    with pytest.raises(ExportError, match=message):
        replace(job, **{field: value})


def test_video_audio_codec_is_checked():
    with pytest.raises(ExportError, match="'mp3' is not offered; choose one of aac, pcm"):
        ExportSettings(video_audio="mp3")
