"""The conform report's table, read as a person reads it."""

from studio.commands.conform import report_lines


def _data(bars: int, joins: int) -> dict:
    return {
        "spans": [{"action": "keep", "new_frames": [0, 120], "old_frames": [0, 120], "seconds": 4.8}],
        "removed_old_frames": [], "removed_old_gaps": [],
        "music": [{"music": "kept", "seconds": [0.0, 4.8], "bars": bars, "moved_s": 0.0}],
        "joins": list(range(joins)), "crossfade_samples": 480, "method": "replan",
        "hits_kept": [], "hits_replanned": [], "hits_lost": [], "user_markers_lost": [],
        "recut_hits_without_accent": [],
    }


def test_one_bar_and_one_join_are_singular() -> None:
    text = "\n".join(report_lines(_data(bars=1, joins=1)))
    assert "1 bar of the old take" in text and "1 join at bar lines" in text
    assert "1 bars" not in text and "1 joins" not in text


def test_several_bars_and_joins_are_plural() -> None:
    text = "\n".join(report_lines(_data(bars=3, joins=2)))
    assert "3 bars of the old take" in text and "2 joins at bar lines" in text
