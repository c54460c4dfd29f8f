"""SSD box coding: hand-computed deltas, round trips, broadcasting, degenerate sizes."""

import math

import numpy as np
import tensorflow as tf

from efgrnet_tf.boxes.coding import cxcywh_to_yxyx, decode_deltas, encode_boxes, yxyx_to_cxcywh

VARIANCES = (0.1, 0.2)


def test_format_conversions_by_hand_and_round_trip():
    yxyx = np.array([[0.1, 0.2, 0.5, 0.8]], np.float32)
    cxcywh = yxyx_to_cxcywh(yxyx).numpy()
    np.testing.assert_allclose(cxcywh, [[0.5, 0.3, 0.6, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(cxcywh_to_yxyx(cxcywh).numpy(), yxyx, rtol=1e-6)


def test_encode_matches_hand_computed_deltas():
    anchor = [[0.5, 0.5, 0.2, 0.4]]
    box = [[0.55, 0.45, 0.4, 0.2]]
    deltas = encode_boxes(tf.constant(box), tf.constant(anchor), VARIANCES).numpy()
    expected = [[0.05 / 0.02, -0.05 / 0.04, math.log(2.0) / 0.2, math.log(0.5) / 0.2]]
    np.testing.assert_allclose(deltas, expected, rtol=1e-5)


def test_decode_inverts_encode_with_broadcast_anchors():
    rng = np.random.default_rng(0)
    anchors = np.concatenate([rng.uniform(0.1, 0.9, (7, 2)), rng.uniform(0.05, 0.5, (7, 2))], -1)
    boxes = np.concatenate([rng.uniform(0, 1, (3, 7, 2)), rng.uniform(0.01, 1, (3, 7, 2))], -1)
    anchors, boxes = anchors.astype(np.float32), boxes.astype(np.float32)
    deltas = encode_boxes(boxes, anchors, VARIANCES)
    assert deltas.shape == (3, 7, 4)
    np.testing.assert_allclose(decode_deltas(deltas, anchors, VARIANCES), boxes, atol=1e-5)
    zero_deltas = tf.zeros([3, 7, 4], tf.float16)
    decoded = decode_deltas(zero_deltas, anchors, VARIANCES)
    assert decoded.dtype == tf.float32
    np.testing.assert_allclose(decoded, np.broadcast_to(anchors, (3, 7, 4)), rtol=1e-6)


def test_degenerate_sizes_stay_finite():
    anchors = tf.constant([[0.5, 0.5, 0.1, 0.1]])
    deltas = encode_boxes(tf.constant([[0.5, 0.5, 0.0, 0.0]]), anchors, VARIANCES)
    assert np.all(np.isfinite(deltas.numpy()))
    decoded = decode_deltas(tf.constant([[0.0, 0.0, 1e4, 1e4]]), anchors, VARIANCES)
    assert np.all(np.isfinite(decoded.numpy()))
    np.testing.assert_allclose(decoded.numpy()[0, 2:], [0.1 * 1000 / 16] * 2, rtol=1e-5)
