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
    # Coordinates are unstacked first so no intermediate is larger than the [..., N, M] result
    # (matching builds this for every ground-truth slot and anchor of a batch).
    a_ymin, a_xmin, a_ymax, a_xmax = [
        c[..., :, None] for c in tf.unstack(tf.cast(boxes_a_yxyx, tf.float32), num=4, axis=-1)
    ]
    b_ymin, b_xmin, b_ymax, b_xmax = [
        c[..., None, :] for c in tf.unstack(tf.cast(boxes_b_yxyx, tf.float32), num=4, axis=-1)
    ]
    height = tf.maximum(tf.minimum(a_ymax, b_ymax) - tf.maximum(a_ymin, b_ymin), 0.0)
    width = tf.maximum(tf.minimum(a_xmax, b_xmax) - tf.maximum(a_xmin, b_xmin), 0.0)
    intersection = height * width
    area_a = tf.maximum(a_ymax - a_ymin, 0.0) * tf.maximum(a_xmax - a_xmin, 0.0)
    area_b = tf.maximum(b_ymax - b_ymin, 0.0) * tf.maximum(b_xmax - b_xmin, 0.0)
    return tf.math.divide_no_nan(intersection, area_a + area_b - intersection)
