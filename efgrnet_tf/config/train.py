"""Training config: batch, optimiser, learning-rate schedule, checkpoints, logging."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimiser (the paper's coupled-L2 SGD or AdamW), warm-up then steps per epoch.

    The learning rate rises linearly from `warmup_start_learning_rate` to `base_learning_rate`
    over `warmup_epochs`, then becomes `lr_values[i]` from epoch `lr_boundaries_epochs[i]` on;
    it is evaluated at every step (fractional epochs), as in the authors' code.
    """

    # Split evenly over all replicas of all workers.
    global_batch_size: int = 32
    epochs: int = 250
    # "sgd": the paper's SGD with momentum and coupled L2. "adamw": AdamW (not in the paper), for
    # short from-scratch runs such as the shapes demo.
    optimizer: Literal["sgd", "adamw"] = "sgd"
    # SGD only.
    momentum: float = 0.9
    # SGD: coupled L2 as in torch.optim.SGD (gradient += weight_decay * weight, before
    # momentum). AdamW: decoupled decay (weight -= lr * weight_decay * weight).
    weight_decay: float = 5e-4
    # The authors' code decays every parameter, BatchNorm gamma/beta included.
    weight_decay_on_batch_norm: bool = True
    base_learning_rate: float = 4e-3
    warmup_epochs: float = 5.0
    warmup_start_learning_rate: float = 1e-6
    # Step schedule: at epoch boundaries[i] the learning rate becomes values[i].
    lr_boundaries_epochs: tuple[float, ...] = (150.0, 200.0)
    lr_values: tuple[float, ...] = (4e-4, 4e-5)
    # Steps per epoch; 0 = dataset size // global batch size.
    steps_per_epoch: int = 0
    # Checkpoints are written every N steps, every N epochs (0 = not per epoch), at the last
    # step, and when a SIGINT/SIGTERM stops the run; the newest `keep_checkpoints` are kept.
    checkpoint_every_steps: int = 1000
    checkpoint_every_epochs: int = 1
    keep_checkpoints: int = 3
    # Save the input pipeline's position with each checkpoint (tf.data iterator state), so a
    # resumed run sees the batches an uninterrupted run would have seen. Off: a resumed run
    # starts a fresh pass over the (reshuffled) data.
    checkpoint_data_iterator: bool = True
    log_every_steps: int = 50
    # Periodic evaluation on the eval split every N epochs (0 = only when asked after training).
    eval_every_epochs: int = 0
    # float16 compute with dynamic loss scaling (Keras `mixed_float16` policy).
    mixed_precision: bool = False
    # Keras `BatchNormalization(synchronized=True)`: batch statistics over all replicas.
    sync_batch_norm: bool = False
    # Seeds Python, NumPy and TensorFlow; `deterministic_ops` also turns on
    # tf.config.experimental.enable_op_determinism() (slower; for bit-exact reruns).
    seed: int = 0
    deterministic_ops: bool = False
    # Fine-tuning: a new run starts from this checkpoint's model weights (a run folder's newest
    # checkpoint or a `.../ckpt-N` path), not from its optimizer state or step. Class heads
    # (C2) of another `model.num_classes` are re-initialised; any other mismatch is an error
    # (`efgrnet_tf.training.init_checkpoint`). Ignored when `model_dir` already holds a
    # checkpoint: the run resumes from that. "" = start from `model.pretrained_backbone`.
    init_checkpoint: str = ""

    def __post_init__(self):
        if len(self.lr_boundaries_epochs) != len(self.lr_values):
            raise ValueError("lr_boundaries_epochs and lr_values must have the same length")
        if list(self.lr_boundaries_epochs) != sorted(self.lr_boundaries_epochs):
            raise ValueError(
                f"lr_boundaries_epochs must be increasing, got {self.lr_boundaries_epochs}"
            )
        if self.global_batch_size <= 0:
            raise ValueError(f"global_batch_size must be > 0, got {self.global_batch_size}")
        if self.epochs <= 0:
            raise ValueError(f"epochs must be > 0, got {self.epochs}")
        if self.steps_per_epoch < 0:
            raise ValueError(f"steps_per_epoch must be >= 0, got {self.steps_per_epoch}")
        if self.checkpoint_every_steps <= 0 or self.log_every_steps <= 0:
            raise ValueError("checkpoint_every_steps and log_every_steps must be > 0")
        if self.checkpoint_every_epochs < 0:
            raise ValueError(
                "checkpoint_every_epochs must be >= 0 (0 = off), got "
                f"{self.checkpoint_every_epochs}"
            )
        if self.keep_checkpoints <= 0:
            raise ValueError(f"keep_checkpoints must be > 0, got {self.keep_checkpoints}")
