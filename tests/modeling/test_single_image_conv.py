"""single_image_conv: a convolution as one MatMul per kernel tap gives TensorFlow's convolution,
and the rule of when it is taken."""

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.modeling import single_image_conv
from efgrnet_tf.modeling.conv2d import symmetric_pads


@pytest.mark.parametrize("kernel_hw", [(3, 3), (1, 1), (5, 3)])
@pytest.mark.parametrize("strides", [(1, 1), (2, 2), (2, 1)])
@pytest.mark.parametrize("dilations", [(1, 1), (2, 3)])
def test_shifted_matmuls_are_a_valid_convolution(kernel_hw, strides, dilations):
    rng = np.random.default_rng(sum(kernel_hw) + sum(strides) + sum(dilations))
    inputs = tf.constant(rng.normal(size=(2, 15, 14, 5)), tf.float32)
    kernel = tf.constant(rng.normal(size=(*kernel_hw, 5, 7)), tf.float32)
    # TensorFlow's CPU conv has no strides with dilations: the stride-1 output, subsampled.
    dense = tf.nn.conv2d(inputs, kernel, 1, "VALID", dilations=dilations).numpy()
    want = dense[:, :: strides[0], :: strides[1]]
    got = single_image_conv.shifted_matmul_conv2d(inputs, kernel, strides, dilations).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("dilation", [1, 2])
def test_symmetric_pads_make_the_stride_1_convolution_same(dilation):
    rng = np.random.default_rng(dilation)
    inputs = tf.constant(rng.normal(size=(1, 9, 10, 3)), tf.float32)
    kernel = tf.constant(rng.normal(size=(3, 5, 3, 4)), tf.float32)
    pads = symmetric_pads((3, 5), (dilation, dilation))
    want = tf.nn.conv2d(inputs, kernel, 1, "SAME", dilations=dilation).numpy()
    got = single_image_conv.shifted_matmul_conv2d(
        inputs, kernel, (1, 1), (dilation, dilation), pads
    ).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_applies_up_to_the_measured_output_size_and_from_the_measured_channels():
    channels = single_image_conv.MIN_CHANNELS

    def applies(
        height, width, strides=(1, 1), depth=channels, filters=channels, batch=1, pads=(1, 1)
    ):
        inputs = tf.TensorSpec([batch, height, width, depth])
        kernel = tf.TensorSpec([3, 3, depth, filters])
        return single_image_conv.applies(inputs, kernel, strides, (1, 1), 1, pads)

    assert applies(40, 40) and applies(80, 80, strides=(2, 2))
    assert applies(20, 20, batch=None)
    assert not applies(40, 41)
    assert not applies(10, 10)  # 59 M multiply-adds
    assert not applies(81, 81, strides=(2, 2), pads=(1, 1))
    assert not applies(20, 20, depth=channels - 1)
    assert not applies(20, 20, filters=channels - 1)
    assert not applies(20, 20, batch=2)
    with single_image_conv.native_convolutions():
        assert not applies(20, 20)
    assert applies(20, 20)
