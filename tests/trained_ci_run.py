"""The demo model trained once per test session on the CI schedule, for the tests that need a
model that has learned (the learning bars, and comparisons of other inference paths against it).

`configs/shapes_vgg16_128_ci.yaml` trains the demo's model with the demo's recipe from scratch
for 600 steps (~4 minutes on 2 CPU cores). Setting `EFGRNET_TEST_TRAINED_RUN=DIR` reuses a run
folder this fixture trained before (local iteration on the tests that only read the model); CI
leaves it unset and trains.
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
from tensorboard_events import read_scalars

from efgrnet_tf.config import ExperimentConfig, load_config
from efgrnet_tf.evaluation.evaluator import evaluate_model
from efgrnet_tf.training.components import efgrnet_components
from efgrnet_tf.training.strategy import create_strategy
from efgrnet_tf.training.trainer import Trainer

CI_CONFIG = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "configs", "shapes_vgg16_128_ci.yaml"
)
_RECORD = "trained_ci_run.json"


@dataclasses.dataclass(frozen=True)
class TrainedRun:
    """A trained CI run: its config, run folder (with `ckpt-600`), in-process model and record.

    `untrained_metrics` / `trained_metrics` are the evaluator's COCO metrics on the held-out
    split before and after training; `loss_totals` the logged total losses in step order.
    """

    cfg: ExperimentConfig
    model_dir: str
    model: keras.Model
    untrained_metrics: dict[str, float]
    trained_metrics: dict[str, float]
    loss_totals: list[float]


def train_ci_run(model_dir: str) -> TrainedRun:
    """Trains the CI schedule into `model_dir` (or reuses `EFGRNET_TEST_TRAINED_RUN`)."""
    cfg = load_config(CI_CONFIG)
    model_dir = os.environ.get("EFGRNET_TEST_TRAINED_RUN") or model_dir
    record_path = os.path.join(model_dir, _RECORD)
    trainer = Trainer(cfg, model_dir, create_strategy("default"), efgrnet_components(cfg))
    if os.path.exists(record_path):
        trainer.restore(require_checkpoint=True)
        with open(record_path) as f:
            record = json.load(f)
    else:
        untrained = evaluate_model(trainer.model, cfg)
        trainer.train()
        record = {
            "untrained_metrics": untrained,
            "trained_metrics": evaluate_model(trainer.model, cfg),
            "loss_totals": [
                total for _, total in read_scalars(os.path.join(model_dir, "train"))["loss/total"]
            ],
        }
        with open(record_path, "w") as f:
            json.dump(record, f)
    return TrainedRun(cfg=cfg, model_dir=model_dir, model=trainer.model, **record)
