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

    def __post_init__(self):
        # `train.mixed_precision` predates `model.precision`; both are kept equal so that the
        # trainer's loss scaling and a run folder's recorded config say the same thing.
        precision = self.model.precision
        if self.train.mixed_precision and precision in ("mixed_bfloat16", "bfloat16"):
            raise ValueError(
                "train.mixed_precision (mixed_float16) contradicts model.precision "
                f"{precision}; set only model.precision"
            )
        if self.train.mixed_precision:
            precision = "mixed_float16"
        object.__setattr__(self, "model", dataclasses.replace(self.model, precision=precision))
        object.__setattr__(
            self,
            "train",
            dataclasses.replace(self.train, mixed_precision=precision == "mixed_float16"),
        )
