"""FGRM: objectness map (Eq. 1), which B1 channels feed the offsets (Eq. 2), and the whole
layer against a shift-then-dilated-conv reference (integer offsets make the deformable conv a
shifted plain conv)."""

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.modeling.conv_bn import BatchNormSettings
from efgrnet_tf.modeling.fgrm import (
    FeatureGuidedRefinement,
    objectness_map,
    offset_source_channels,
)

A = 3
EPS = 1e-3


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_objectness_map_is_sigmoid_of_largest_foreground_logit():
    logits = np.random.default_rng(0).normal(size=(2, 5, 4, 2 * A)).astype(np.float32)
    # The background logits are the largest values; they must not be read.
    logits[..., 0::2] += 10.0
    expected = _sigmoid(logits[..., 1::2].max(axis=-1, keepdims=True))
    np.testing.assert_allclose(objectness_map(logits, A), expected, rtol=1e-6)


def test_objectness_map_is_finite_and_float32_for_extreme_float16_logits():
    logits = np.full((1, 2, 2, 2 * A), -60000.0, np.float16)
    logits[0, 0, 0, 3] = 60000.0
    result = objectness_map(tf.constant(logits), A)
    assert result.dtype == tf.float32
    np.testing.assert_array_equal(result.numpy()[0, ..., 0], [[1.0, 0.0], [0.0, 0.0]])


def test_offset_sources_group_b1_channels_by_component():
    # Channel 4a + t holds 10a + t: anchor a, component t (dx, dy, dw, dh).
    b1 = np.array([10 * a + t for a in range(A) for t in range(4)], np.float32)[None, None, None]
    expected = {
        "b1_dxdy": [0, 10, 20, 1, 11, 21],
        "b1_dhdw": [2, 12, 22, 3, 13, 23],
        "b1_all": [0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23],
    }
    for source, channels in expected.items():
        result = offset_source_channels(b1, source, A)
        np.testing.assert_array_equal(np.asarray(result)[0, 0, 0], channels, err_msg=source)


def _reference(features, logits, kernel, dilation, dy, dx):
    """Eq. 1 → 3x3 conv sampling at (y - d + i·d + dy, x - d + j·d + dx), zero outside the
    image (integer offsets: a window of the zero-padded map) → inference BN (fresh) → ReLU."""
    attention = _sigmoid(logits[..., 1::2].max(axis=-1, keepdims=True))
    enhanced = features * attention + features
    margin = 10
    padded = np.pad(enhanced, [(0, 0), (margin, margin), (margin, margin), (0, 0)])
    height, width = enhanced.shape[1:3]
    top, left = margin - dilation + dy, margin - dilation + dx
    window = padded[:, top : top + height + 2 * dilation, left : left + width + 2 * dilation]
    conv = tf.nn.conv2d(window, kernel, 1, "VALID", dilations=dilation)
    return np.maximum(conv.numpy() / np.sqrt(1.0 + EPS), 0.0)


def _case(rng, components):
    """Features, C1 logits and a B1 map whose two read components are 2 (→ dx) and -1 (→ dy),
    and whose other components hold values that would change the result if read."""
    features = rng.normal(size=(1, 7, 6, 4)).astype(np.float32)
    logits = rng.normal(size=(1, 7, 6, 2 * A)).astype(np.float32)
    b1 = np.empty((1, 7, 6, 4 * A), np.float32)
    b1[..., 0::4], b1[..., 1::4], b1[..., 2::4], b1[..., 3::4] = 5.0, 3.0, 4.0, -3.0
    b1[..., components[0] :: 4] = 2.0
    b1[..., components[1] :: 4] = -1.0
    return features, logits, b1


def _mean_selector(offset_bn_relu):
    """1x1 kernel `[6, 18]`: every dy tap = mean of the second A inputs, every dx tap = mean
    of the first A inputs."""
    kernel = np.zeros((1, 1, 2 * A, 18), np.float32)
    kernel[0, 0, A:, 0::2] = 1.0 / A
    kernel[0, 0, :A, 1::2] = 1.0 / A
    return [kernel] if offset_bn_relu else [kernel, np.zeros(18, np.float32)]


