"""Stems for audio whose parts are not known: Demucs separation, or a DSP fallback.

    from expotion_engine.stems import separate
    stems = separate(mix, 32000, model="htdemucs", progress=report, cancel=event)
    stems = separate(mix, 32000, fallback=True)   # DSP stems if the weights are missing

Every stem has the mix's rate, channel count and length to the sample; ``Stem.info``
holds the method, model, where its weights came from and the residual of the stems' sum
against the mix in dB. Weights are only read from disk (see :mod:`.weights`); fetch them
with ``expotion models pull htdemucs`` (:func:`pull_model`).
"""

from expotion_engine.stems.catalog import DEFAULT_MODEL, MODELS, DemucsModelInfo
from expotion_engine.stems.download import pull_model
from expotion_engine.stems.dsp import DSP_STEMS, separate_dsp
from expotion_engine.stems.separate import DAW_NAMES, pick_device, residual_db, separate, separate_demucs
from expotion_engine.stems.weights import (
    ModelFiles,
    default_model_folder,
    load_model,
    locate_model,
    models_root,
    pull_command,
)

__all__ = [
    "DAW_NAMES",
    "DEFAULT_MODEL",
    "DSP_STEMS",
    "MODELS",
    "DemucsModelInfo",
    "ModelFiles",
    "default_model_folder",
    "load_model",
    "locate_model",
    "models_root",
    "pick_device",
    "pull_command",
    "pull_model",
    "residual_db",
    "separate",
    "separate_demucs",
    "separate_dsp",
]
