"""studio.timecode against OpenTimelineIO's timecode arithmetic (an independent implementation)."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from studio.timecode import (
    SMPTE_RATES,
    TimecodeError,
    TimecodeRate,
    check_delivery_rate,
    choose_rate,
    format_frames,
    format_timecode,
    parse_frames,
    parse_rate,
    parse_timecode,
    smpte_rate,
    to_frame,
)

FRAMES = [*range(0, 3000, 7), *range(17970, 18010), *range(107880, 107900), 2589000, 5178809]


@pytest.mark.parametrize("spec", ["23.976", "24", "25", "29.97", "29.97ndf", "30", "47.952", "48", "50",
                                  "59.94", "59.94ndf", "60"])
def test_labels_match_opentimelineio_and_parse_back(spec):
    rate = parse_rate(spec)
    day = 144 * (rate.nominal * 600 - (rate.nominal // 15 if rate.drop_frame else 0) * 9)
    for frame in FRAMES:
        label = format_frames(frame, rate)
        if frame < day:
            expected = otio.opentime.to_timecode(otio.opentime.RationalTime(frame, rate.fps), rate.fps,
                                                 rate.drop_frame)
            assert label == expected
            assert parse_frames(label, rate) == frame
        else:
            assert parse_frames(label, rate) == frame % day  # wraps at 24 hours


def test_drop_frame_labels_skip_the_first_frames_of_each_minute_but_every_tenth():
    df = parse_rate("29.97")
    assert (df.drop_frame, df.label, df.separator) == (True, "29.97 DF", ";")
    assert format_frames(1799, df) == "00:00:59;29" and format_frames(1800, df) == "00:01:00;02"
    assert format_frames(17982, df) == "00:10:00;00"
    with pytest.raises(TimecodeError, match="does not exist in drop frame"):
        parse_frames("00:01:00;01", df)
    assert format_frames(3600, parse_rate("59.94")) == "00:01:00;04"
    assert parse_timecode("01:00:00;00", df) == pytest.approx(107892 * 1001 / 30000)


def test_one_rounding_rule_halves_round_up():
    rate = parse_rate("25")
    # 40.5 and 41.5 frames both go up (Python's round() would give 40 and 42), a hair below half goes down
    assert [to_frame(t, rate) for t in (1.62, 1.64, 1.66, 0.0199999)] == [41, 41, 42, 0]
    assert format_timecode(3600 + 1.66, rate) == "01:00:01:17"


@pytest.mark.parametrize(("fps", "label", "mapped"), [
    (10.0, "30", True), (12.0, "24", True), (12.5, "25", True), (15.0, "30", True), (20.0, "60", True),
    (7.0, "24", True), (25.0, "25", False), (30000 / 1001, "29.97 DF", False), (23.976, "23.976", False),
    (60000 / 1001, "59.94 DF", False), (50.0, "50", False), (48.0, "50", True), (16.0, "24", True),
])
def test_every_frame_rate_gets_a_timecode_rate(fps, label, mapped):
    choice = choose_rate(fps)
    assert (choice.rate.label, choice.mapped, choice.declared) == (label, mapped, False)
    assert ("counted as" in choice.note) == mapped


def test_a_declared_rate_wins_and_says_so():
    choice = choose_rate(10.0, "25")
    assert (choice.rate.label, choice.declared, choice.mapped) == ("25", True, True)
    assert choice.note == "the video's 10 frames/s is counted as 25 frames/s timecode (as declared)"
    assert choose_rate(25.0, "25").mapped is False


@pytest.mark.parametrize("text", ["12.5", "31", "fast", "25df", "0", "1/0"])
def test_rates_that_are_not_smpte_are_refused_clearly(text):
    with pytest.raises(TimecodeError, match="not an SMPTE rate|drop frame exists only"):
        parse_rate(text)


def test_rate_texts_round_trip():
    for written in SMPTE_RATES:
        rate = smpte_rate(written)
        assert rate is not None and parse_rate(rate.spec) == rate
    assert parse_rate("30000/1001") == parse_rate("29.97") == TimecodeRate(30, ntsc=True, drop_frame=True)
    for spec in ("29.97ndf", "48", "47.952"):
        with pytest.raises(TimecodeError, match="not offered for deliveries"):
            check_delivery_rate(parse_rate(spec))
    assert check_delivery_rate(parse_rate("59.94")).label == "59.94 DF"


@pytest.mark.parametrize(("text", "message"), [
    ("00:00:00:25", "out of range at 25"), ("1 hour", "not HH:MM:SS:FF"), ("-3", ">= 0"), ("00:61:00:00", "out of"),
])
def test_bad_timecodes_are_one_clear_sentence(text, message):
    with pytest.raises(TimecodeError, match=message):
        parse_timecode(text, parse_rate("25"))
