"""Trains an EFGRNet experiment end to end: strategy, trainer, resume, training loop."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import NamedTuple

import keras

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.classes import resolve_classes
from efgrnet_tf.training.components import efgrnet_components
from efgrnet_tf.training.strategy import create_strategy
from efgrnet_tf.training.trainer import Trainer


class TrainedExperiment(NamedTuple):
    """The trained model (weights of the last step) and `Trainer.train`'s end summary."""

    model: keras.Model
    summary: dict[str, float]


def train_experiment(
    cfg: ExperimentConfig,
    model_dir: str,
    strategy: str = "default",
    resume: bool = False,
    evaluate_model: Callable[..., dict] | None = None,
) -> TrainedExperiment:
    """Trains `cfg` into `model_dir`, continuing from its newest checkpoint if there is one.

    Args:
      cfg: the experiment.
      model_dir: run folder; periodic evaluations write into `model_dir/eval`.
      strategy: a `strategy.STRATEGY_NAMES` entry.
      resume: require a checkpoint to continue from (else a missing one means a fresh start).
      evaluate_model: the periodic evaluation, called as `evaluate_model(model, cfg=...,
        output_dir=...)` every `train.eval_every_epochs` epochs: the caller hands in
        `efgrnet_tf.evaluation.evaluator.evaluate_model` (evaluation is a later stage than
        training). Required when `train.eval_every_epochs` is set.
    The classes are taken from (or checked against) the data first, so `model_dir/config.yaml`
    names them and a config that does not fit the data is refused before any step.
    Raises:
      ValueError: `train.eval_every_epochs` is set and no `evaluate_model` is given.
    """
    if cfg.train.eval_every_epochs and evaluate_model is None:
        raise ValueError("train.eval_every_epochs is set: train_experiment needs evaluate_model")
    cfg = resolve_classes(cfg)
    distribution = create_strategy(strategy)
    evaluate = None
    if evaluate_model is not None:
        eval_dir = os.path.join(model_dir, "eval")
        evaluate = functools.partial(evaluate_model, cfg=cfg, output_dir=eval_dir)
    components = efgrnet_components(cfg, evaluate)
    trainer = Trainer(cfg, model_dir, distribution, components)
    trainer.restore(require_checkpoint=resume)
    summary = trainer.train()
    return TrainedExperiment(trainer.model, summary)
