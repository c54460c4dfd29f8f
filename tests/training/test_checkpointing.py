"""Training checkpoints hold every model weight, even ones object tracking cannot reach."""

import keras
import numpy as np
import tensorflow as tf

from efgrnet_tf.modeling.checkpoint_io import restore_model_weights
from efgrnet_tf.training.checkpointing import TrainingCheckpoint


class ListHoldingLayer(keras.layers.Layer):
    """Keeps its sub-layer in a plain list, out of sight of TensorFlow's object tracking."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parts = [keras.layers.Dense(2, name="hidden_dense")]

    def call(self, inputs):
        return self.parts[0](inputs)


def list_holding_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, ListHoldingLayer(name="holder")(inputs))


def test_list_held_weights_are_invisible_to_a_plain_model_checkpoint():
    # Why checkpoints store weights by path: this is what tf.train.Checkpoint(model=...) sees.
    model = list_holding_model()
    reachable = {id(obj) for obj in tf.train.TrackableView(model).descendants()}
    assert not any(id(weight) in reachable for weight in model.weights)


def test_list_held_weights_survive_save_and_restore(tmp_path):
    model = list_holding_model()
    optimizer = keras.optimizers.SGD()
    optimizer.build(model.trainable_variables)
    step, epoch = tf.Variable(3, dtype=tf.int64), tf.Variable(1, dtype=tf.int64)
    saved_path = TrainingCheckpoint(str(tmp_path), model, optimizer, step, epoch).save()
    assert saved_path.endswith("ckpt-3")

    fresh = list_holding_model()
    assert restore_model_weights(fresh, str(tmp_path)) == saved_path
    for restored, original in zip(fresh.weights, model.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())
    assert not np.array_equal(list_holding_model().weights[0].numpy(), model.weights[0].numpy())
