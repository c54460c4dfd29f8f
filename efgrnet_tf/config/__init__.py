"""Typed experiment configs loaded from YAML (see `configs/`)."""

from efgrnet_tf.config.boxes import AnchorConfig, LossConfig, PostprocessConfig
from efgrnet_tf.config.data import AugmentationConfig, DataConfig
from efgrnet_tf.config.data_sources import (
    CocoJsonConfig,
    CocoJsonSplitConfig,
    SyntheticDataConfig,
    TfdsDataConfig,
    TfRecordConfig,
    VocFolderConfig,
    VocImageSetConfig,
)
from efgrnet_tf.config.eval import EvalConfig
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.config.loader import (
    ConfigError,
    config_from_dict,
    config_to_dict,
    load_config,
    save_config,
)
from efgrnet_tf.config.model import ModelConfig
from efgrnet_tf.config.train import TrainConfig
from efgrnet_tf.config.tta import TtaConfig, TtaScaleConfig

__all__ = [
    "AnchorConfig",
    "AugmentationConfig",
    "CocoJsonConfig",
    "CocoJsonSplitConfig",
    "ConfigError",
    "DataConfig",
    "EvalConfig",
    "ExperimentConfig",
    "LossConfig",
    "ModelConfig",
    "PostprocessConfig",
    "SyntheticDataConfig",
    "TfRecordConfig",
    "TfdsDataConfig",
    "TrainConfig",
    "TtaConfig",
    "TtaScaleConfig",
    "VocFolderConfig",
    "VocImageSetConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "save_config",
]
