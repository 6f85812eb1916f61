"""Export from the app of a session opened from an editor's sequence writes that sequence back with the score laid
in (the file ``expotion export`` writes), named in the dialog, and it reads back in OpenTimelineIO."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest
import soundfile as sf
from PySide6.QtCore import Qt

from studio.timeline.relink import url_path
from tests.timeline.build import SHOTS, START, build_timeline, make_shots, write_timeline
from ui.export_dialog import ExportDialog

pytestmark = pytest.mark.slow

FPS = 25.0
LENGTH = sum(duration for _, duration in SHOTS)  # the sequence's frames


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three generated shots, 2 s each at 25 fps."""
    return make_shots(tmp_path_factory.mktemp("export_shots"), FPS)


def _clips(timeline: otio.schema.Timeline, base: Path) -> list[tuple]:
    """What an editor sees of each picture clip: name, source range, place in its track and media file."""
    return [(c.name, c.source_range, c.range_in_parent(), (base / url_path(c.media_reference.target_url)).resolve())
            for track in timeline.video_tracks() for c in track.find_clips()]


def test_app_export_lays_the_score_into_the_editors_sequence(window, qtbot, wait_job, shots, tmp_path: Path) -> None:
    built = write_timeline(build_timeline(shots, FPS), shots[0].parent, "otio_json", FPS)
    wait_job(window.open_timeline(built.path, tmp_path / "scene.expotion"), timeout=180_000)
    wait_job(window.generate(), timeout=180_000)
    assert window.jobs.last_error is None

    window.open_export_dialog()
    dialog = window.findChild(ExportDialog)
    assert dialog is not None and dialog.sequence_label is not None
    name = dialog.sequence_label.text().removeprefix("Sequence with the score: ")
    assert name == "Scene_12_sequence.otio"  # the sequence "Scene 12" is the session's title
    out = tmp_path / "delivery"
    dialog.folder.setText(str(out))
    for key, box in dialog.format_boxes.items():
        box.setChecked(key == "audio")
    dialog.open_folder.setChecked(False)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    wait_job(window.jobs.worker, timeout=120_000)
    assert window.jobs.last_error is None
    roundtrip = out / name  # the name the dialog gave, the file studio wrote
    assert roundtrip.is_file()
    assert sorted(p.name for p in out.glob("*_sequence.*")) == [name]
    assert window.statusBar().currentMessage().endswith(f"sequence with the score: {name}")

    original = otio.adapters.read_from_file(str(built.path))
    back = otio.adapters.read_from_file(str(roundtrip))
    assert _clips(back, roundtrip.parent) == _clips(original, built.path.parent)  # the picture, unchanged
    assert back.global_start_time == original.global_start_time == otio.opentime.from_timecode(START, FPS)

    wavs = {p.resolve() for p in out.rglob("*.wav")}
    take = window.take_audio.take
    assert len(wavs) == 1 + len(take.stems)
    assert not original.audio_tracks()
    added = back.audio_tracks()
    assert len(added) == len(wavs) and [t.enabled for t in added] == [True] + [False] * len(take.stems)
    laid = {}
    for track in added:
        (clip,) = track.find_clips()
        place = clip.range_in_parent()
        start = back.global_start_time + place.start_time
        assert otio.opentime.to_timecode(start, FPS) == START  # from the sequence's first frame, on its timecode
        assert round(place.duration.to_frames(FPS)) == LENGTH
        laid[(roundtrip.parent / url_path(clip.media_reference.target_url)).resolve()] = clip
    assert set(laid) == wavs  # the delivered mix and stems, as new tracks
    for path in wavs:
        assert sf.info(path).frames == round(LENGTH / FPS * sf.info(path).samplerate)
