"""Prediction heads and the flattening of head maps into the design.md anchor order."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.modeling.conv_bn import BatchNormSettings
from efgrnet_tf.modeling.heads import ConcatenateAnchors, PredictionHead


def _code(level, row, col, anchor, component):
    """A value that encodes where it came from."""
    return 1000 * level + 100 * row + 10 * col + anchor + 0.1 * component


def test_concatenate_anchors_orders_level_row_column_anchor():
    k, anchors = 4, 3
    sizes = [(3, 2), (2, 1)]
    maps = []
    for level, (height, width) in enumerate(sizes):
        head_map = np.zeros((1, height, width, anchors * k), np.float32)
        for i, j, a, t in np.ndindex(height, width, anchors, k):
            head_map[0, i, j, a * k + t] = _code(level, i, j, a, t)
        maps.append(tf.constant(head_map))
    expected = [
        [_code(level, i, j, a, t) for t in range(k)]
        for level, (height, width) in enumerate(sizes)
        for i, j, a in np.ndindex(height, width, anchors)
    ]
    result = ConcatenateAnchors(k)(maps)
    assert result.shape == (1, (6 + 2) * anchors, k)
    np.testing.assert_allclose(result[0], expected, rtol=1e-6)


def test_prediction_head_is_a_3x3_conv_with_bias():
    head = PredictionHead(3, 4)
    x = np.random.default_rng(0).normal(size=(2, 5, 6, 7)).astype(np.float32)
    result = head(x)
    kernel, bias = head.predict.get_weights()
    assert kernel.shape == (3, 3, 7, 12) and bias.shape == (12,)
    expected = tf.nn.conv2d(x, kernel, 1, "SAME") + bias
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


def test_prediction_head_kernel_stddev_sets_the_final_conv_init():
    keras.utils.set_random_seed(0)
    he_init = PredictionHead(3, 5)
    small_init = PredictionHead(3, 5, kernel_stddev=0.01)
    for head in (he_init, small_init):
        head.build((None, 8, 8, 64))
    # He-normal fan_out: std = sqrt(2 / (3 * 3 * 15)) = 0.12.
    assert np.std(he_init.predict.kernel.numpy()) == pytest.approx(0.122, rel=0.1)
    assert np.std(small_init.predict.kernel.numpy()) == pytest.approx(0.01, rel=0.1)
    assert PredictionHead.from_config(small_init.get_config()).kernel_stddev == 0.01


def test_prediction_head_hidden_layers_are_1x1_conv_bn_relu():
    head = PredictionHead(3, 5, hidden_channels=8, num_hidden_layers=2)
    head.build((None, 4, 4, 6))
    assert [layer.kernel_size for layer in head.hidden] == [1, 1]
    assert [layer.filters for layer in head.hidden] == [8, 8]
    assert head.predict.kernel.shape == (3, 3, 8, 15)


def test_heads_output_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        head = PredictionHead(3, 4, num_hidden_layers=1, hidden_channels=4)
        maps = head(np.ones((1, 4, 4, 6), np.float32))
        assert head.hidden[0].compute_dtype == "float16"
        assert maps.dtype == tf.float32
        # A value float16 cannot hold survives the concatenation.
        precise = tf.fill([1, 2, 2, 12], 1.0 + 2.0**-20)
        flat = ConcatenateAnchors(4)([maps, precise])
        assert flat.dtype == tf.float32
        assert np.all(flat.numpy()[0, 48:] == np.float32(1.0 + 2.0**-20))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_head_configs_round_trip():
    batch_norm = BatchNormSettings(momentum=0.9)
    head = PredictionHead(3, 21, hidden_channels=16, num_hidden_layers=2, batch_norm=batch_norm)
    clone = PredictionHead.from_config(head.get_config())
    assert clone.get_config() == head.get_config()
    assert clone.batch_norm == batch_norm
    assert [layer.bn.momentum for layer in clone.hidden] == [0.9, 0.9]
    concat = ConcatenateAnchors(21)
    assert ConcatenateAnchors.from_config(concat.get_config()).get_config() == concat.get_config()
