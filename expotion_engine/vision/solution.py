"""Run one of mediapipe's solution graphs (face detection, face mesh, pose) on a frame and read
only the outputs the analysis uses.

``SolutionBase.process`` turns every output stream into Python objects and builds a new
namedtuple class on every call: for the pose graph that is also its world landmarks and
segmentation stream, which nothing here reads, about 1.5 ms of CPU a frame. This feeds the
graph the same packet at the same simulated timestamps and converts only the named streams,
through the same solution object's own helpers. mediapipe is pinned (0.10.21, the last
release that ships these graphs); should a version lack those helpers, the public
``process`` is called instead, with the same results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: SolutionBase's per-call timestamp step (it simulates 30 frames a second), kept so the graphs see the same times
_STEP_US = 33333
_HELPERS = ("_graph", "_graph_outputs", "_input_stream_type_info", "_output_stream_type_info", "_make_packet",
            "_get_packet_content", "_simulated_timestamp")


class Solution:
    """``solution`` (a mediapipe ``SolutionBase``) called on RGB frames, giving its ``streams`` in order."""

    def __init__(self, solution: Any, *streams: str) -> None:
        self.solution = solution
        self.streams = streams
        inputs = getattr(solution, "_input_stream_type_info", None)
        self.lean = all(hasattr(solution, name) for name in _HELPERS) and isinstance(inputs, dict) and len(inputs) == 1

    def __call__(self, rgb: np.ndarray) -> tuple[Any, ...]:
        """The named output streams for ``rgb`` (None where the graph gave nothing)."""
        if not self.lean:
            result = self.solution.process(rgb)
            return tuple(getattr(result, name) for name in self.streams)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError("Input image must contain three channel rgb data.")
        base = self.solution
        base._graph_outputs.clear()
        ((stream, kind),) = base._input_stream_type_info.items()
        base._simulated_timestamp += _STEP_US
        base._graph.add_packet_to_input_stream(stream=stream,
                                               packet=base._make_packet(kind, rgb).at(base._simulated_timestamp))
        base._graph.wait_until_idle()
        outputs, types = base._graph_outputs, base._output_stream_type_info
        return tuple(base._get_packet_content(types[name], outputs[name]) if name in outputs else None
                     for name in self.streams)

    def close(self) -> None:
        self.solution.close()
