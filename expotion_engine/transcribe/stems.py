"""Give the pitched stems of a Take their notes; leave drums alone; say why when skipped."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, sub_progress
from expotion_engine.transcribe.basic_pitch import TranscriptionUnavailable, transcribe
from expotion_engine.types import Stem

log = logging.getLogger(__name__)

PITCHED_STEMS = ("bass", "other", "vocals", "guitar", "piano")
# General MIDI programs for the note tracks: electric bass (finger), piano, voice oohs, guitar.
PROGRAMS = {"bass": 33, "other": 0, "vocals": 53, "guitar": 25, "piano": 0}
SILENCE_RMS = 1e-4


def add_notes(
    stems: list[Stem],
    sample_rate: int,
    *,
    names: tuple[str, ...] = PITCHED_STEMS,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> tuple[list[Stem], str | None]:
    """``(stems, note)``: stems named in ``names`` get transcribed notes; ``note`` says why
    none did when basic-pitch cannot run here (the stems are then returned unchanged)."""
    chosen = [i for i, s in enumerate(stems) if s.name in names and not s.notes]
    out = list(stems)
    for k, i in enumerate(chosen):
        check_cancel(cancel)
        stem = stems[i]
        if float(np.sqrt(np.mean(np.square(stem.audio)))) < SILENCE_RMS:
            continue
        try:
            notes = transcribe(stem.audio, sample_rate, program=PROGRAMS.get(stem.name, 0),
                               progress=sub_progress(progress, k / len(chosen), (k + 1) / len(chosen)),
                               cancel=cancel)
        except TranscriptionUnavailable as exc:
            log.warning("Skipping audio-to-MIDI: %s", exc)
            return list(stems), f"Audio-to-MIDI skipped: {exc}"
        out[i] = replace(stem, notes=notes, info={**stem.info, "notes_from": "basic-pitch 0.4 (audio-to-MIDI)"})
    return out, None


__all__ = ["PITCHED_STEMS", "add_notes"]
