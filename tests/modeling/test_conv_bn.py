"""ConvBN: PyTorch-style symmetric padding, BN semantics, initialisation; the shared
batch-norm settings."""

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.modeling.conv_bn import (
    BatchNormSettings,
    ConvBN,
    he_normal_fan_out,
    torch_style_conv2d,
)


@pytest.mark.parametrize("size", [8, 7])
def test_strided_conv_pads_symmetrically_like_pytorch(size):
    x = np.random.default_rng(0).normal(size=(1, size, size, 3)).astype(np.float32)
    conv = torch_style_conv2d(4, 3, strides=2)
    result = conv(x)
    # PyTorch's Conv2d(padding=1, stride=2): one zero row/column on every side.
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    expected = tf.nn.conv2d(padded, conv.kernel, 2, "VALID")
    assert result.shape == expected.shape == (1, (size + 1) // 2, (size + 1) // 2, 4)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


def test_conv_bn_is_conv_then_batch_norm_then_relu():
    x = np.random.default_rng(1).normal(size=(4, 6, 6, 3)).astype(np.float32)
    layer = ConvBN(5, 3, batch_norm=BatchNormSettings(epsilon=1e-5))
    result = layer(x, training=True)
    conv = tf.nn.conv2d(x, layer.conv.kernel, 1, "SAME").numpy()
    mean, var = conv.mean(axis=(0, 1, 2)), conv.var(axis=(0, 1, 2))
    expected = np.maximum((conv - mean) / np.sqrt(var + 1e-5), 0.0)
    assert layer.conv.bias is None
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4)


def test_conv_bn_without_activation_keeps_negative_values():
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 3)).astype(np.float32)
    assert np.min(ConvBN(4, 1, activation=False)(x, training=True)) < 0


def test_new_convs_are_he_normal_fan_out_and_bn_starts_at_identity():
    layer = ConvBN(256, 3)
    layer.build((None, 8, 8, 128))
    kernel = layer.conv.kernel.numpy()
    # fan_out = kh * kw * out_channels; untruncated normal.
    np.testing.assert_allclose(kernel.std(), np.sqrt(2.0 / (9 * 256)), rtol=0.02)
    assert abs(kernel.mean()) < 1e-3
    assert np.abs(kernel).max() > 2.5 * np.sqrt(2.0 / (9 * 256))  # not truncated at 2 std
    gamma, beta = layer.bn.gamma.numpy(), layer.bn.beta.numpy()
    np.testing.assert_array_equal(gamma, 1.0)
    np.testing.assert_array_equal(beta, 0.0)
    assert he_normal_fan_out().get_config()["mode"] == "fan_out"


def test_conv_bn_config_round_trip():
    batch_norm = BatchNormSettings(momentum=0.9, epsilon=1e-3, synchronized=True)
    layer = ConvBN(7, 3, 2, 1, activation=False, batch_norm=batch_norm)
    config = layer.get_config()
    assert config["batch_norm"] == {"momentum": 0.9, "epsilon": 1e-3, "synchronized": True}
    clone = ConvBN.from_config(config)
    assert clone.get_config() == config
    assert clone.batch_norm == batch_norm
    assert (clone.bn.momentum, clone.bn.epsilon, clone.bn.synchronized) == (0.9, 1e-3, True)
    assert clone.compute_output_shape((None, 9, 9, 3)) == (None, 5, 5, 7)


def test_batch_norm_settings_default_to_the_authors_and_make_keras_layers():
    assert BatchNormSettings.from_config(None) == BatchNormSettings(0.99, 1e-5, False)
    settings = BatchNormSettings(momentum=0.5, epsilon=1e-2)
    assert BatchNormSettings.from_config(settings) is settings
    layer = settings.layer("norm", dtype="mixed_float16")
    assert (layer.name, layer.momentum, layer.epsilon, layer.synchronized) == (
        "norm",
        0.5,
        1e-2,
        False,
    )
    assert layer.compute_dtype == "float16"


@pytest.mark.parametrize(
    "fields, message", [(dict(momentum=1.0), "momentum"), (dict(epsilon=0.0), "epsilon")]
)
def test_batch_norm_settings_reject_values_keras_cannot_use(fields, message):
    with pytest.raises(ValueError, match=message):
        BatchNormSettings(**fields)
