"""Loads training-checkpoint weights into a model built for serving, refusing silent gaps.

`tf.train.Checkpoint` saves only the variables it can reach through tracked attributes. A Keras 3
layer that keeps sub-layers in a plain Python list hides their variables from it, so a training
checkpoint would lack them and a restore would leave them at their random initial values
without any error. Serving such a model would return garbage; this module refuses instead.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from efgrnet_tf.training.checkpointing import restore_model_weights


class UntrackedVariablesError(ValueError):
    """The model has variables that no `tf.train.Checkpoint` of it can hold."""


def untracked_variables(model: keras.Model) -> list[str]:
    """Paths of the model's variables that `tf.train.Checkpoint(model=model)` cannot reach."""
    reachable = {id(obj) for obj in tf.train.TrackableView(model).descendants()}
    return [variable.path for variable in model.variables if id(variable) not in reachable]


def restore_for_serving(model: keras.Model, checkpoint: str) -> str:
    """Restores the model's weights from `checkpoint` (a path or a folder); returns the path.

    Raises:
      UntrackedVariablesError: some model variables are invisible to checkpoints, so no
        checkpoint can hold their trained values; the message lists them.
      FileNotFoundError: no checkpoint at `checkpoint`.
    """
    missing = untracked_variables(model)
    if missing:
        shown = ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "")
        raise UntrackedVariablesError(
            f"{len(missing)} of the model's {len(model.variables)} variables are not tracked "
            f"by tf.train.Checkpoint, so no checkpoint holds their trained values: {shown}. "
            "A custom layer keeps sub-layers where TensorFlow's object tracking does not see "
            "them (e.g. a Python list); assign each sub-layer to its own attribute."
        )
    return restore_model_weights(model, checkpoint)
