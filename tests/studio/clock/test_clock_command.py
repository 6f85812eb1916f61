"""``expotion clock``: reading the tempo map from a session, a take folder or take.json, and its user errors."""

from __future__ import annotations

import json
import math

import pytest

from expotion_engine.types import MeterChange, TempoChange, TempoMap
from studio.cli import main
from studio.commands.clock import load_source

TEMPO_MAP = TempoMap((TempoChange(0.0, 96.0), TempoChange(3.0, 128.0)), (MeterChange(0.0, 3, 4),), anchor=0.25)


def one_sentence_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("expotion: error: ")
    return lines[0]


def test_take_folder_and_take_json_give_the_same_map(make_take) -> None:
    folder = make_take(TEMPO_MAP, 4.5, request={"controls": {"source": {"start": 12.5}}})
    for source in (folder, folder / "take.json"):
        loaded = load_source(source)
        assert loaded.tempo_map == TEMPO_MAP
        assert loaded.duration == pytest.approx(4.5)
        assert loaded.timecode == pytest.approx(12.5)  # music time 0 is the analysed range's start


def test_session_file_uses_its_chosen_take_and_timecode(make_take, tmp_path) -> None:
    from studio.session import Session, TakeRecord

    session = Session(timecode_start=3600.0, video_in=2.0, frame_rate=25.0)
    session.save(tmp_path / "film.expotion")
    folder = make_take(TEMPO_MAP, 4.5)
    session.add_take(TakeRecord(id="take-001", folder=folder, engine="test", seed=0))
    session.save()
    loaded = load_source(tmp_path / "film.expotion")
    assert loaded.tempo_map == TEMPO_MAP
    assert loaded.duration == pytest.approx(4.5)
    assert loaded.timecode == pytest.approx(3602.0)


def test_session_without_a_take_is_a_clear_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from studio.session import Session

    Session().save(tmp_path / "empty.expotion")
    assert main(["clock", str(tmp_path / "empty.expotion"), "--virtual"]) == 2
    assert "has no chosen take yet" in one_sentence_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        ("{not json", "not readable as a take"),
        (json.dumps({"format": "something.else"}), "not an Expotion take"),
        (json.dumps({"format": "expotion.take", "version": 99}), "written by a newer Expotion"),
        (json.dumps({"format": "expotion.take", "version": 1}), "tempo map or length is missing or bad"),
    ],
    ids=["missing", "not-json", "other-format", "future", "no-tempo-map"],
)
def test_bad_take_json_is_one_sentence(tmp_path, capsys, content: str | None, expected: str) -> None:
    path = tmp_path / "take.json"
    if content is not None:
        path.write_text(content)
    assert main(["clock", str(path), "--virtual"]) == 2
    message = one_sentence_error(capsys.readouterr().err)
    assert expected in message and "take.json" in message


def test_a_video_given_as_the_source_is_named_as_the_wrong_kind_of_file(tmp_path, capsys) -> None:
    video = tmp_path / "film.mp4"
    video.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(range(256)))
    assert main(["clock", str(video), "--virtual"]) == 2
    message = one_sentence_error(capsys.readouterr().err)
    assert "film.mp4: not a session file (.expotion), a take folder or a take.json." in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "Choose where the clock goes"),
        (["--virtual", "--timecode", "01:00:00:00"], "add --mtc 24, 25 or 30"),
        (["--virtual", "--mtc", "25", "--timecode", "01:00:00:30"], "out of range at 25 fps"),
        (["--virtual", "--start", "9"], "start must be >= 0 and < end"),
        (["--virtual", "--preroll", "-1"], "Preroll -1.0 s must be >= 0"),
    ],
)
def test_option_mistakes_are_one_sentence(make_take, capsys, extra: list[str], expected: str) -> None:
    folder = make_take(TEMPO_MAP, 4.5)
    assert main(["clock", str(folder), *extra]) == 2
    assert expected in one_sentence_error(capsys.readouterr().err)


def test_no_source_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clock", "--virtual"]) == 2
    assert "Name the session file, take folder or take.json" in one_sentence_error(capsys.readouterr().err)


def test_unreachable_midi_system_is_one_sentence(make_take, monkeypatch, capfd) -> None:
    rtmidi = pytest.importorskip("rtmidi")
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.skip("this python-rtmidi is built without JACK support")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "expotion-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    folder = make_take(TEMPO_MAP, 4.5)
    assert main(["clock", str(folder), "--virtual", "--api", "jack"]) == 2
    message = one_sentence_error(capfd.readouterr().err)
    assert "No MIDI output is available through the jack MIDI API" in message


@pytest.mark.parametrize(("written", "mtc", "code", "start"), [
    ("23.976", 24, 0, "01:00:00:00"), ("23.976", 24, 0, "10:00:00:00"),
    ("29.97", 30, 2, "01:00:00;00"), ("29.97", 30, 2, "10:09:58;20"),
])
def test_mtc_of_an_ntsc_session_counts_the_pictures_frames(make_take, tmp_path, written, mtc, code, start) -> None:
    """A 23.976 session sent as 24 fps MTC (29.97 drop frame as 30 drop frame) locates at the picture's own timecode
    and stays on it for a minute: the frame showing at music time t is labelled as the delivery labels it (not
    3.6 s on per hour of timecode, and across the minutes whose first labels drop frame skips)."""
    from studio.clock import clock_messages
    from studio.session import Session, TakeRecord
    from studio.timecode import format_frames, parse_rate, parse_timecode
    from tests.studio.clock.test_clock_timing import decode_quarter_frames

    def playing(seconds: float) -> str:
        return format_frames(int(math.floor(seconds * rate.rate + 1e-6)), rate).replace(";", ":")

    rate = parse_rate(written)
    session = Session(timecode_start=parse_timecode(start, rate), frame_rate=float(rate.rate), timecode_rate=written)
    session.save(tmp_path / "film.expotion")
    session.add_take(TakeRecord(id="take-001", folder=make_take(TEMPO_MAP, 70.0), engine="test", seed=0))
    session.save()
    source = load_source(tmp_path / "film.expotion")
    timecode, speed, drop = source.mtc_origin(mtc, None)
    messages = clock_messages(TEMPO_MAP, 1.0, 61.0, mtc=mtc, timecode=timecode, speed=speed, drop_frame=drop)
    sysex = messages[0].message.bytes()
    located = f"{sysex[5] & 0x1F:02d}:{sysex[6]:02d}:{sysex[7]:02d}:{sysex[8]:02d}"
    assert sysex[5] >> 5 == code and located == playing(source.timecode + 1.0)
    cycles = decode_quarter_frames(messages)
    for time, rate_code, (h, m, s, f) in cycles:
        assert rate_code == code
        assert f"{h:02d}:{m:02d}:{s:02d}:{f:02d}" == playing(source.timecode + time)
