"""Video analysis: faces (expression, head pose), upper bodies and whole-frame motion."""

from expotion_engine.vision.analyze import ANALYSIS_VERSION, AnalysisSettings, analyze_video

__all__ = ["ANALYSIS_VERSION", "AnalysisSettings", "analyze_video"]
