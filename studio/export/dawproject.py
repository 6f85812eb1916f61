"""A DAWproject file (``.dawproject``: the open exchange format of Bitwig, Studio One and
Cubase): a zip holding ``project.xml`` and ``metadata.xml`` per the format's schemas.

Contents: one audio track per stem plus the mix (muted), routed to a master track; each
holds one clip of its delivered BWF from music time 0, referenced *externally* (the spec's
``external="true"``: a path relative to the ``.dawproject`` file), so the delivery's audio
is not stored twice and the project opens from the delivery folder. Every timeline is in
seconds (``timeUnit="seconds"``), so clips and markers land exactly where the audio and
picture are whatever tempo the importer settles on; the tempo map is the arrangement's
tempo automation (hold points at each change) and time-signature automation, the markers
its cue markers (name, ``#rrggbb`` colour, kind as comment). Music time 0 is time 0; the
video's timecode is not expressible in the format and is named in ``metadata.xml``.
"""

from __future__ import annotations

import io
import zipfile
from itertools import count
from pathlib import Path
from xml.etree import ElementTree as ET

from studio.export.cues import cues
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.timeline import audio_files
from studio.timecode import format_timecode

FORMAT_VERSION = "1.0"
APPLICATION = ("Expotion Studio", "0.1.0")


def _num(value: float) -> str:
    return repr(float(value))


class _Ids:
    """Unique ``xs:ID`` values: ``id1``, ``id2``, …"""

    def __init__(self) -> None:
        self._next = count(1)

    def __call__(self) -> str:
        return f"id{next(self._next)}"


def _channel(parent: ET.Element, ids: _Ids, *, role: str, channels: int, muted: bool, destination: str | None) -> str:
    attrs = {"id": ids(), "role": role, "audioChannels": str(channels), "solo": "false"}
    if destination is not None:
        attrs["destination"] = destination
    channel = ET.SubElement(parent, "Channel", attrs)
    ET.SubElement(channel, "Mute", {"id": ids(), "name": "Mute", "value": "true" if muted else "false"})
    ET.SubElement(channel, "Pan", {"id": ids(), "name": "Pan", "unit": "normalized", "min": "0", "max": "1",
                                   "value": "0.5"})
    ET.SubElement(channel, "Volume", {"id": ids(), "name": "Volume", "unit": "linear", "min": "0", "max": "2",
                                      "value": "1"})
    return attrs["id"]


def project_xml(job: ExportJob) -> bytes:
    """``project.xml``: transport, tracks, clips, tempo and time-signature automation, markers."""
    ids = _Ids()
    take, tempo_map = job.take, job.take.tempo_map
    channels = int(take.mix.shape[0])
    project = ET.Element("Project", {"version": FORMAT_VERSION})
    ET.SubElement(project, "Application", {"name": APPLICATION[0], "version": APPLICATION[1]})

    transport = ET.SubElement(project, "Transport")
    tempo_id, signature_id = ids(), ids()
    ET.SubElement(transport, "Tempo", {"id": tempo_id, "name": "Tempo", "unit": "bpm", "min": "20", "max": "999",
                                       "value": _num(tempo_map.tempos[0].bpm)})
    first = tempo_map.meters[0]
    ET.SubElement(transport, "TimeSignature", {"id": signature_id, "name": "Time Signature",
                                               "numerator": str(first.numerator),
                                               "denominator": str(first.denominator)})

    structure = ET.SubElement(project, "Structure")
    master = ET.Element("Track", {"id": ids(), "name": "Master", "contentType": "audio", "loaded": "true"})
    master_channel = _channel(master, ids, role="master", channels=channels, muted=False, destination=None)
    tracks = []
    for name, relative in audio_files(job):
        track = ET.SubElement(structure, "Track", {"id": ids(), "name": name, "contentType": "audio",
                                                   "loaded": "true"})
        _channel(track, ids, role="regular", channels=channels, muted=name == "Mix", destination=master_channel)
        tracks.append((track.get("id"), name, relative))
    structure.append(master)

    arrangement = ET.SubElement(project, "Arrangement", {"id": ids()})
    lanes = ET.SubElement(arrangement, "Lanes", {"id": ids(), "timeUnit": "seconds"})
    for track_id, name, relative in tracks:
        track_lanes = ET.SubElement(lanes, "Lanes", {"id": ids(), "track": track_id})
        clips = ET.SubElement(track_lanes, "Clips", {"id": ids()})
        clip = ET.SubElement(clips, "Clip", {"name": name, "time": "0.0", "duration": _num(take.duration),
                                             "playStart": "0.0"})
        audio = ET.SubElement(clip, "Audio", {"id": ids(), "timeUnit": "seconds", "duration": _num(take.duration),
                                              "channels": str(channels),
                                              "sampleRate": str(job.settings.sample_rate)})
        ET.SubElement(audio, "File", {"path": relative, "external": "true"})

    items = cues(job)
    if items:
        markers = ET.SubElement(arrangement, "Markers", {"id": ids(), "timeUnit": "seconds"})
        for cue in items:
            ET.SubElement(markers, "Marker", {"time": _num(cue.start), "name": cue.label, "color": cue.hex,
                                              "comment": cue.marker.comment or cue.marker.kind})

    tempo = ET.SubElement(arrangement, "TempoAutomation", {"id": ids(), "timeUnit": "seconds", "unit": "bpm"})
    ET.SubElement(tempo, "Target", {"parameter": tempo_id})
    for change in tempo_map.tempos:
        ET.SubElement(tempo, "RealPoint", {"time": _num(change.time), "value": _num(change.bpm),
                                           "interpolation": "hold"})
    signatures = ET.SubElement(arrangement, "TimeSignatureAutomation", {"id": ids(), "timeUnit": "seconds"})
    ET.SubElement(signatures, "Target", {"parameter": signature_id})
    for meter in tempo_map.meters:
        ET.SubElement(signatures, "TimeSignaturePoint", {"time": _num(meter.time), "numerator": str(meter.numerator),
                                                         "denominator": str(meter.denominator)})
    return _serialise(project)


def metadata_xml(job: ExportJob) -> bytes:
    """``metadata.xml``: title and a comment naming the take and where it sits on the video."""
    meta = ET.Element("MetaData")
    ET.SubElement(meta, "Title").text = job.title
    ET.SubElement(meta, "Comment").text = (
        f"Scored by {APPLICATION[0]} ({job.take.engine} engine, seed {job.take.seed}); "
        f"time 0 is {format_timecode(job.start_seconds, job.tc)} ({job.timecode.note})"
        + (f" in {Path(job.video).name}." if job.video is not None else ".")
    )
    return _serialise(meta)


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def write_dawproject(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.dawproject`` beside the delivered audio it references."""
    with folder.open_temp(job.file(".dawproject")) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("project.xml", project_xml(job))
            archive.writestr("metadata.xml", metadata_xml(job))
    return [folder.written[-1]]
