"""Conform: a recut's take keeps the old take's whole bars sample for sample, joins at bar lines, B's exact length.

The first tests conform a synthetic audio-only take (noise of known content at 120 BPM)
on hand-made cuts; the last score a five-shot sequence with ``expotion score`` and
conform it with ``expotion conform`` onto a recut with a shot trimmed by 12 frames, a
shot removed, two shots swapped and a shot extended, through the delivery.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import librosa
import mido
import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf

from expotion_engine.types import Marker, MeterChange, Stem, Take, TempoChange, TempoMap
from studio.cli import main
from studio.export.manifest import read_manifest
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


def noise_take(n: int, seed: int) -> Take:
    """A stereo audio-only take of seeded noise at 120 BPM with two stems (their sum is the mix)."""
    rng = np.random.default_rng(seed)
    drums, pad = (rng.uniform(-0.4, 0.4, (2, n)).astype(np.float32) for _ in range(2))
    return Take(engine="musicgen", sample_rate=SR, mix=drums + pad,
                stems=(Stem("drums", drums), Stem("pad", pad)),
                tempo_map=TempoMap((TempoChange(0.0, 120.0),)), markers=(), request={}, seed=seed)


OLD = cut((A_MEDIA, 0, 100), (B_MEDIA, 0, 100), (C_MEDIA, 0, 100))  # 12 s, edits at 4 s and 8 s, bars of 2 s


def test_whole_kept_shots_are_bit_exact_and_meet_in_an_equal_power_crossfade() -> None:
    new = cut((A_MEDIA, 0, 100), (C_MEDIA, 0, 100))  # B removed; both edits are bar lines at 120 BPM
    loud = noise_take(take_length(OLD, SR), 1)  # peaks 0.8: its blend would pass -1 dBFS (bent, tested below)
    old_take = replace(loud, mix=loud.mix / 2, stems=tuple(replace(s, audio=s.audio / 2) for s in loud.stems))
    result = conform_take(old_take, conform_plan(OLD, new), OLD, new)
    take, fade = result.take, result.crossfade
    join, c_start = sample_at(100, PAL, SR), sample_at(200, PAL, SR)

    assert [(k.start, k.end, k.offset) for k in result.bars.keeps] == [(0, join, 0), (join, 2 * join, c_start - join)]
    assert not result.bars.bridges and result.joins == (join,)
    assert np.array_equal(take.mix[:, :join - fade // 2], old_take.mix[:, :join - fade // 2])
    assert np.array_equal(take.mix[:, join + fade // 2:], old_take.mix[:, c_start + fade // 2:])
    theta = (np.arange(fade) + 0.5) / fade * np.pi / 2
    left = old_take.mix[:, join - fade // 2:join + fade // 2]
    right = old_take.mix[:, c_start - fade // 2:c_start + fade // 2]
    assert fade == round(0.02 * SR)
    assert np.allclose(take.mix[:, join - fade // 2:join + fade // 2], left * np.cos(theta) + right * np.sin(theta),
                       atol=1e-6)
    assert take.tempo_map.downbeat_times(take.duration).tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def _accents_at_the_join(pad_answer: float) -> tuple[Take, Timeline, int, int]:
    """B removed, so the join blends the old bar after A (B's downbeat) with C's downbeat: a drum accent of 0.9
    on both, the pad at ``pad_answer`` under each; the old take, the recut, the join and C's old start."""
    new = cut((A_MEDIA, 0, 100), (C_MEDIA, 0, 100))
    join, c_start = sample_at(100, PAL, SR), sample_at(200, PAL, SR)
    quiet = noise_take(take_length(OLD, SR), 1)
    drums, pad = (s.audio * 0.05 for s in quiet.stems)
    for downbeat in (join, c_start):
        drums[:, downbeat:downbeat + 200] = 0.9
        if pad_answer:
            pad[:, downbeat:downbeat + 200] = pad_answer
    return replace(quiet, mix=drums + pad, stems=(Stem("drums", drums), Stem("pad", pad))), new, join, c_start


def test_two_accents_on_the_joined_bar_line_stay_under_the_louder_side() -> None:
    # in an equal-power fade the two accents add up to 1.3 (past full scale); the fade bends towards equal gain
    old_take, new, join, c_start = _accents_at_the_join(0.0)
    result = conform_take(old_take, conform_plan(OLD, new), OLD, new)
    take, fade = result.take, result.crossfade
    blended = take.mix[:, join - fade // 2:join + fade // 2]
    sides = max(np.abs(old_take.mix[:, join - fade // 2:join + fade // 2]).max(),
                np.abs(old_take.mix[:, c_start - fade // 2:c_start + fade // 2]).max())
    assert np.abs(blended).max() <= sides + 1e-6 and np.abs(take.mix).max() < 1.0 and sides > 10 ** (-1 / 20)
    assert np.allclose(take.stems[0].audio + take.stems[1].audio, take.mix, atol=1e-6)
    assert np.array_equal(take.mix[:, join + fade // 2:], old_take.mix[:, c_start + fade // 2:])


def test_a_stem_louder_than_the_mix_stays_under_full_scale_at_a_join() -> None:
    # the pad answers each drum accent in opposite polarity: the mix's blend stays low, the drums' passes 1.2
    old_take, new, _, _ = _accents_at_the_join(-0.5)
    take = conform_take(old_take, conform_plan(OLD, new), OLD, new).take
    assert np.abs(take.mix).max() < 0.6 and 0.85 < np.abs(take.stems[0].audio).max() <= 0.9 + 1e-6
    assert np.allclose(take.stems[0].audio + take.stems[1].audio, take.mix, atol=1e-6)


def test_a_trim_off_the_bar_lines_is_bridged_in_whole_beats() -> None:
    new = cut((A_MEDIA, 0, 100), (B_MEDIA, 12, 88), (C_MEDIA, 0, 100))  # B trimmed by 12 frames at its head
    result = conform_take(noise_take(take_length(OLD, SR), 1), conform_plan(OLD, new), OLD, new)
    bridge = result.bars.bridges[0]

    assert bridge.role == "join" and bridge.beats == round(bridge.beats)
    assert bridge.bend <= 0.10
    tempo_map = result.take.tempo_map
    beats = tempo_map.beat_at(bridge.end / SR) - tempo_map.beat_at(bridge.start / SR)
    assert beats == pytest.approx(bridge.beats, abs=1e-6)
    kept_starts = {k.start for k in result.bars.keeps}
    bars = {round(t * SR) for t in tempo_map.downbeat_times(result.take.duration)}
    assert all(min(abs(k - b) for b in bars) <= 1 for k in kept_starts)


def test_a_kept_span_keeps_its_meter_changes() -> None:
    new = cut((B_MEDIA, 0, 100), (C_MEDIA, 0, 100))  # A removed: B and C move 4 s earlier, whole bars
    old_take = noise_take(take_length(OLD, SR), 1)
    three = TempoMap((TempoChange(0.0, 120.0),), (MeterChange(0.0, 4), MeterChange(6.0, 3), MeterChange(7.5, 4)))
    result = conform_take(replace(old_take, tempo_map=three), conform_plan(OLD, new), OLD, new)
    meters = [(m.time, m.numerator) for m in result.take.tempo_map.meters]
    assert meters == [(0.0, 4), (2.0, 3), (3.5, 4)]
    assert result.take.tempo_map.downbeat_times(8.0).tolist() == [0.0, 2.0, 3.5, 5.5, 7.5]


def test_a_tempo_change_on_a_kept_span_s_last_bar_line_is_written_once() -> None:
    # the old map restates its tempo a hair (0.4 sample) before each edit, as a hit fitted onto the bar line does:
    # A's kept bars end there, so the change belongs to the bar after (C's, from the next segment), not to A's end
    new = cut((A_MEDIA, 0, 100), (C_MEDIA, 0, 100))
    restated = TempoMap(tuple(TempoChange(t, 120.0) for t in (0.0, 4.0 - 0.4 / SR, 8.0 - 0.4 / SR)))
    old_take = replace(noise_take(take_length(OLD, SR), 1), tempo_map=restated)
    result = conform_take(old_take, conform_plan(OLD, new), OLD, new)
    assert [k.end for k in result.bars.keeps] == [sample_at(100, PAL, SR), sample_at(200, PAL, SR)]
    assert [round(c.time * SR, 3) for c in result.take.tempo_map.tempos] == [0.0, 192000.0]

def test_at_2997_the_length_is_exact_to_the_sample() -> None:
    old = cut((A_MEDIA, 0, 71), (B_MEDIA, 0, 69), rate=NTSC)
    new = cut((B_MEDIA, 0, 69), (A_MEDIA, 0, 59), rate=NTSC)
    result = conform_take(noise_take(take_length(old, SR), 1), conform_plan(old, new), old, new)
    assert result.take.n_samples == round(128 * 1001 / 30000 * SR) == take_length(new, SR)


def test_a_hit_on_the_first_bar_line_of_a_moved_shot_moves_with_it_at_2997() -> None:
    # bars of 60 frames at 29.97 (119.88 BPM); B removed, so C's bars move 4.004 s earlier with the hit on its first
    # bar line, at 8.008 s, whose float time in samples (384383.99999999994) lies a hair before the kept span
    old = cut((A_MEDIA, 0, 120), (B_MEDIA, 0, 120), (C_MEDIA, 0, 120), rate=NTSC)
    new = cut((A_MEDIA, 0, 120), (C_MEDIA, 0, 120), rate=NTSC)
    hit = Marker(240 * 1001 / 30000, "motion 1", "hit", cause="motion")
    old_take = replace(noise_take(take_length(old, SR), 1), tempo_map=TempoMap((TempoChange(0.0, 120000 / 1001),)),
                       markers=(hit,))
    result = conform_take(old_take, conform_plan(old, new), old, new)
    assert [(k.start, k.offset) for k in result.bars.keeps] == [(0, 0), (192192, 192192)]
    assert [(h.fate, h.reason) for h in result.hits] == [("kept", "moved -4.004 s with its picture")]
    assert [(m.name, round(m.time, 6)) for m in result.take.markers if m.kind == "hit"] == [("motion 1", 4.004)]

def test_a_take_of_another_length_is_refused() -> None:
    new = cut((A_MEDIA, 0, 25))
    with pytest.raises(ConformError, match="is it the timeline this session was scored from"):
        conform_take(noise_take(1000, 1), conform_plan(OLD, new), OLD, new)


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
        scored.preset = "piano-solo"  # changed after scoring: the conform keeps the take's own preset
        scored.save()
        assert main(["conform", str(session), str(new), "-o", str(folder / "b"),  # the session records A
                     "--format", "audio", "markers", "midi"]) == 0
    yield folder / "a", folder / "b"


@pytest.mark.slow
def test_the_report_lists_the_picture_s_changes_and_what_the_music_did(conformed: tuple[Path, Path],
                                                                        ) -> None:
    a, b = conformed
    report = json.loads((b / "conform.json").read_text())
    old_mix, new_mix = sf.read(a / "mix.wav", dtype="float32")[0], sf.read(b / "mix.wav", dtype="float32")[0]
    half = report["crossfade_samples"] // 2 + 1

    assert [(s["action"], s["new_frames"], s["old_frames"]) for s in report["spans"]] == [
        ("keep", [0, 25], [0, 25]), ("move", [25, 43], [37, 55]), ("move", [43, 58], [85, 100]),
        ("move", [58, 73], [70, 85]), ("new", [73, 78], None)]
    assert report["removed_old_frames"] == [[25, 37], [55, 70]]
    assert report["method"] == "replan"
    music = report["music"]
    assert music[0]["samples"][0] == 0 and music[-1]["samples"][1] == report["n_samples"]
    assert all(x["samples"][1] == y["samples"][0] for x, y in zip(music, music[1:], strict=False))
    assert {m["music"] for m in music} <= {"kept", "re-planned"}
    for seg in (m for m in music if m["music"] == "kept"):
        (start, end), (old_start, _) = seg["samples"], seg["old_samples"]
        first, last = start + (half if start else 0), end - half
        assert np.array_equal(new_mix[first:last], old_mix[old_start + first - start:old_start + last - start])
    for seg in (m for m in music if m["music"] == "re-planned"):
        assert seg["bend"] <= 0.10
    delivered = json.loads((b / "delivery" / "conform.json").read_text())
    assert delivered["spans"] == report["spans"] and delivered["music"] == music
    text = (b / "delivery" / "conform.txt").read_text()
    assert {"conform.json", "conform.txt"} <= read_manifest(b / "delivery").paths()  # so a re-delivery cleans them
    assert "conform.txt" in next((b / "delivery").glob("*_README.txt")).read_text()
    assert "removed" not in text and text.count("\ncut ") == 2 and "lost user marker 'gone'" in text


@pytest.mark.slow
def test_the_conformed_delivery_has_the_recuts_length_markers_and_tempo_map(conformed: tuple[Path, Path],
                                                                            shots_25: list[Path]) -> None:
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
    sequence = otio.adapters.read_from_file(str(next((b / "delivery").glob("*_sequence.otio"))))
    video, *audio = sequence.tracks
    assert [(c.name, c.source_range.start_time.value, c.source_range.duration.value) for c in video] == [
        (shots_25[i].name, float(source_in), float(frames)) for i, source_in, frames in VERSION_B]
    assert audio[0].name == "Expotion Mix" and audio[0].duration().value == 78  # the conformed mix under B
    assert session.timeline is not None
    assert session.timeline.path.name == "scene12_b.otio"
    assert session.preset == session.takes[0].preset != "piano-solo"
    midi = mido.MidiFile(next((b / "delivery").rglob("*.mid")))
    tempos = [msg.tempo for track in midi.tracks for msg in track if msg.type == "set_tempo"]
    assert tempos[0] == mido.bpm2tempo(take["tempo_map"]["tempos"][0]["bpm"])


@pytest.mark.slow
def test_every_old_hit_is_kept_re_planned_or_reported_lost(conformed: tuple[Path, Path]) -> None:
    a, b = conformed
    report = json.loads((b / "conform.json").read_text())
    old_hits = [m for m in json.loads((a / "take.json").read_text())["markers"] if m["kind"] == "hit"]
    new_times = [m["time"] for m in json.loads((b / "take.json").read_text())["markers"]]
    fates = report["hits_kept"] + report["hits_replanned"] + report["hits_lost"]

    assert old_hits and sorted(h["old_time"] for h in fates) == sorted(h["time"] for h in old_hits)
    for hit in report["hits_kept"] + report["hits_replanned"]:
        assert min(abs(t - hit["time"]) for t in new_times) < 1e-9
    assert all(h["reason"] for h in report["hits_lost"])


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
    new = cut((A_MEDIA, 0, 100), (C_MEDIA, 0, 100))  # B removed: C's frames move 100 earlier
    markers = [Marker(0.5, "a"), Marker(5.0, "on b", "user"), Marker(9.0, "on c", "user")]
    moved, lost = move_markers(markers, conform_plan(OLD, new), OLD, new)
    assert [(m.name, round(m.time, 9)) for m in moved] == [("a", 0.5), ("on c", 5.0)]
    assert [m.name for m in lost] == ["on b"]


def test_a_marker_on_a_shots_first_frame_at_2997_moves_with_that_frame() -> None:
    # 8.008 s is frame 240, C's first, though 8.008 as a float times 30000/1001 is a hair under 240 (B's last frame)
    old = cut((A_MEDIA, 0, 120), (B_MEDIA, 0, 120), (C_MEDIA, 0, 120), rate=NTSC)
    new = cut((A_MEDIA, 0, 120), (C_MEDIA, 0, 120), rate=NTSC)
    moved, lost = move_markers([Marker(240 * 1001 / 30000, "on c", "user")], conform_plan(old, new), old, new)
    assert [(m.name, round(m.time, 9)) for m in moved] == [("on c", 4.004)] and lost == []

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
def test_another_delivery_rate_is_refused_naming_the_export_that_gives_it(conformed: tuple[Path, Path], tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    a, b = conformed
    recut = json.loads((b / "conform.json").read_text())["new_timeline"]
    code = main(["conform", str(next(a.glob("*.expotion"))), recut, "-o", str(tmp_path / "out"), "--sample-rate",
                 "44100"])
    error = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(error) == 1 and "--sample-rate 44100" in error[0]
    assert "expotion export" in error[0] and str(tmp_path / "out") in error[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_session_that_records_no_timeline_needs_old(conformed: tuple[Path, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    a, b = conformed
    session = Session.load(next(a.glob("*.expotion")))
    session.timeline = None
    session.path = tmp_path / "scored.expotion"
    session.save()
    recut = json.loads((b / "conform.json").read_text())["new_timeline"]
    code = main(["conform", str(session.path), recut, "-o", str(tmp_path / "out")])
    error = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(error) == 1 and "name it with --old" in error[0]
    assert not (tmp_path / "out").exists()
