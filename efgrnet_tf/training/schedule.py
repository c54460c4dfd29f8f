"""The EFGRNet learning-rate schedule: linear warm-up, then piecewise-constant steps per epoch."""

from __future__ import annotations

import keras
import tensorflow as tf

from efgrnet_tf.config.train import TrainConfig


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class WarmupStepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate as a function of the optimizer step, in epochs of `steps_per_epoch` steps.

    With `epoch = step / steps_per_epoch` (fractional):
      - `epoch < warmup_epochs`: `warmup_start + (base - warmup_start) * epoch / warmup_epochs`;
      - otherwise `values[i]` for the last `i` with `epoch >= boundaries_epochs[i]`, else `base`.

    This is the authors' per-iteration warm-up followed by their per-epoch steps (`train_coco.py`
    `adjust_learning_rate_m2det`; paper Sec. 4.2, e.g. VOC: 4e-3 with x0.1 at epochs 150 and
    200; docs/design.md, "Facts the code relies on").
    """

    def __init__(
        self,
        base_learning_rate: float,
        steps_per_epoch: int,
        warmup_epochs: float = 0.0,
        warmup_start_learning_rate: float = 0.0,
        boundaries_epochs: tuple[float, ...] = (),
        values: tuple[float, ...] = (),
    ):
        if steps_per_epoch <= 0:
            raise ValueError(f"steps_per_epoch must be > 0, got {steps_per_epoch}")
        if len(boundaries_epochs) != len(values):
            raise ValueError("boundaries_epochs and values must have the same length")
        self.base_learning_rate = float(base_learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.warmup_epochs = float(warmup_epochs)
        self.warmup_start_learning_rate = float(warmup_start_learning_rate)
        self.boundaries_epochs = tuple(float(b) for b in boundaries_epochs)
        self.values = tuple(float(v) for v in values)

    def __call__(self, step):
        epoch = tf.cast(step, tf.float64) / self.steps_per_epoch
        lr = tf.constant(self.base_learning_rate, tf.float64)
        for boundary, value in zip(self.boundaries_epochs, self.values, strict=True):
            lr = tf.where(epoch >= boundary, tf.constant(value, tf.float64), lr)
        if self.warmup_epochs > 0:
            start = self.warmup_start_learning_rate
            warm = start + (self.base_learning_rate - start) * epoch / self.warmup_epochs
            lr = tf.where(epoch < self.warmup_epochs, warm, lr)
        return tf.cast(lr, tf.float32)

    def get_config(self):
        return {
            "base_learning_rate": self.base_learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "warmup_epochs": self.warmup_epochs,
            "warmup_start_learning_rate": self.warmup_start_learning_rate,
            "boundaries_epochs": list(self.boundaries_epochs),
            "values": list(self.values),
        }


def schedule_from_config(train_cfg: TrainConfig, steps_per_epoch: int) -> WarmupStepSchedule:
    """The schedule of a `TrainConfig` for a run of `steps_per_epoch` steps per epoch."""
    return WarmupStepSchedule(
        base_learning_rate=train_cfg.base_learning_rate,
        steps_per_epoch=steps_per_epoch,
        warmup_epochs=train_cfg.warmup_epochs,
        warmup_start_learning_rate=train_cfg.warmup_start_learning_rate,
        boundaries_epochs=train_cfg.lr_boundaries_epochs,
        values=train_cfg.lr_values,
    )
