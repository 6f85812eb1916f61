"""Delivery exporters: one module per format, in a registry keyed by format name.

Each exporter is ``write(job, folder) -> list[Path]`` (optionally with keyword-only
``progress`` and ``cancel``): it reads an :class:`ExportJob` and writes through a
:class:`DeliveryFolder` (inside the output folder only, atomic, no silent overwrite).
Project formats refer to the audio files that the ``audio`` exporter writes
(:meth:`ExportJob.stem_file`, :attr:`ExportJob.mix_file`). :func:`export_delivery`
runs a chosen set of formats; :data:`FORMATS` lists them.
"""

from studio.export.job import (
    BIT_DEPTHS,
    MIDI_START,
    SAMPLE_RATES,
    TIMELINE_AUDIO,
    VIDEO_AUDIO,
    VIDEO_TRACKS,
    DeliveryFolder,
    ExportJob,
    ExportSettings,
    safe_name,
)
from studio.export.registry import FORMATS, export_delivery, planned_files

__all__ = [
    "BIT_DEPTHS",
    "FORMATS",
    "MIDI_START",
    "SAMPLE_RATES",
    "TIMELINE_AUDIO",
    "VIDEO_AUDIO",
    "VIDEO_TRACKS",
    "DeliveryFolder",
    "ExportJob",
    "ExportSettings",
    "export_delivery",
    "planned_files",
    "safe_name",
]
