"""Child process of the distributed and kill-and-resume tests: trains the stand-in model.

    python stand_in_train_main.py MODEL_DIR STRATEGY WEIGHTS_OUT [SIGNAL@STEP]

Trains `trainer_stand_ins.stand_in_config(**CONFIG)` under STRATEGY
(`TF_CONFIG` from the environment for `multi_worker_mirrored`), resuming from MODEL_DIR's newest
checkpoint, and writes the final weights to WEIGHTS_OUT (`.npz`). With e.g. `KILL@7` the
process sends itself SIGKILL right after step 7, before anything else (no checkpoint, no exit
handlers), as an external `kill -9` would; `TERM@5` / `INT@5` send SIGTERM / SIGINT there, and
the process exits with the trainer's interrupted status (128 + signal number).
"""

import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
from absl import logging
from trainer_stand_ins import stand_in_components, stand_in_config

from efgrnet_tf.training.interruption import TrainingInterrupted
from efgrnet_tf.training.strategy import create_strategy
from efgrnet_tf.training.trainer import Trainer

# Synchronised BatchNorm: without it, each worker keeps moving statistics of its own batches.
CONFIG = {"epochs": 3, "deterministic_ops": True, "sync_batch_norm": True}


def main(model_dir: str, strategy_name: str, weights_out: str, signal_at: str | None) -> int:
    logging.set_verbosity(logging.INFO)
    strategy = create_strategy(strategy_name)
    cfg = stand_in_config(**CONFIG)
    trainer = Trainer(cfg, model_dir, strategy, stand_in_components(cfg))
    trainer.restore()
    if signal_at is not None:
        name, _, at_step = signal_at.partition("@")
        signal_number = getattr(signal, f"SIG{name}")
        step_fn = trainer._train_step

        def step_then_maybe_signal(iterator):
            losses = step_fn(iterator)
            if int(trainer.step.numpy()) + 1 == int(at_step):
                os.kill(os.getpid(), signal_number)
            return losses

        trainer._train_step = step_then_maybe_signal
    try:
        trainer.train()
    except TrainingInterrupted as e:
        return 128 + e.signal_number
    np.savez(weights_out, *[w.numpy() for w in trainer.model.weights])
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], args[1], args[2], args[3] if len(args) > 3 else None))
