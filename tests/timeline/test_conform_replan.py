"""Conform of a procedural take: whole old bars kept sample for sample, the bars between re-planned with the same seed.

Version A (five shots, 27 s) is scored by the procedural engine; version B trims shot 2 by
12 frames, removes shot 3, swaps shots 4 and 5 and extends shot 4 by 20 frames. The
recut's controls are A's moved with the picture (see :mod:`tests.timeline.recut`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from expotion_engine.engines.procedural.compose import compose
from expotion_engine.types import MeterChange, Take, TempoChange, TempoMap
from studio.export.job import ExportJob, ExportSettings
from studio.export.registry import export_delivery
from studio.timeline import Timeline
from studio.timeline.conform import ConformPlan, conform_plan
from studio.timeline.conform_audio import ConformResult, Keep, conform_take, take_length
from studio.timeline.conform_bars import MAX_STRETCH
from tests.timeline.recut import FPS, SR, VERSION_A, VERSION_B, cut, request, scored_a

#: an accent is heard "on" a hit within this (s)
ON_HIT_S = 0.040


@dataclass(frozen=True)
class Conformed:
    old: Take
    result: ConformResult
    plan: ConformPlan
    old_tl: Timeline
    new_tl: Timeline


@pytest.fixture(scope="module")
def conformed() -> Conformed:
    old_tl, new_tl = cut(VERSION_A, "a"), cut(VERSION_B, "b")
    old = scored_a()
    plan = conform_plan(old_tl, new_tl)
    return Conformed(old, conform_take(old, plan, old_tl, new_tl, request(VERSION_B)), plan, old_tl, new_tl)


def _onsets(take: Take) -> np.ndarray:
    return np.array(sorted({n.start for s in take.stems for n in s.notes}))


def test_the_recut_has_b_s_length_to_the_sample_and_is_re_planned(conformed: Conformed) -> None:
    take = conformed.result.take
    assert take.n_samples == take_length(conformed.new_tl, SR) == round(583 / FPS * SR)
    assert all(s.audio.shape[1] == take.n_samples for s in take.stems)
    assert conformed.result.method == "replan" and take.info["conform"]["method"] == "replan"


@pytest.mark.slow
def test_kept_bars_are_the_old_take_sample_for_sample_outside_the_crossfades(conformed: Conformed) -> None:
    old, result = conformed.old, conformed.result
    half = result.crossfade // 2 + 1
    keeps = result.bars.keeps
    assert keeps[0].action == "keep" and {k.action for k in keeps[1:]} == {"move"}
    for keep in keeps:
        first = keep.start + (half if keep.start else 0)
        last = keep.end - half
        for got, want in [(result.take.mix, old.mix), *((n.audio, o.audio) for n, o in
                                                         zip(result.take.stems, old.stems, strict=True))]:
            assert np.array_equal(got[:, first:last], want[:, first + keep.offset:last + keep.offset])
    # every moved or kept shot holding three whole old bars keeps some of them (a bridge takes at most a bar a side)
    old_bars = [round(t * SR) for t in old.tempo_map.downbeat_times(old.duration)]
    for piece in (p for p in result.pieces if p.old_start is not None):
        whole = [b for b in old_bars if piece.old_start <= b <= piece.old_start + piece.end - piece.start]
        if len(whole) >= 4:
            assert any(k.offset == piece.old_start - piece.start for k in keeps)
    assert sum(k.end - k.start for k in keeps) / result.take.n_samples > 0.4


def test_joins_are_bar_lines_of_both_the_old_take_and_the_recut(conformed: Conformed) -> None:
    old, result = conformed.old, conformed.result
    old_bars = [round(t * SR) for t in old.tempo_map.downbeat_times(old.duration)]
    new_bars = [round(t * SR) for t in result.take.tempo_map.downbeat_times(result.take.duration)]
    for keep in result.bars.keeps:
        for edge in (keep.start, keep.end):
            if edge < result.take.n_samples:
                assert min(abs(edge + keep.offset - b) for b in old_bars) <= 1
                assert min(abs(edge - b) for b in new_bars) <= 2
    for bridge in result.bars.bridges:
        assert bridge.bend <= MAX_STRETCH
        if bridge.role != "tail":
            assert bridge.beats == int(bridge.beats) >= 1
    assert result.joins and set(result.joins) <= {s.start for s in result.bars.segments}


def test_the_recut_s_edits_in_bridges_land_on_the_grid_and_the_old_ending_stays_at_the_end(conformed: Conformed
                                                                                          ) -> None:
    old, result = conformed.old, conformed.result
    tempo_map = result.take.tempo_map
    edits = [f / FPS for f in conformed.new_tl.edit_frames]
    for bridge in result.bars.bridges:
        inside = [t for t in edits if bridge.start / SR + 0.1 < t < bridge.end / SR - 0.1]
        assert set(inside) <= set(bridge.anchors)
        for time in bridge.anchors:  # on a 16th to within a sample (the kept bars' beats are whole to a sample)
            grid = tempo_map.time_at(round(tempo_map.beat_at(time) * 4) / 4)
            assert abs(grid - time) < 1 / SR
        # past its opening short bar, the bridge's bar lines are the composer's (whole 4/4 bars from the start)
        downbeats = [t for t in tempo_map.downbeat_times(result.take.duration)
                     if bridge.start / SR + 1e-3 < t < bridge.end / SR - 1e-3]
        assert all(abs(tempo_map.beat_at(t) / 4 - round(tempo_map.beat_at(t) / 4)) < 1e-3 for t in downbeats)
    # the old take's slowing into its cadence (its last bars) is kept only where it still ends the music
    cadence = float(old.info["cadence_time"])
    for keep in result.bars.keeps:
        if keep.end < result.take.n_samples:
            assert (keep.end + keep.offset) / SR <= cadence - 60.0 / old.tempo_map.bpm_at(cadence)


def test_every_surviving_hit_has_an_accent_within_40_ms(conformed: Conformed) -> None:
    take = conformed.result.take
    onsets = _onsets(take)
    hits = [m for m in take.markers if m.kind == "hit"]
    distances = [float(np.min(np.abs(onsets - m.time))) for m in hits]
    assert len(hits) >= 6 and max(distances) <= ON_HIT_S
    # the recut's edits are all hits of the conformed take (moved with a kept bar or re-planned onto a beat)
    edits = {round(m.time * FPS, 6) for m in hits if m.cause == "edit"}
    assert edits == {float(f) for f in conformed.new_tl.edit_frames}


def test_hits_move_with_their_picture_and_the_report_says_what_became_of_each(conformed: Conformed) -> None:
    result = conformed.result
    fates = {h.name + f"@{h.old_time:g}": h for h in result.hits}
    old_hits = [m for m in conformed.old.markers if m.kind == "hit"]
    assert len(fates) == len(old_hits)
    for hit in result.hits:
        frame = int(round(hit.old_time * FPS))
        target = conformed.plan.to_new(frame)
        if hit.fate == "lost":
            assert hit.reason
        else:
            assert target is not None and hit.time == pytest.approx(target / FPS, abs=0.045)
    # the trimmed head of shot 2 took A's first edit with it; shot 3's frames were removed
    assert fates["edit 1@6"].fate == "lost" and "cut" in fates["edit 1@6"].reason
    assert fates["edit 2@12"].fate == "lost"
    assert result.kept_hits >= 2


def test_kept_bars_keep_the_old_notes_and_bridges_have_the_same_seed_s_new_notes(conformed: Conformed) -> None:
    old, result = conformed.old, conformed.result
    fresh = compose(request(VERSION_B), tempo_map=result.take.tempo_map)
    for stem in result.take.stems:
        for keep in result.bars.keeps:
            shift = -keep.offset / SR
            got = [(n.pitch, round(n.start, 6)) for n in stem.notes if keep.start <= n.start * SR < keep.end]
            want = [(n.pitch, round(n.start + shift, 6)) for n in old.stem(stem.name).notes
                    if keep.start <= (n.start + shift) * SR < keep.end]
            assert got == want
        bridged = [b for b in result.bars.bridges]
        got = [(n.pitch, round(n.start, 6)) for n in stem.notes
               if any(b.start <= n.start * SR < b.end for b in bridged)]
        want = [(n.pitch, round(n.start, 6)) for n in fresh.part(stem.name).notes
                if any(b.start <= n.start * SR < b.end for b in bridged)]
        assert got and set(got) <= set(want)


def test_the_tempo_map_is_the_kept_bars_own_and_bridges_within_the_limits(conformed: Conformed) -> None:
    old, result = conformed.old, conformed.result
    tempo_map = result.take.tempo_map
    for keep in result.bars.keeps:
        middle = (keep.start + keep.end) / 2
        assert tempo_map.bpm_at(middle / SR) == pytest.approx(old.tempo_map.bpm_at((middle + keep.offset) / SR))
    for bridge in result.bars.bridges:
        if bridge.role == "join":  # against the beat before it and the tempo it leads into
            before = tempo_map.bpm_at(tempo_map.time_at(tempo_map.beat_at(bridge.start / SR) - 1.0))
            ref = 0.5 * (before + tempo_map.bpm_at(bridge.end / SR))
            assert all(abs(bpm / ref - 1.0) <= MAX_STRETCH + 1e-9 for _, bpm in bridge.tempos)
    assert isinstance(result.bars.segments[0], Keep)


def test_an_unchanged_cut_gives_the_old_take_bit_for_bit_without_re_planning(conformed: Conformed) -> None:
    old = conformed.old
    result = conform_take(old, conform_plan(conformed.old_tl, conformed.old_tl), conformed.old_tl, conformed.old_tl,
                          request(VERSION_A))
    assert not result.bars.bridges and not result.joins
    assert np.array_equal(result.take.mix, old.mix)
    assert all(np.array_equal(n.audio, o.audio) and n.notes == o.notes
               for n, o in zip(result.take.stems, old.stems, strict=True))
    assert result.take.tempo_map.tempos == old.tempo_map.tempos
    assert [h.fate for h in result.hits] == ["kept"] * len(result.hits) and not result.unaccented


@pytest.mark.slow
def test_a_conformed_take_conforms_again(conformed: Conformed) -> None:
    version_c = (("a", 0, 150), ("e", 0, 125), ("b", 12, 138), ("d", 0, 170))  # shots 2 and 3 of B swapped
    new_tl = cut(version_c, "c")
    first = conformed.result.take
    result = conform_take(first, conform_plan(conformed.new_tl, new_tl), conformed.new_tl, new_tl,
                          request(version_c))
    take = result.take
    half = result.crossfade // 2 + 1
    assert result.bars.keeps and take.n_samples == take_length(new_tl, SR)
    for keep in result.bars.keeps:
        first_sample, last = keep.start + (half if keep.start else 0), keep.end - half
        assert np.array_equal(take.mix[:, first_sample:last], first.mix[:, first_sample + keep.offset:
                                                                           last + keep.offset])
    times = [m.time for m in take.tempo_map.meters]
    assert times == sorted(set(times))
    onsets = _onsets(take)
    assert max(float(np.min(np.abs(onsets - m.time))) for m in take.markers if m.kind == "hit") <= ON_HIT_S


@pytest.mark.slow
def test_the_conform_is_deterministic(conformed: Conformed) -> None:
    again = conform_take(conformed.old, conformed.plan, conformed.old_tl, conformed.new_tl, request(VERSION_B))
    assert np.array_equal(again.take.mix, conformed.result.take.mix)
    assert again.take.markers == conformed.result.take.markers


@pytest.mark.slow
def test_every_delivery_format_carries_the_conformed_tempo_map(conformed: Conformed, tmp_path: Path) -> None:
    take = conformed.result.take
    job = ExportJob(take=take, title="Recut", timecode_start=3600.0, fps=FPS, markers=take.markers,
                    settings=ExportSettings(sample_rate=2 * SR))
    export_delivery(job, tmp_path, formats=["audio", "midi", "markers", "reaper", "dawproject"])
    assert sf.info(tmp_path / "Recut_mix.wav").frames == 2 * take.n_samples  # the recut's length, resampled
    midi = mido.MidiFile(tmp_path / "Recut.mid")
    signatures = [m.numerator for track in midi.tracks for m in track if m.type == "time_signature"]
    tempos = [m.tempo for track in midi.tracks for m in track if m.type == "set_tempo"]
    assert signatures == [m.numerator for m in take.tempo_map.meters] and len(set(signatures)) > 1
    assert tempos == [mido.bpm2tempo(c.bpm) for c in take.tempo_map.tempos]
    envelope = [line.split() for line in (tmp_path / "Recut.rpp").read_text().splitlines()
                if line.strip().startswith("PT ")]
    meter_points = [p for p in envelope if len(p) > 4]
    assert len(meter_points) == len(take.tempo_map.meters)


def test_a_recut_shorter_than_two_bars_is_re_planned_on_the_engine_s_own_fit() -> None:
    """A given map with no whole bar before its cadence would collapse the score into one chord."""
    short = (("a", 0, 25), ("b", 0, 25), ("c", 0, 28))  # 3.12 s: under four beats at 75 BPM
    one_bar = TempoMap(tempos=(TempoChange(0.0, 75.0),), meters=(MeterChange(0.0, 4, 4),))
    score = compose(request(short, bpm=None), tempo_map=one_bar)
    onsets = sorted({n.start for p in score.parts for n in p.notes})
    hits = [m.time for m in score.markers if m.kind == "hit"]

    assert hits and score.info["bars"] >= 2
    assert len(onsets) > 4 and onsets[-1] > 1.5
    assert all(min(abs(t - h) for t in onsets) <= ON_HIT_S for h in hits)
