"""`synchronize_batch_norm` finds BatchNorm layers at any depth."""

import keras
from trainer_stand_ins import build_stand_in_model

from efgrnet_tf.training.batch_norm import synchronize_batch_norm


def test_switches_nested_and_top_level_batch_norm_layers_once():
    images = keras.Input((8, 8, 3))
    x = keras.layers.BatchNormalization(name="top_bn")(images)
    inner = build_stand_in_model(None)
    outputs = inner(x)
    model = keras.Model(images, outputs)
    assert synchronize_batch_norm(model) == 2
    assert model.get_layer("top_bn").synchronized
    assert inner.get_layer("block").bn.synchronized
    assert synchronize_batch_norm(model) == 0