@pytest.mark.parametrize("source, components", [("b1_dxdy", (0, 1)), ("b1_dhdw", (2, 3))])
def test_fgrm_offsets_come_from_the_right_b1_channels(source, components):
    rng = np.random.default_rng(1)
    features, logits, b1 = _case(rng, components)
    layer = FeatureGuidedRefinement(
        3,
        2,
        num_anchors=A,
        offset_source=source,
        offset_bn_relu=False,
        batch_norm=BatchNormSettings(epsilon=EPS),
    )
    layer(features, b1, logits)
    layer.offset_conv.set_weights(_mean_selector(offset_bn_relu=False))
    kernel = rng.normal(size=(3, 3, 4, 3)).astype(np.float32)
    layer.conv.set_weights([kernel])
    result = layer(features, b1, logits, training=False)
    expected = _reference(features, logits, kernel, 2, dy=-1, dx=2)
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4)


def test_fgrm_offset_bn_relu_clamps_negative_offsets_to_zero():
    rng = np.random.default_rng(2)
    features, logits, b1 = _case(rng, (0, 1))
    layer = FeatureGuidedRefinement(3, 3, num_anchors=A, batch_norm=BatchNormSettings(epsilon=EPS))
    layer(features, b1, logits)
    layer.offset_conv.conv.set_weights(_mean_selector(offset_bn_relu=True))
    # Undo the inference BN's 1/sqrt(1 + eps) so dx stays exactly 2.
    layer.offset_conv.bn.set_weights(
        [np.full(18, np.sqrt(1 + EPS), np.float32), *[np.zeros(18)] * 2, np.ones(18)]
    )
    kernel = rng.normal(size=(3, 3, 4, 3)).astype(np.float32)
    layer.conv.set_weights([kernel])
    result = layer(features, b1, logits, training=False)
    expected = _reference(features, logits, kernel, 3, dy=0, dx=2)
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("source", ["none", "features"])
def test_fgrm_without_b1_offsets_starts_as_a_plain_dilated_conv(source):
    rng = np.random.default_rng(3)
    features, logits, b1 = _case(rng, (0, 1))
    layer = FeatureGuidedRefinement(
        3, 4, num_anchors=A, offset_source=source, batch_norm=BatchNormSettings(epsilon=EPS)
    )
    layer(features, b1, logits)
    kernel = rng.normal(size=(3, 3, 4, 3)).astype(np.float32)
    layer.conv.set_weights([kernel])
    result = layer(features, b1, logits, training=False)
    expected = _reference(features, logits, kernel, 4, dy=0, dx=0)
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4)


def test_fgrm_gradients_reach_b1_and_c1():
    rng = np.random.default_rng(4)
    features, logits, b1 = (tf.constant(x) for x in _case(rng, (0, 1)))
    layer = FeatureGuidedRefinement(3, 2, num_anchors=A, offset_bn_relu=False)
    with tf.GradientTape() as tape:
        tape.watch([b1, logits])
        loss = tf.reduce_sum(layer(features, b1, logits, training=True) ** 2)
    grad_b1, grad_logits = tape.gradient(loss, [b1, logits])
    assert np.abs(grad_b1.numpy()[..., 0::4]).sum() > 0
    assert np.abs(grad_b1.numpy()[..., 2::4]).sum() == 0
    assert np.abs(grad_logits.numpy()[..., 1::2]).sum() > 0


def test_fgrm_config_round_trip():
    layer = FeatureGuidedRefinement(
        8,
        5,
        num_anchors=A,
        offset_source="b1_all",
        offset_bn_relu=False,
        implementation="pure_tf",
        batch_norm=BatchNormSettings(epsilon=EPS, synchronized=True),
    )
    clone = FeatureGuidedRefinement.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert (clone.bn.epsilon, clone.bn.synchronized) == (EPS, True)


def test_fgrm_rejects_unknown_offset_source():
    with pytest.raises(ValueError, match="offset_source"):
        FeatureGuidedRefinement(8, 5, offset_source="b2_dxdy")
