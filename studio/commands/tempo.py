"""``expotion tempo AUDIO [-o tempo_map.mid]``: beats, meter and tempo map of any audio file.

Prints the tempo changes, the meter and the first downbeat; ``-o`` writes a type-1
Standard MIDI File whose track 0 holds the tempo and time-signature changes (and a
marker at the first downbeat), ``--json`` the map and the detected beat times.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from expotion_engine.errors import ExportError
from expotion_engine.tempo import analyze_tempo
from expotion_engine.types import TempoMap, atomic_write_bytes, atomic_write_json
from studio.cli_help import DefaultsHelpFormatter
from studio.commands.stems import read_audio
from studio.preflight import check_output_path
from studio.progress_bar import progress_and_cancel

PPQ = 480


def tempo_map_midi(tempo_map: TempoMap, ppq: int = PPQ, length: float | None = None) -> bytes:
    """A type-1 SMF: track 0 with set_tempo and time_signature meta events at their ticks, ending at ``length``
    seconds (the audio's, so a DAW or notation program shows the whole piece, not up to the last tempo change)."""
    import mido

    events: list[tuple[int, int, mido.MetaMessage]] = []
    for meter in tempo_map.meters:
        events.append((tempo_map.seconds_to_ticks(meter.time, ppq), 0, mido.MetaMessage(
            "time_signature", numerator=meter.numerator, denominator=meter.denominator)))
    for change in tempo_map.tempos:
        events.append((tempo_map.seconds_to_ticks(change.time, ppq), 1,
                       mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(change.bpm))))
    events.append((tempo_map.seconds_to_ticks(tempo_map.anchor, ppq), 2,
                   mido.MetaMessage("marker", text="first downbeat")))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="Tempo map", time=0)])
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    if length is not None:
        track.append(mido.MetaMessage("end_of_track", time=max(tempo_map.seconds_to_ticks(length, ppq) - now, 0)))
    midi = mido.MidiFile(type=1, ticks_per_beat=ppq)
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tempo",
        help="detect beats, meter and tempo changes of an audio file",
        description="Track beats and downbeats of an audio file and build a smoothed tempo map "
                    "(tempo changes only where the music changes, meter from the downbeat pattern).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("audio", type=Path, help="audio file (WAV, FLAC, OGG, MP3)")
    p.add_argument("-o", "--output", type=Path, default=None, help="write the tempo map as a MIDI file (.mid)")
    p.add_argument("--json", type=Path, default=None, help="write the tempo map and beat times as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.output is not None and args.output.suffix.lower() not in (".mid", ".midi"):
        raise ExportError(f"{args.output}: a tempo map is written as a MIDI file; use a .mid name.")
    check_output_path(args.output)
    check_output_path(args.json)
    audio, rate = read_audio(args.audio)
    with progress_and_cancel("tempo") as (progress, cancel):
        result = analyze_tempo(audio, rate, progress=progress, cancel=cancel)
    tempo_map = result.tempo_map
    if args.output is not None:
        atomic_write_bytes(args.output, tempo_map_midi(tempo_map, length=audio.shape[1] / rate))
    if args.json is not None:
        atomic_write_json(args.json, {"tempo_map": tempo_map.to_dict(), "beats": [round(float(t), 4) for t in
                                      result.beats], "downbeats": [round(float(t), 4) for t in result.downbeats],
                                      "info": result.info})
    meter = tempo_map.meter_at(tempo_map.anchor)
    changes = ", ".join(f"{c.bpm:.2f} BPM at {c.time:.2f} s" for c in tempo_map.tempos)
    print(f"{len(result.beats)} beats, {meter.numerator}/{meter.denominator}, first downbeat at "
          f"{tempo_map.anchor:.3f} s; tempo: {changes}", file=sys.stderr)
    if "note" in result.info:
        print(f"note: {result.info['note']}", file=sys.stderr)
    for path in (args.output, args.json):
        if path is not None:
            print(f"wrote {path}", file=sys.stderr)
    return 0
