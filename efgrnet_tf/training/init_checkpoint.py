"""Fine-tuning: a new run's model starts from another checkpoint's model weights.

Only the model's weights are read (BatchNorm statistics included), never the optimizer state,
step or epoch: the new run starts at step 0 with its own schedule. The checkpoint may come from
any training run or from an import, as long as its model is the one of the new config; the one
tolerated difference is the class count: the final class heads (C2, `class_head<level>/predict`,
`A * num_classes` output channels) then keep the initial values the new model was built with.
"""

from __future__ import annotations

import dataclasses
import re

import keras
import tensorflow as tf
from absl import logging

from efgrnet_tf.modeling.checkpoint_io import (
    CheckpointError,
    compare_weights,
    model_weights_by_path,
    resolve_checkpoint,
    saved_model_weights,
)

# The final class heads' output convolution: its output channels are `A * num_classes`.
CLASS_OUTPUT_VARIABLE = re.compile(r"^class_head\d+/predict/(kernel|bias)$")


def initialize_from_checkpoint(model: keras.Model, checkpoint: str) -> tuple[str, tuple[str, ...]]:
    """Copies a checkpoint's model weights into `model`, except class heads of another width.

    Args:
      model: the new run's freshly built model.
      checkpoint: a checkpoint path (`.../ckpt-1234`) or a folder whose newest checkpoint is used.
    Returns:
      The checkpoint path that was read and the paths of the variables left at their initial
      values (the class heads' output conv when the class counts differ; empty otherwise).
    Raises:
      CheckpointError: no checkpoint there, an unreadable file, or any other difference between
        the checkpoint's weights and the model's (every differing variable named).
    """
    path = resolve_checkpoint(checkpoint)
    differences = compare_weights(model, saved_model_weights(path))
    reinitialized = tuple(
        variable_path
        for variable_path, model_shape, saved_shape in differences.mismatched
        if _differs_in_class_count(variable_path, model_shape, saved_shape)
    )
    remaining = dataclasses.replace(
        differences,
        mismatched=tuple(m for m in differences.mismatched if m[0] not in reinitialized),
    )
    if remaining.missing or remaining.unexpected or remaining.mismatched:
        raise CheckpointError(
            f"train.init_checkpoint {path} does not fit the model of this config (only the class "
            f"heads may differ, in their class count): {remaining.describe()}"
        )
    copied = {p: v for p, v in model_weights_by_path(model).items() if p not in reinitialized}
    reader = tf.train.Checkpoint(model_weights=copied)
    reader.restore(path).expect_partial().assert_existing_objects_matched()
    if reinitialized:
        shapes = ", ".join(
            f"{p} {list(m)} (checkpoint {list(c)})"
            for p, m, c in differences.mismatched
            if p in reinitialized
        )
        logging.info(
            "initialised from %s; another class count, so these keep their initial values: %s",
            path,
            shapes,
        )
    else:
        logging.info("initialised all %d model weights from %s", len(copied), path)
    return path, reinitialized


def _differs_in_class_count(
    variable_path: str, model_shape: tuple[int, ...], saved_shape: tuple[int, ...]
) -> bool:
    """Whether a class head's output conv differs from the checkpoint only in output channels."""
    return (
        CLASS_OUTPUT_VARIABLE.match(variable_path) is not None
        and len(model_shape) == len(saved_shape)
        and model_shape[:-1] == saved_shape[:-1]
    )
