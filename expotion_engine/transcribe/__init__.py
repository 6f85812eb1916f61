"""Audio to MIDI notes for pitched stems (bass, melody, harmony) with basic-pitch.

    from expotion_engine.transcribe import transcribe, add_notes
    notes = transcribe(bass_audio, 32000)                 # tuple[Note, ...]
    stems, note = add_notes(stems, 32000)                 # pitched stems get notes

Where basic-pitch cannot run, :func:`transcribe` raises ``TranscriptionUnavailable`` and
:func:`add_notes` leaves the stems as they are and returns the reason.
"""

from expotion_engine.transcribe.basic_pitch import TranscriptionUnavailable, availability, transcribe
from expotion_engine.transcribe.stems import PITCHED_STEMS, add_notes

__all__ = ["PITCHED_STEMS", "TranscriptionUnavailable", "add_notes", "availability", "transcribe"]
