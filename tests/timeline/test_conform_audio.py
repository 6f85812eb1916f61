"""Conform: a recut's take keeps the old take's samples where the picture is kept or moved, and B's exact length.

The first tests splice two synthetic takes (noise of known content) on a hand-made plan;
the last scores a five-shot sequence with ``expotion score`` and conforms it with
``expotion conform`` onto a recut with a shot trimmed by 12 frames, a shot removed, two
shots swapped and a shot extended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import librosa
import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf

from expotion_engine.types import Marker, Note, Stem, Take, TempoChange, TempoMap
from studio.cli import main
from studio.session import Session
from studio.timecode import TimecodeRate
from studio.timeline import Timeline, TimelineClip
from studio.timeline.conform import conform_plan
from studio.timeline.conform_audio import ConformError, conform_take, move_markers, sample_at, take_length
from tests.timeline.build import RT, START, TR

SR = 48000
PAL = TimecodeRate(25)
NTSC = TimecodeRate(30, ntsc=True)
A_MEDIA, B_MEDIA, C_MEDIA = (Path(f"/media/{n}.mp4") for n in "abc")


def cut(*shots: tuple[Path, int, int], rate: TimecodeRate = PAL) -> Timeline:
    """A sequence of ``(media, source_in, duration)`` shots laid end to end."""
    clips, record = [], 0
    for media, source_in, duration in shots:
        clips.append(TimelineClip(media.name, media, source_in, record, duration))
        record += duration
    return Timeline(Path("/cuts/v.otio"), "v", rate, 90000, tuple(clips))


def noise_take(n: int, seed: int, markers: tuple[Marker, ...] = (), notes: tuple[Note, ...] = ()) -> Take:
    """A stereo take of seeded noise with two stems (their sum is the mix)."""
    rng = np.random.default_rng(seed)
    drums, pad = (rng.uniform(-0.4, 0.4, (2, n)).astype(np.float32) for _ in range(2))
    return Take(engine="procedural", sample_rate=SR, mix=drums + pad,
                stems=(Stem("drums", drums, notes=notes), Stem("pad", pad)),
                tempo_map=TempoMap((TempoChange(0.0, 120.0),)), markers=markers, request={}, seed=seed)


OLD = cut((A_MEDIA, 0, 25), (B_MEDIA, 0, 30), (C_MEDIA, 0, 20))  # 75 frames, edits at 25 and 55


def test_kept_and_moved_spans_are_bit_exact_outside_the_crossfades() -> None:
    new = cut((A_MEDIA, 0, 25), (C_MEDIA, 0, 20), (B_MEDIA, 12, 18))  # swap, and B trimmed by 12 at the head
    old_take = noise_take(take_length(OLD, SR), 1)
    fresh = noise_take(take_length(new, SR), 2)
    result = conform_take(old_take, fresh, conform_plan(OLD, new), OLD, new)
    take, half = result.take, result.crossfade // 2 + 1

    assert take.n_samples == take_length(new, SR) == 63 * SR // 25
    s = [sample_at(f, PAL, SR) for f in (0, 25, 45, 63)]
    copies = [(s[0], s[1], 0), (s[1], s[2], sample_at(55, PAL, SR)), (s[2], s[3], sample_at(37, PAL, SR))]
    pairs = [(take.mix, old_take.mix), *((n.audio, o.audio) for n, o in zip(take.stems, old_take.stems, strict=True))]
    for start, end, old_start in copies:
        first, last = start + (half if start else 0), end - (half if end < take.n_samples else 0)
        for got, want in pairs:
            assert np.array_equal(got[:, first:last], want[:, old_start + first - start:old_start + last - start])
    assert result.joins == (s[1], s[2])
    assert [p.action for p in result.pieces] == ["keep", "move", "move"]


def test_a_join_is_an_equal_power_crossfade_of_both_sources() -> None:
    new = cut((A_MEDIA, 0, 25), (C_MEDIA, 0, 20))
    old_take, fresh = noise_take(take_length(OLD, SR), 1), noise_take(take_length(new, SR), 2)
    result = conform_take(old_take, fresh, conform_plan(OLD, new), OLD, new)
    join, fade = sample_at(25, PAL, SR), result.crossfade
    left = old_take.mix[:, join - fade // 2:join + fade // 2]
    right = old_take.mix[:, sample_at(55, PAL, SR) - fade // 2:sample_at(55, PAL, SR) + fade // 2]
    got = result.take.mix[:, join - fade // 2:join + fade // 2]

    assert fade == round(0.02 * SR)
    theta = (np.arange(fade) + 0.5) / fade * np.pi / 2
    assert np.allclose(got, left * np.cos(theta) + right * np.sin(theta), atol=1e-6)
    assert not np.array_equal(got, left) and not np.array_equal(got, right)


def test_new_frames_are_the_regenerated_take_and_hits_follow_the_picture() -> None:
    hits = (Marker(0.5, "kept hit", "hit", cause="motion"), Marker(1.5, "moved hit", "hit", cause="expression"),
            Marker(1.2, "cut hit", "hit", cause="motion"), Marker(1.0, "old edit 25", "hit", cause="edit"),
            Marker(2.2, "old edit 55", "hit", cause="edit"))
    notes = (Note(60, 1.5, 1.7, 100),)
    new = cut((A_MEDIA, 0, 25), (B_MEDIA, 12, 18), (C_MEDIA, 0, 30))  # B trimmed, C extended by 10
    old_take = noise_take(take_length(OLD, SR), 1, hits, notes)
    fresh = noise_take(take_length(new, SR), 2, (Marker(2.9, "fresh hit", "hit", cause="motion"),
                                                Marker(1.0, "edit", "hit", cause="edit")))
    result = conform_take(old_take, fresh, conform_plan(OLD, new), OLD, new)
    regenerated = result.pieces[-1]

    assert (regenerated.action, regenerated.source) == ("new", "fresh")
    a, b = regenerated.start + result.crossfade, regenerated.end
    assert np.array_equal(result.take.mix[:, a:b], fresh.mix[:, a:b])
    times = {m.name: m.time for m in result.take.markers}
    assert times["kept hit"] == 0.5 and times["moved hit"] == pytest.approx(1.5 - 12 / 25)
    assert times["fresh hit"] == 2.9 and times["edit"] == 1.0 and "cut hit" not in times
    assert times["old edit 55"] == pytest.approx(43 / 25)  # the old edit C now starts at frame 43
    assert {(h.name, h.reason) for h in result.lost} == {("cut hit", "its frames were cut from the sequence"),
                                                         ("old edit 25", "its frames were cut from the sequence")}
    assert result.kept_hits == 3
    assert result.take.stem("drums").notes[0].start == pytest.approx(1.5 - 12 / 25)


def test_at_2997_the_length_is_exact_to_the_sample() -> None:
    old, new = cut((A_MEDIA, 0, 31), (B_MEDIA, 0, 29), rate=NTSC), cut((B_MEDIA, 0, 29), (A_MEDIA, 0, 19), rate=NTSC)
    result = conform_take(noise_take(take_length(old, SR), 1), noise_take(take_length(new, SR), 2),
                          conform_plan(old, new), old, new)
    assert result.take.n_samples == round(48 * 1001 / 30000 * SR) == take_length(new, SR)


def test_a_take_of_another_length_is_refused() -> None:
    new = cut((A_MEDIA, 0, 25))
    with pytest.raises(ConformError, match="is it the timeline this session was scored from"):
        conform_take(noise_take(1000, 1), noise_take(take_length(new, SR), 2), conform_plan(OLD, new), OLD, new)


# --------------------------------------------------------------------------- the command

FPS = 25.0
#: version A: (shot index into the generated media, source in, frames)
VERSION_A = ((0, 0, 25), (1, 0, 30), (2, 30, 15), (0, 30, 15), (1, 35, 15))
#: version B: shot 2 trimmed by 12 at the head, shot 3 removed, shots 4 and 5 swapped, shot 4 extended by 5
VERSION_B = ((0, 0, 25), (1, 12, 18), (1, 35, 15), (0, 30, 20))
MARKER = ("Look", 10)  # on A's 4th shot (record 80), B's last shot (record 68)
#: user markers added to A's session: on A's 4th shot (B's record 71) and on the removed shot
USER_MARKERS = {"swell": 83, "gone": 60}


def write_cut(media: list[Path], shots: tuple[tuple[int, int, int], ...], marked: int, path: Path) -> Path:
    """An .otio sequence of ``shots`` at 25 fps from 01:00:00:00 with a marker on shot ``marked``."""
    timeline = otio.schema.Timeline(name="Scene 12")
    timeline.global_start_time = otio.opentime.from_timecode(START, FPS)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for index, source_in, duration in shots:
        reference = otio.schema.ExternalReference(target_url=media[index].name,
                                                  available_range=TR(RT(0, FPS), RT(50, FPS)))
        track.append(otio.schema.Clip(name=media[index].name, media_reference=reference,
                                      source_range=TR(RT(source_in, FPS), RT(duration, FPS))))
    track[marked].markers.append(otio.schema.Marker(name=MARKER[0], marked_range=TR(RT(30 + MARKER[1], FPS),
                                                                                       RT(0, FPS)), color="RED"))
    otio.adapters.write_to_file(timeline, str(path))
    return path


@pytest.fixture(scope="module")
def conformed(tmp_path_factory: pytest.TempPathFactory, shots_25: list[Path]) -> Iterator[tuple[Path, Path]]:
    """Version A scored, then conformed onto version B: (A's output folder, B's output folder)."""
    folder = tmp_path_factory.mktemp("conform")
    old = write_cut(shots_25, VERSION_A, 3, shots_25[0].parent / "scene12_a.otio")
    new = write_cut(shots_25, VERSION_B, 3, shots_25[0].parent / "scene12_b.otio")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        assert main(["score", str(old), "-o", str(folder / "a"), "--seed", "5", "--no-delivery"]) == 0
        session = next((folder / "a").glob("*.expotion"))
        scored = Session.load(session)
        for name, frame in USER_MARKERS.items():
            scored.add_marker(frame / FPS, name)
        scored.save()
        assert main(["conform", str(session), str(new), "--old", str(old), "-o", str(folder / "b"),
                     "--format", "audio", "markers"]) == 0
    yield folder / "a", folder / "b"


@pytest.mark.slow
def test_conform_keeps_the_old_music_where_the_picture_is_kept_or_moved(conformed: tuple[Path, Path]) -> None:
    a, b = conformed
    report = json.loads((b / "conform.json").read_text())
    old_mix, new_mix = sf.read(a / "mix.wav", dtype="float32")[0], sf.read(b / "mix.wav", dtype="float32")[0]
    half = report["crossfade_samples"] // 2 + 1
    copied = [s for s in report["spans"] if s["music"] == "copied from the old take"]

    assert [(s["action"], s["new_frames"], s["old_frames"]) for s in report["spans"]] == [
        ("keep", [0, 25], [0, 25]), ("move", [25, 43], [37, 55]), ("move", [43, 58], [85, 100]),
        ("move", [58, 73], [70, 85]), ("new", [73, 78], None)]
    assert report["removed_old_frames"] == [[25, 37], [55, 70]]
    for span in copied:
        start, end = span["samples"]
        old_start = sample_at(span["old_frames"][0], PAL, SR)
        first, last = start + (half if start else 0), end - half
        assert np.array_equal(new_mix[first:last], old_mix[old_start + first - start:old_start + last - start])
        for stem in (b / "stems").glob("*.wav"):
            got, want = sf.read(stem, dtype="float32")[0], sf.read(a / "stems" / stem.name, dtype="float32")[0]
            assert np.array_equal(got[first:last], want[old_start + first - start:old_start + last - start])


@pytest.mark.slow
def test_the_conformed_delivery_has_the_recuts_length_and_markers(conformed: tuple[Path, Path]) -> None:
    _, b = conformed
    length = sample_at(78, PAL, SR)
    session = Session.load(next(b.glob("*.expotion")))
    take = json.loads((b / "take.json").read_text())

    assert sf.info(b / "mix.wav").frames == length == json.loads((b / "conform.json").read_text())["n_samples"]
    delivered = list((b / "delivery").rglob("*.wav"))
    assert delivered and all(sf.info(p).frames == length for p in delivered)
    assert [(round(m.time * FPS, 6), m.name) for m in session.markers] == [(68.0, MARKER[0]), (71.0, "swell")]
    assert [m["name"] for m in json.loads((b / "conform.json").read_text())["user_markers_lost"]] == ["gone"]
    edits = {round(m["time"] * FPS, 6) for m in take["markers"] if m.get("cause") == "edit"}
    assert edits and edits <= {25.0, 43.0, 58.0}  # the recut's edit points, none of the old cut's alone


@pytest.mark.slow
def test_every_old_hit_is_moved_with_its_picture_or_reported_lost(conformed: tuple[Path, Path]) -> None:
    a, b = conformed
    report = json.loads((b / "conform.json").read_text())
    old_hits = [m for m in json.loads((a / "take.json").read_text())["markers"] if m["kind"] == "hit"]
    new_times = [m["time"] for m in json.loads((b / "take.json").read_text())["markers"]]
    copied = [s for s in report["spans"] if s["music"] == "copied from the old take"]

    assert old_hits and report["hits_kept"] + len(report["hits_lost"]) == len(old_hits)
    lost = {h["time"] for h in report["hits_lost"]}
    for hit in old_hits:
        frame = hit["time"] * FPS
        span = next((s for s in copied if s["old_frames"][0] <= frame < s["old_frames"][1]), None)
        if span is None or hit["time"] in lost:
            assert hit["time"] in lost
        else:
            moved = hit["time"] + (span["new_frames"][0] - span["old_frames"][0]) / FPS
            assert min(abs(t - moved) for t in new_times) < 1e-9


@pytest.mark.slow
def test_every_hit_of_the_conformed_take_is_heard_within_40_ms(conformed: tuple[Path, Path]) -> None:
    _, b = conformed
    mix, rate = sf.read(b / "mix.wav", dtype="float32")
    y = mix.mean(axis=1)
    rms = librosa.feature.rms(y=y, frame_length=512, hop_length=128)[0]
    onsets = librosa.onset.onset_detect(y=y, sr=rate, hop_length=128, backtrack=True, energy=rms, units="time")
    hits = [m["time"] for m in json.loads((b / "take.json").read_text())["markers"] if m["kind"] == "hit"]

    assert hits and all(np.min(np.abs(onsets - t)) <= 0.04 for t in hits)


def test_markers_move_with_their_frames_or_are_lost() -> None:
    new = cut((A_MEDIA, 0, 25), (C_MEDIA, 0, 20))  # B removed: C's frames move 30 earlier
    markers = [Marker(0.5, "a"), Marker(1.5, "on b", "user"), Marker(2.5, "on c", "user")]
    moved, lost = move_markers(markers, conform_plan(OLD, new), OLD, new)
    assert [(m.name, round(m.time, 9)) for m in moved] == [("a", 0.5), ("on c", 1.3)]
    assert [m.name for m in lost] == ["on b"]


@pytest.mark.slow
def test_the_wrong_old_timeline_is_one_sentence(conformed: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    a, b = conformed
    recut = json.loads((b / "conform.json").read_text())["new_timeline"]
    code = main(["conform", str(next(a.glob("*.expotion"))), recut, "--old", recut,
                 "-o", str(tmp_path / "out")])
    error = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(error) == 1
    assert "is it the timeline this session was scored from?" in error[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_regenerated_spans_are_the_recut_scored_with_the_same_seed_and_tempo(
        conformed: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = conformed
    report = json.loads((b / "conform.json").read_text())
    bpm = json.loads((a / "take.json").read_text())["tempo_map"]["tempos"][0]["bpm"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
        assert main(["score", report["new_timeline"], "-o", str(tmp_path / "b"), "--seed", "5", "--bpm", repr(bpm),
                     "--no-delivery"]) == 0
    scored, conformed_mix = (sf.read(f / "mix.wav", dtype="float32")[0] for f in (tmp_path / "b", b))
    start, end = next(s["samples"] for s in report["spans"] if s["music"] == "regenerated")

    assert np.array_equal(conformed_mix[start + report["crossfade_samples"]:end],
                          scored[start + report["crossfade_samples"]:end])
