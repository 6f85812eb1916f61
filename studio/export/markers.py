"""Marker lists: a CSV for editors (Premiere/Resolve-style columns, timecode at the job's
timecode rate) and an Audacity label track (seconds from music time 0).

The CSV's In/Out are the record timecode of each marker (``job.start_seconds`` + music
time) so a marker list lines up with the picture; a "Seconds" column keeps the exact music
time. Sections are ranges (In to the next section), everything else a point.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from studio.export.cues import Cue, cues
from studio.export.job import DeliveryFolder, ExportJob
from studio.timecode import format_frames, format_timecode, to_frame

CSV_COLUMNS = (
    "Marker Name", "Description", "In", "Out", "Duration", "Marker Type", "Color", "Kind", "Seconds",
)
_DESCRIPTIONS = {"section": "Section start", "hit": "Hit point", "cue": "Cue", "user": "User marker"}


def _csv_row(cue: Cue, job: ExportJob) -> dict[str, str]:
    description = cue.marker.comment or _DESCRIPTIONS[cue.marker.kind]  # the user's comment where there is one
    if cue.marker.kind == "hit":
        description += f" (strength {cue.marker.strength:.2f})"
    return {
        "Marker Name": cue.full_name,
        "Description": description,
        "In": format_timecode(job.start_seconds + cue.start, job.tc),
        "Out": format_timecode(job.start_seconds + cue.end, job.tc),
        "Duration": format_frames(to_frame(job.start_seconds + cue.end, job.tc)
                                  - to_frame(job.start_seconds + cue.start, job.tc), job.tc),
        "Marker Type": "Comment",
        "Color": cue.color_name.title(),
        "Kind": cue.marker.kind,
        "Seconds": f"{cue.start:.6f}",
    }


def write_markers(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>_markers.csv`` and ``<title>_markers.txt`` (an Audacity label track)."""
    items = cues(job)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_csv_row(cue, job) for cue in items)
    labels = "".join(f"{cue.start:.6f}\t{cue.end:.6f}\t{' '.join(cue.label.split())}\n" for cue in items)
    return [
        folder.write_text(job.file("_markers.csv"), buffer.getvalue()),
        folder.write_text(job.file("_markers.txt"), labels),
    ]
