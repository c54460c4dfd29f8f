"""SGD with momentum and coupled L2 weight decay, as `torch.optim.SGD` (the authors' optimizer).

Keras' own `SGD(weight_decay=...)` decays decoupled (`w -= lr * wd * w`) and folds the learning
rate into the momentum buffer; PyTorch adds the decay to the gradient and keeps the learning rate
out of the buffer. The two differ whenever the learning rate changes (warm-up, steps), so this
module implements PyTorch's update exactly.
"""

from __future__ import annotations

import keras
from keras import ops

from efgrnet_tf.config.train import TrainConfig

# Keras 3 names of BatchNormalization's trainable weights.
BATCH_NORM_VARIABLE_NAMES = ("gamma", "beta")


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class CoupledWeightDecaySGD(keras.optimizers.Optimizer):
    """`torch.optim.SGD(momentum=mu, weight_decay=wd)` (no dampening, no Nesterov).

    For each variable `w` with gradient `g`, at learning rate `lr`:
      g' = g + wd * w                (skipped for variables named in `no_decay_variable_names`)
      b  = mu * b + g'               (b starts at 0; PyTorch's first step gives b = g', the same)
      w  = w - lr * b

    Under a `tf.distribute` strategy, `apply_gradients` sums the replicas' gradients first
    (Keras' all-reduce), so per-replica losses must be shares of the global loss.

    Args:
      learning_rate: float or `LearningRateSchedule` of the optimizer step.
      momentum: `mu`.
      coupled_weight_decay: `wd`, added to the gradient before momentum.
      no_decay_variable_names: variables whose `name` (last path component) is in this tuple
        get no decay, e.g. `BATCH_NORM_VARIABLE_NAMES`.
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum: float = 0.9,
        coupled_weight_decay: float = 0.0,
        no_decay_variable_names: tuple[str, ...] = (),
        name: str = "coupled_weight_decay_sgd",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if coupled_weight_decay < 0:
            raise ValueError(f"coupled_weight_decay must be >= 0, got {coupled_weight_decay}")
        self.momentum = float(momentum)
        self.coupled_weight_decay = float(coupled_weight_decay)
        self.no_decay_variable_names = tuple(no_decay_variable_names)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentum_buffers = [
            self.add_variable_from_reference(v, name="momentum") for v in variables
        ]
        self._decays = [
            0.0 if v.name in self.no_decay_variable_names else self.coupled_weight_decay
            for v in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self._decays[index]:
            gradient = gradient + self._decays[index] * variable
        buffer = self._momentum_buffers[index]
        self.assign(buffer, self.momentum * buffer + gradient)
        self.assign_sub(variable, lr * buffer)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "coupled_weight_decay": self.coupled_weight_decay,
                "no_decay_variable_names": list(self.no_decay_variable_names),
            }
        )
        return config


def optimizer_from_config(train_cfg: TrainConfig, learning_rate) -> keras.optimizers.Optimizer:
    """The trainer's optimizer, wrapped for loss scaling under mixed precision.

    `train.optimizer`: "sgd" is the paper's coupled-L2 SGD; "adamw" is Keras' AdamW (decoupled
    decay `train.weight_decay`, betas 0.9/0.999), for from-scratch training (the shapes demo).
    Create it inside the strategy's scope (Keras binds the optimizer to the current strategy).
    """
    no_decay = () if train_cfg.weight_decay_on_batch_norm else BATCH_NORM_VARIABLE_NAMES
    if train_cfg.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(
            learning_rate=learning_rate, weight_decay=train_cfg.weight_decay
        )
        if no_decay:
            optimizer.exclude_from_weight_decay(var_names=list(no_decay))
    else:
        optimizer = CoupledWeightDecaySGD(
            learning_rate=learning_rate,
            momentum=train_cfg.momentum,
            coupled_weight_decay=train_cfg.weight_decay,
            no_decay_variable_names=no_decay,
        )
    if train_cfg.mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
