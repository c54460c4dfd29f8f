"""Per-anchor classification and box-regression targets for one detection stage."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from efgrnet_tf.boxes.coding import cxcywh_to_yxyx, encode_boxes, yxyx_to_cxcywh
from efgrnet_tf.losses.matching import match_anchors


def valid_gt_mask(gt_classes: tf.Tensor, gt_is_crowd: tf.Tensor, ignore_crowd: bool) -> tf.Tensor:
    """`[B, M]` bool: slots that take part in matching.

    Padded slots (class ≤ 0) never do. With `ignore_crowd`, crowd boxes are excluded exactly
    like padding: they match no anchor, so anchors on a crowd region are background (and can
    be mined as negatives) unless a non-crowd box claims them.
    """
    valid = gt_classes > 0
    if ignore_crowd:
        valid &= ~tf.cast(gt_is_crowd, tf.bool)
    return valid


def assign_targets(
    gt_boxes_yxyx: tf.Tensor,
    gt_classes: tf.Tensor,
    gt_valid: tf.Tensor,
    anchors_cxcywh: tf.Tensor,
    positive_iou_threshold: float,
    variances: Sequence[float],
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Matches ground truth to anchors (`match_anchors`) and encodes the matched boxes.

    Args:
      gt_boxes_yxyx: `[B, M, 4]` ground-truth boxes, yxyx normalised.
      gt_classes: `[B, M]` int class ids, 1-based.
      gt_valid: `[B, M]` bool, slots allowed to match (`valid_gt_mask`).
      anchors_cxcywh: `[A, 4]` anchors or `[B, A, 4]` per-image refined anchors, cxcywh.
      positive_iou_threshold: matching threshold.
      variances: `(centre, size)` coding variances.
    Returns:
      `class_targets`: `[B, A]` int32, the matched class where positive, 0 (background) else;
      `box_targets`: `[B, A, 4]` float32 deltas `(dx, dy, dw, dh)` against `anchors_cxcywh`
        where positive, 0 else;
      `positive`: `[B, A]` bool.
    """
    anchors_cxcywh = tf.cast(anchors_cxcywh, tf.float32)
    matched, positive = match_anchors(
        gt_boxes_yxyx, gt_valid, cxcywh_to_yxyx(anchors_cxcywh), positive_iou_threshold
    )
    matched_classes = tf.gather(tf.cast(gt_classes, tf.int32), matched, batch_dims=1)
    class_targets = tf.where(positive, matched_classes, 0)
    matched_boxes = tf.gather(tf.cast(gt_boxes_yxyx, tf.float32), matched, batch_dims=1)
    deltas = encode_boxes(yxyx_to_cxcywh(matched_boxes), anchors_cxcywh, variances)
    box_targets = tf.where(positive[..., None], deltas, 0.0)
    return class_targets, box_targets, positive
