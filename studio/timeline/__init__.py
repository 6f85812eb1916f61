"""Editor timelines in: read a sequence (.otio, FCP 7 XML, FCPXML, CMX3600 EDL) and score it clip by clip."""

from studio.timeline.model import Timeline, TimelineClip, TimelineError, TimelineMarker
from studio.timeline.read import ADAPTERS, is_timeline, read_timeline

__all__ = ["ADAPTERS", "Timeline", "TimelineClip", "TimelineError", "TimelineMarker", "is_timeline", "read_timeline"]
