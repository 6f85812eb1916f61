"""The procedural engine: composes from the ControlTrack, prompt and preset, renders exact stems and notes."""

from expotion_engine.engines.procedural.compose import compose
from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.engines.procedural.score import Automation, Part, Score

__all__ = ["Automation", "Part", "ProceduralEngine", "Score", "compose"]
