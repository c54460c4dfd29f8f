"""MSCF against a composition of plain TF ops using the layer's own kernels."""

import numpy as np
import tensorflow as tf

from efgrnet_tf.modeling.conv_bn import BatchNormSettings
from efgrnet_tf.modeling.mscf import MultiScaleContextualFeatures

EPS = 1e-5


def _conv_bn(x, layer, relu=True):
    """Inference ConvBN with fresh BN statistics: conv / sqrt(1 + eps), then ReLU."""
    conv = tf.nn.conv2d(x, layer.conv.kernel, 1, "SAME", dilations=layer.dilation_rate)
    out = conv / np.sqrt(1.0 + EPS)
    return tf.nn.relu(out) if relu else out


def test_mscf_matches_pools_stem_dilated_branches_and_linear_fuse():
    images = np.random.default_rng(0).normal(size=(2, 32, 24, 3)).astype(np.float32)
    layer = MultiScaleContextualFeatures(64)
    result = layer(images, training=False)

    x = images
    for _ in range(3):
        x = tf.nn.max_pool2d(x, 2, 2, "VALID")
    for stem in layer.stem:
        x = _conv_bn(x, stem)
    branches = [_conv_bn(_conv_bn(x, first), second) for first, second in layer.branches]
    expected = _conv_bn(tf.concat(branches, -1), layer.fuse, relu=False)
    assert result.shape == (2, 4, 3, 64)
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)
    assert np.min(result) < 0  # no ReLU at the end


def test_mscf_channels_and_dilations_follow_the_paper():
    layer = MultiScaleContextualFeatures(512)
    layer.build((None, 64, 64, 3))
    assert [(s.filters, s.kernel_size) for s in layer.stem] == [(128, 3), (128, 1)]
    assert [(f.filters, f.kernel_size, s.filters, s.kernel_size, s.dilation_rate)
            for f, s in layer.branches] == [(32, 1, 32, 3, r) for r in (1, 2, 4)]  # fmt: skip
    assert (layer.fuse.filters, layer.fuse.kernel_size, layer.fuse.activation) == (512, 1, False)
    assert layer.fuse.conv.kernel.shape == (1, 1, 96, 512)


def test_mscf_config_round_trip():
    batch_norm = BatchNormSettings(momentum=0.9, synchronized=True)
    layer = MultiScaleContextualFeatures(256, dilation_rates=(1, 3, 5), batch_norm=batch_norm)
    clone = MultiScaleContextualFeatures.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.batch_norm == batch_norm
    assert (clone.fuse.bn.momentum, clone.fuse.bn.synchronized) == (0.9, True)
