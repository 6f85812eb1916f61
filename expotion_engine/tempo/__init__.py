"""Tempo maps for audio whose tempo is not known: beats, downbeats, meter, tempo changes.

    from expotion_engine.tempo import analyze_tempo
    result = analyze_tempo(mix, 32000, progress=report, cancel=event)
    result.tempo_map      # TempoMap: smoothed tempo changes, meter, first downbeat as anchor
    result.beats          # detected beat times (s)
"""

from expotion_engine.tempo.analyze import TempoAnalysis, analyze_tempo, estimate_tempo_map

__all__ = ["TempoAnalysis", "analyze_tempo", "estimate_tempo_map"]
