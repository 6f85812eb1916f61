"""Editor interchange files, all from one OpenTimelineIO timeline, all through OTIO adapters:
CMX3600 EDL with locators (``otio-cmx3600-adapter``), FCP 7 XML (``otio-fcp-adapter``),
FCPXML (``otio-fcpx-xml-adapter``) and native ``.otio``.

Media: the ``.otio`` names the BWF files relative to the delivery folder (portable with it);
the XML formats need absolute ``file://`` URLs (what Premiere, Resolve and Final Cut
import), so they point into the folder where it was written. The EDL carries the video
track only (the adapter writes one video track) with every marker as a ``* LOC:`` line,
plus the ``FCM:`` frame-code line the adapter leaves out. EDL, FCP 7 XML and FCPXML are
built around the picture, so an export without a video skips them with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import opentimelineio as otio

from studio.export.job import DeliveryFolder, ExportJob
from studio.export.timeline import build_timeline, timeline_rate

log = logging.getLogger(__name__)


def _absolute(folder: DeliveryFolder) -> Callable[[str], str]:
    return lambda relative: (folder.root / relative).as_uri()


def _write(folder: DeliveryFolder, relative: str, timeline: otio.schema.Timeline, adapter: str, **kw: object) -> Path:
    text = otio.adapters.write_to_string(timeline, adapter_name=adapter, **kw)
    return folder.write_text(relative, text)


def _fcpx_rate(job: ExportJob) -> float:
    """The rate as the FCPXML adapter's frame-duration table spells it (23.98, 29.97, 59.94 or whole)."""
    rate = timeline_rate(job)
    return round(rate, 2) if rate != round(rate) else rate


def _needs_video(job: ExportJob, what: str) -> bool:
    if job.video is None:
        log.warning("%s skipped: it needs the source video, and this export has none.", what)
        return False
    return True


def write_edl(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.edl``: the video event at its record timecode with one locator per marker."""
    if not _needs_video(job, "CMX3600 EDL"):
        return []
    timeline = build_timeline(job, audio_url=None, markers_on="clip")
    text = otio.adapters.write_to_string(timeline, adapter_name="cmx_3600", rate=timeline_rate(job))
    # the adapter leaves out the frame-code-mode line (its TODO); editors need it for 29.97/59.94
    title, _, events = text.partition("\n\n")
    fcm = "FCM: DROP FRAME" if job.tc.drop_frame else "FCM: NON-DROP FRAME"
    return [folder.write_text(job.file(".edl"), f"{title}\n{fcm}\n\n{events}")]


def write_fcp7(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>_fcp7.xml`` (xmeml): video, one audio track per stem and the mix, sequence markers."""
    if not _needs_video(job, "FCP 7 XML"):
        return []
    timeline = build_timeline(job, audio_url=_absolute(folder), markers_on="timeline")
    return [_write(folder, job.file("_fcp7.xml"), timeline, "fcp_xml")]


def write_fcpxml(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.fcpxml``: the video in the primary storyline, stems and mix as connected audio, clip markers."""
    if not _needs_video(job, "FCPXML"):
        return []
    timeline = build_timeline(job, audio_url=_absolute(folder), markers_on="clip", rate=_fcpx_rate(job))
    return [_write(folder, job.file(".fcpxml"), timeline, "fcpx_xml")]


def write_otio(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.otio``: the whole timeline, media relative to the delivery folder, timeline markers."""
    timeline = build_timeline(job, audio_url=lambda relative: relative, markers_on="timeline")
    return [_write(folder, job.file(".otio"), timeline, "otio_json")]
