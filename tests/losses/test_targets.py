"""Per-anchor targets: matched classes, hand-encoded deltas, per-image (refined) anchors."""

import math

import numpy as np

from efgrnet_tf.losses.targets import assign_targets

VARIANCES = (0.1, 0.2)
BOX = [0.2, 0.1, 0.6, 0.3]  # yxyx; cxcywh (0.2, 0.4, 0.2, 0.4)
BOX_ANCHOR = [0.22, 0.38, 0.2, 0.2]  # IoU 0.43 with BOX, yet its best anchor
FAR_ANCHOR = [0.8, 0.8, 0.2, 0.2]


def _expected_deltas(anchor):
    acx, acy, aw, ah = anchor
    return [
        (0.2 - acx) / (0.1 * aw),
        (0.4 - acy) / (0.1 * ah),
        math.log(0.2 / aw) / 0.2,
        math.log(0.4 / ah) / 0.2,
    ]


def test_positive_anchors_get_the_class_and_encoded_box_others_background():
    boxes = np.array([[BOX, [0, 0, 0, 0]]], np.float32)
    classes = np.array([[5, -1]], np.int32)
    anchors = np.array([FAR_ANCHOR, BOX_ANCHOR], np.float32)
    class_targets, box_targets, positive = assign_targets(
        boxes, classes, classes > 0, anchors, 0.5, VARIANCES
    )
    np.testing.assert_array_equal(positive, [[False, True]])
    np.testing.assert_array_equal(class_targets, [[0, 5]])
    np.testing.assert_allclose(box_targets[0, 1], _expected_deltas(BOX_ANCHOR), atol=1e-5)
    np.testing.assert_array_equal(box_targets[0, 0], [0, 0, 0, 0])


def test_per_image_anchors_are_matched_and_encoded_per_image():
    boxes = np.array([[BOX], [BOX]], np.float32)
    classes = np.array([[3], [7]], np.int32)
    anchors = np.array([[BOX_ANCHOR, FAR_ANCHOR], [FAR_ANCHOR, BOX_ANCHOR]], np.float32)
    class_targets, box_targets, positive = assign_targets(
        boxes, classes, classes > 0, anchors, 0.5, VARIANCES
    )
    np.testing.assert_array_equal(positive, [[True, False], [False, True]])
    np.testing.assert_array_equal(class_targets, [[3, 0], [0, 7]])
    np.testing.assert_allclose(box_targets[0, 0], _expected_deltas(BOX_ANCHOR), atol=1e-5)
    np.testing.assert_allclose(box_targets[1, 1], _expected_deltas(BOX_ANCHOR), atol=1e-5)
