"""Fine-tuning the visual-control adapter (and LoRA): data, cached features, trainer."""

from expotion_engine.engines.musicgen.train.data import Clip, DatasetError, load_clips, split_by_source
from expotion_engine.engines.musicgen.train.features import ClipFeatures, FeatureCache, default_cache_dir
from expotion_engine.engines.musicgen.train.trainer import TrainConfig, Trainer, TrainResult, train

__all__ = [
    "Clip",
    "ClipFeatures",
    "DatasetError",
    "FeatureCache",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "default_cache_dir",
    "load_clips",
    "split_by_source",
    "train",
]
