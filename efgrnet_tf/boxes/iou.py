"""Pairwise intersection-over-union of yxyx boxes."""

from __future__ import annotations

import tensorflow as tf


def pairwise_iou(boxes_a_yxyx: tf.Tensor, boxes_b_yxyx: tf.Tensor) -> tf.Tensor:
    """IoU of every box in `a` with every box in `b`.

    Args:
      boxes_a_yxyx: `[..., N, 4]` `[ymin, xmin, ymax, xmax]`.
      boxes_b_yxyx: `[..., M, 4]` `[ymin, xmin, ymax, xmax]`; leading dimensions broadcast
        against those of `a` (e.g. `[B, N, 4]` ground truth with `[M, 4]` anchors).
    Returns:
      `[..., N, M]` float32 IoU. Pairs whose union has no area (two degenerate boxes) give 0.
    """
    a = tf.cast(boxes_a_yxyx, tf.float32)[..., :, None, :]
    b = tf.cast(boxes_b_yxyx, tf.float32)[..., None, :, :]
    top_left = tf.maximum(a[..., :2], b[..., :2])
    bottom_right = tf.minimum(a[..., 2:], b[..., 2:])
    intersection_hw = tf.maximum(bottom_right - top_left, 0.0)
    intersection = intersection_hw[..., 0] * intersection_hw[..., 1]
    area_a = _area(a)
    area_b = _area(b)
    union = area_a + area_b - intersection
    return tf.math.divide_no_nan(intersection, union)


def _area(boxes_yxyx: tf.Tensor) -> tf.Tensor:
    height = tf.maximum(boxes_yxyx[..., 2] - boxes_yxyx[..., 0], 0.0)
    width = tf.maximum(boxes_yxyx[..., 3] - boxes_yxyx[..., 1], 0.0)
    return height * width
