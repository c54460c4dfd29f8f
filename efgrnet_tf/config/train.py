"""Training config: batch, optimiser, learning-rate schedule, checkpoints, logging."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """SGD with momentum and coupled L2 (PyTorch semantics), warm-up then steps per epoch."""

    global_batch_size: int = 32
    epochs: int = 250
    momentum: float = 0.9
    weight_decay: float = 5e-4
    base_learning_rate: float = 4e-3
    warmup_epochs: float = 5.0
    warmup_start_learning_rate: float = 1e-6
    # Step schedule: at epoch boundaries[i] the learning rate becomes values[i].
    lr_boundaries_epochs: tuple[float, ...] = (150.0, 200.0)
    lr_values: tuple[float, ...] = (4e-4, 4e-5)
    # Steps per epoch; 0 = dataset size // global batch size.
    steps_per_epoch: int = 0
    checkpoint_every_steps: int = 1000
    max_checkpoints_to_keep: int = 3
    log_every_steps: int = 50
    eval_every_epochs: int = 0
    mixed_precision: bool = False
    sync_batch_norm: bool = False
    seed: int = 0

    def __post_init__(self):
        if len(self.lr_boundaries_epochs) != len(self.lr_values):
            raise ValueError("lr_boundaries_epochs and lr_values must have the same length")
        if self.global_batch_size <= 0:
            raise ValueError(f"global_batch_size must be > 0, got {self.global_batch_size}")
