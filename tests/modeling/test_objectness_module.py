"""FeatureFusion (one level of the bottom-up objectness module) against plain TF ops."""

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.modeling.conv_bn import BatchNormSettings
from efgrnet_tf.modeling.objectness_module import FeatureFusion

EPS = 1e-5


@pytest.mark.parametrize("pre_activation", [True, False])
def test_fusion_with_downsample_is_norm_of_source_times_strided_guide(pre_activation):
    rng = np.random.default_rng(0)
    source = rng.normal(size=(2, 4, 4, 6)).astype(np.float32)
    guide = rng.normal(size=(2, 8, 8, 5)).astype(np.float32)
    layer = FeatureFusion(7, downsample_channels=6, pre_activation=pre_activation)
    result = layer(source, guide, training=False)

    # D: 3x3 stride 2 with one zero row/column on every side (PyTorch padding=1), BN, no ReLU.
    padded = np.pad(guide, [(0, 0), (1, 1), (1, 1), (0, 0)])
    down = tf.nn.conv2d(padded, layer.downsample.conv.kernel, 2, "VALID") / np.sqrt(1 + EPS)
    fused = source * down.numpy()
    if pre_activation:
        fused = np.maximum(fused, 0.0)
    norm = tf.nn.conv2d(fused, layer.norm.conv.kernel, 1, "SAME") / np.sqrt(1 + EPS)
    expected = np.maximum(norm.numpy(), 0.0)
    assert result.shape == (2, 4, 4, 7)
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)


def test_first_level_fusion_uses_the_guide_unchanged():
    rng = np.random.default_rng(1)
    source, guide = (rng.normal(size=(1, 4, 4, 6)).astype(np.float32) for _ in range(2))
    layer = FeatureFusion(6, pre_activation=True)
    result = layer(source, guide, training=False)
    norm = tf.nn.conv2d(np.maximum(source * guide, 0), layer.norm.conv.kernel, 1, "SAME")
    assert layer.downsample is None
    np.testing.assert_allclose(result, np.maximum(norm / np.sqrt(1 + EPS), 0), atol=1e-5)


def test_fusion_config_round_trip():
    batch_norm = BatchNormSettings(epsilon=1e-3)
    layer = FeatureFusion(16, downsample_channels=32, pre_activation=True, batch_norm=batch_norm)
    clone = FeatureFusion.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert (clone.downsample.bn.epsilon, clone.norm.bn.epsilon) == (1e-3, 1e-3)
