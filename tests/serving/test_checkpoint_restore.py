"""Restoring for serving refuses models whose variables a checkpoint cannot hold."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.serving.checkpoint_restore import (
    UntrackedVariablesError,
    restore_for_serving,
    untracked_variables,
)


class TwoDense(keras.layers.Layer):
    """Two Dense sub-layers, held in a list or as attributes."""

    def __init__(self, in_list: bool, **kwargs):
        super().__init__(**kwargs)
        first, second = keras.layers.Dense(3, name="first"), keras.layers.Dense(2, name="second")
        self.in_list = in_list
        if in_list:
            self.parts = [first, second]
        else:
            self.first, self.second = first, second

    def call(self, inputs):
        first, second = self.parts if self.in_list else (self.first, self.second)
        return second(first(inputs))


def small_model(in_list: bool) -> keras.Model:
    inputs = keras.Input((4,))
    return keras.Model(inputs, TwoDense(in_list, name="two")(inputs))


def test_layers_in_a_list_are_reported_untracked():
    model = small_model(in_list=True)
    assert sorted(untracked_variables(model)) == sorted(v.path for v in model.variables)
    with pytest.raises(
        UntrackedVariablesError, match=r"4 of the model's 4 variables are not tracked"
    ):
        restore_for_serving(model, "/nonexistent/checkpoint")


def test_tracked_model_restores_its_weights(tmp_path):
    trained = small_model(in_list=False)
    assert untracked_variables(trained) == []
    for variable in trained.variables:
        variable.assign(tf.fill(variable.shape, 0.25))
    tf.train.CheckpointManager(tf.train.Checkpoint(model=trained), str(tmp_path), 1).save()
    fresh = small_model(in_list=False)
    assert restore_for_serving(fresh, str(tmp_path)).endswith("ckpt-1")
    for variable in fresh.variables:
        np.testing.assert_array_equal(variable.numpy(), 0.25)
