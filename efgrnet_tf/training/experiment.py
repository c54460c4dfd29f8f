"""Trains an EFGRNet experiment end to end: strategy, trainer, resume, training loop."""

from __future__ import annotations

import os
from typing import NamedTuple

import keras

from efgrnet_tf.config import ExperimentConfig
from efgrnet_tf.data.classes import resolve_classes
from efgrnet_tf.training.components import efgrnet_components
from efgrnet_tf.training.strategy import create_strategy
from efgrnet_tf.training.trainer import Trainer


class TrainedExperiment(NamedTuple):
    """The trained model (weights of the last step) and `Trainer.train`'s end summary."""

    model: keras.Model
    summary: dict[str, float]


def train_experiment(
    cfg: ExperimentConfig, model_dir: str, strategy: str = "default", resume: bool = False
) -> TrainedExperiment:
    """Trains `cfg` into `model_dir`, continuing from its newest checkpoint if there is one.

    Args:
      cfg: the experiment.
      model_dir: run folder; periodic evaluations write into `model_dir/eval`.
      strategy: a `strategy.STRATEGY_NAMES` entry.
      resume: require a checkpoint to continue from (else a missing one means a fresh start).
    The classes are taken from (or checked against) the data first, so `model_dir/config.yaml`
    names them and a config that does not fit the data is refused before any step.
    """
    cfg = resolve_classes(cfg)
    distribution = create_strategy(strategy)
    components = efgrnet_components(cfg, eval_output_dir=os.path.join(model_dir, "eval"))
    trainer = Trainer(cfg, model_dir, distribution, components)
    trainer.restore(require_checkpoint=resume)
    summary = trainer.train()
    return TrainedExperiment(trainer.model, summary)
