"""ResNet-101 transition blocks: residual small bottlenecks, then a 1x1 ConvBN projection."""

import numpy as np
import tensorflow as tf

from efgrnet_tf.modeling.conv_bn import BatchNormSettings
from efgrnet_tf.modeling.transition import TransitionBlock

EPS = 1e-5


def _conv_bn_relu(x, layer):
    conv = tf.nn.conv2d(x, layer.conv.kernel, 1, "SAME") / np.sqrt(1 + EPS)
    return tf.nn.relu(conv)


def test_transition_matches_residual_bottlenecks_and_projection():
    x = np.random.default_rng(0).normal(size=(1, 5, 5, 8)).astype(np.float32)
    layer = TransitionBlock(12, num_residual_blocks=2)
    result = layer(x, training=False)
    expected = x
    for block in layer.blocks:
        y = expected
        for conv_bn in block:
            y = _conv_bn_relu(y, conv_bn)
        expected = tf.nn.relu(expected + y)
    expected = _conv_bn_relu(expected, layer.project)
    assert [[c.filters for c in block] for block in layer.blocks] == [[2, 2, 8]] * 2
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)


def test_transition_without_blocks_is_a_projection_and_round_trips():
    layer = TransitionBlock(16, batch_norm=BatchNormSettings(momentum=0.5))
    assert layer(np.ones((1, 2, 2, 4), np.float32)).shape == (1, 2, 2, 16)
    assert not layer.blocks
    clone = TransitionBlock.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build((1, 2, 2, 4))
    assert clone.project.bn.momentum == 0.5
