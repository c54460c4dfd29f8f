"""The root of the config tree: one `ExperimentConfig` per YAML file in `configs/`."""

from __future__ import annotations

import dataclasses

from efgrnet_tf.config.boxes import AnchorConfig, LossConfig, PostprocessConfig
from efgrnet_tf.config.data import DataConfig
from efgrnet_tf.config.eval import EvalConfig
from efgrnet_tf.config.model import ModelConfig
from efgrnet_tf.config.train import TrainConfig
from efgrnet_tf.config.tta import TtaConfig


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Everything one experiment needs; each section documents its fields."""

    name: str = "experiment"
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    anchors: AnchorConfig = dataclasses.field(default_factory=AnchorConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    postprocess: PostprocessConfig = dataclasses.field(default_factory=PostprocessConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    tta: TtaConfig = dataclasses.field(default_factory=TtaConfig)
    # Class names without background, in id order (id 1 = first name); empty = from the data.
    class_names: tuple[str, ...] = ()
