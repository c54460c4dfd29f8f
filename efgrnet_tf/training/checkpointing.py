"""Training checkpoints: model, optimizer, step, epoch and (when possible) the input position.

The model's weights are stored under `model_weights/<variable path>`
(`efgrnet_tf.modeling.checkpoint_io.model_weights_by_path`), where
`checkpoint_io.restore_model_weights` reads them back for evaluation and export.

Checkpoints are written by a `tf.train.CheckpointManager` as `model_dir/ckpt-<step>`, so
`tf.train.latest_checkpoint(model_dir)` finds the newest one. In a multi-worker cluster every
worker must take part in a save (it is a collective operation); only the chief's files are kept,
the others write into a scratch folder that is deleted afterwards.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf
from absl import logging

from efgrnet_tf.modeling.checkpoint_io import model_weights_by_path

CHECKPOINT_PREFIX = "ckpt"


class TrainingCheckpoint:
    """Saves and restores the full training state.

    Args:
      model_dir: the run folder; the chief's checkpoints live directly in it.
      model: the Keras model (all its weights, BatchNorm statistics included).
      optimizer: the optimizer (momentum buffers, iteration count, loss scale); it must already
        be built so that its slot variables exist at restore time.
      step: int64 scalar variable, training steps (batches) done.
      epoch: int64 scalar variable, epochs completed.
      iterator: a tf.data iterator to save with the rest, or None. Only plain (single-replica)
        iterators are trackable; tf.distribute iterators are not.
      max_to_keep: number of checkpoints kept on disk.
      is_chief: whether this process' files are the ones kept.
      worker_id: this process' task id, naming its scratch folder when not chief.
    """

    def __init__(
        self,
        model_dir: str,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        step: tf.Variable,
        epoch: tf.Variable,
        iterator=None,
        max_to_keep: int = 3,
        is_chief: bool = True,
        worker_id: int = 0,
    ):
        self.model_dir = model_dir
        state = {
            "model_weights": model_weights_by_path(model),
            "optimizer": optimizer,
            "step": step,
            "epoch": epoch,
        }
        self._state = tf.train.Checkpoint(**state)
        self._iterator = iterator
        self._checkpoint = tf.train.Checkpoint(
            **state, **({"iterator": iterator} if iterator is not None else {})
        )
        self._step = step
        self._is_chief = is_chief
        directory = model_dir if is_chief else os.path.join(model_dir, f".worker_{worker_id}_tmp")
        self._manager = tf.train.CheckpointManager(
            self._checkpoint,
            directory=directory,
            max_to_keep=max_to_keep,
            checkpoint_name=CHECKPOINT_PREFIX,
        )

    def restore_latest(self) -> str | None:
        """Restores the chief's newest checkpoint in `model_dir`; returns its path, or None.

        Model, optimizer, step and epoch must all be in the checkpoint. The input position is
        restored when the checkpoint has one (it has none when it was written under a
        multi-replica strategy); otherwise the input pipeline starts from its beginning.
        """
        path = tf.train.latest_checkpoint(self.model_dir)
        if path is None:
            return None
        self._state.restore(path).expect_partial().assert_existing_objects_matched()
        if self._iterator is not None:
            saved = {name for name, _ in tf.train.list_variables(path)}
            if any(name.startswith("iterator/") for name in saved):
                tf.train.Checkpoint(iterator=self._iterator).restore(path).expect_partial()
            else:
                logging.warning("%s has no input position; the data starts from the top", path)
        return path

    def save(self) -> str:
        """Writes a checkpoint numbered by the current step; returns the chief's path."""
        path = self._manager.save(checkpoint_number=self._step)
        if not self._is_chief:
            tf.io.gfile.rmtree(self._manager.directory)
        return path
