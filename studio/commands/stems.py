"""``expotion stems AUDIO -o DIR``: split any audio file into DAW-named stems.

Writes ``DIR/<stem>.wav`` (32-bit float at the input's rate and length), ``DIR/stems.json``
(method, model, residual of the stems' sum against the mix) and, with ``--notes``,
``DIR/notes.mid`` holding one track of transcribed notes per pitched stem. A run into a folder an
earlier run wrote removes the files of that run (as its ``stems.json`` lists them) it does not write
again, never other files, so the folder's WAVs always sum to the mix.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
from pathlib import Path

import numpy as np

from expotion_engine.errors import AudioError
from expotion_engine.progress import sub_progress
from expotion_engine.stems import DEFAULT_MODEL, MODELS, separate
from expotion_engine.types import Stem, atomic_write_bytes, atomic_write_json
from studio.cli_help import DefaultsHelpFormatter
from studio.preflight import check_output_path
from studio.progress_bar import progress_and_cancel

log = logging.getLogger(__name__)

PPQ = 480
REPORT = "stems.json"
NOTES = "notes.mid"
NOTE_BPM = 120.0
MAX_CHANNELS = 2  # Demucs and the DSP split take mono or stereo


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """``(float32 (channels, samples), sample rate)`` of an audio file, or one AudioError."""
    import soundfile as sf

    if path.is_dir():
        raise AudioError(f"{path}: is a folder; give an audio file.")
    if not path.is_file():
        raise AudioError(f"{path}: file not found.")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"{path}: cannot read audio ({exc}); use WAV, FLAC, OGG or MP3.") from None
    if audio.shape[0] == 0:
        raise AudioError(f"{path}: the file holds no audio samples.")
    return np.ascontiguousarray(audio.T), int(rate)


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """A 32-bit float WAV of ``(channels, samples)`` audio, in memory."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, audio.T, rate, subtype="FLOAT", format="WAV")
    return buffer.getvalue()


def notes_midi(stems: list[Stem], bpm: float = NOTE_BPM) -> bytes:
    """A type-1 MIDI file with one track per stem that has notes (times at ``bpm``)."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)])
    midi.tracks.append(conductor)
    channels = [c for c in range(16) if c != 9]
    for stem, channel in zip([s for s in stems if s.notes], channels, strict=False):
        events: list[tuple[int, int, mido.Message]] = []
        for note in stem.notes:
            on = int(round(note.start * bpm / 60.0 * PPQ))
            off = max(int(round(note.end * bpm / 60.0 * PPQ)), on + 1)
            events.append((on, 1, mido.Message("note_on", note=note.pitch, velocity=note.velocity, channel=channel)))
            events.append((off, 0, mido.Message("note_off", note=note.pitch, velocity=0, channel=channel)))
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=stem.name, time=0),
                                mido.Message("program_change", program=stem.notes[0].program, channel=channel)])
        now = 0
        for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(message.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def previous_files(folder: Path) -> set[str]:
    """The files an earlier run wrote into ``folder``, as its ``stems.json`` names them (none when it is missing or
    unreadable): a run that writes fewer stems removes the others, so the folder's WAVs still sum to the mix."""
    try:
        report = json.loads((folder / REPORT).read_text(encoding="utf-8"))
        files = {str(stem["file"]) for stem in report["stems"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    files = {name for name in files if name == Path(name).name and name.endswith(".wav")}
    return files | ({NOTES} if any(stem.get("notes") for stem in report["stems"] if isinstance(stem, dict)) else set())


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "stems",
        help="separate an audio file into drums, bass, other, vocals ... stems",
        description="Separate an audio file into DAW-named stems with Demucs (weights from a local model "
                    "folder or the torch/Hugging Face caches; fetch with `expotion models pull htdemucs`), "
                    "or with the DSP filter separation (--model dsp, or --fallback when weights are missing).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("audio", type=Path, help="audio file (WAV, FLAC, OGG, MP3)")
    p.add_argument("-o", "--output", type=Path, default=Path("stems"), help="folder for the stem files")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"Demucs model ({', '.join(MODELS)}, or a bag in --repo) or 'dsp'")
    p.add_argument("--repo", type=Path, default=None, help="local model folder holding <model>.yaml and its .th files")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: the best available)")
    p.add_argument("--fallback", action="store_true", help="use the DSP stems if the Demucs weights are missing")
    p.add_argument("--notes", action="store_true", help="transcribe pitched stems to notes.mid (basic-pitch)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output_path(args.output, folder=True)
    audio, rate = read_audio(args.audio)
    if audio.shape[0] > MAX_CHANNELS:
        raise AudioError(f"{args.audio}: the file has {audio.shape[0]} channels; stems takes mono or stereo audio "
                         "(mix it down first).")
    note = None
    with progress_and_cancel("stems") as (progress, cancel):
        stems = separate(audio, rate, model=args.model, repo=args.repo, device=args.device, fallback=args.fallback,
                         progress=sub_progress(progress, 0.0, 0.9 if args.notes else 1.0), cancel=cancel)
        if args.notes:
            from expotion_engine.transcribe import add_notes

            stems, note = add_notes(stems, rate, progress=sub_progress(progress, 0.9, 1.0), cancel=cancel)
    previous = previous_files(args.output)
    written = {f"{stem.name}.wav" for stem in stems}
    for stem in stems:
        atomic_write_bytes(args.output / f"{stem.name}.wav", wav_bytes(stem.audio, rate))
    if any(s.notes for s in stems):
        atomic_write_bytes(args.output / NOTES, notes_midi(stems))
        written.add(NOTES)
    atomic_write_json(args.output / REPORT, {
        "input": str(args.audio),
        "sample_rate": rate,
        "n_samples": int(audio.shape[1]),
        "stems": [{"name": s.name, "file": f"{s.name}.wav", "origin": s.origin, "info": dict(s.info),
                   "notes": len(s.notes)} for s in stems],
        **({"notes_skipped": note} if note else {}),
    })
    for name in sorted(previous - written):
        (args.output / name).unlink(missing_ok=True)
        log.info("removed %s, a stem of the previous run in %s", name, args.output)
    info = stems[0].info
    method = info.get("model", info.get("method"))
    print(f"wrote {len(stems)} stems ({', '.join(s.name for s in stems)}) to {args.output} with {method}; "
          f"residual of their sum {info.get('residual_db')} dB", file=sys.stderr)
    if "fallback_reason" in info:
        print(f"note: DSP fallback used: {info['fallback_reason']}", file=sys.stderr)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0
