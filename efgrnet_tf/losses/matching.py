"""SSD anchor matching: IoU threshold plus a forced best anchor for every ground-truth box."""

from __future__ import annotations

import tensorflow as tf

from efgrnet_tf.boxes.iou import pairwise_iou


def match_anchors(
    gt_boxes_yxyx: tf.Tensor,
    gt_valid: tf.Tensor,
    anchors_yxyx: tf.Tensor,
    positive_iou_threshold: float,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Matches every anchor to at most one ground-truth box, as SSD's `match` does.

    An anchor is positive when its best IoU with a valid box is ≥ `positive_iou_threshold`, and
    is then matched to that box. Every valid box is also force-matched to its own best anchor
    (even when that IoU is below the threshold), overriding the anchor's own choice; when several
    boxes force the same anchor, the box with the highest slot index wins (SSD's loop order).
    A valid box with zero IoU against every anchor (a degenerate box) forces nothing. Invalid
    slots (padding, ignored crowd boxes) take no part at all. Ties in IoU go to the lower index.

    Args:
      gt_boxes_yxyx: `[B, M, 4]` ground-truth boxes, yxyx normalised.
      gt_valid: `[B, M]` bool, False for slots that must not be matched.
      anchors_yxyx: `[A, 4]` shared anchors or `[B, A, 4]` per-image (refined) anchors, yxyx.
      positive_iou_threshold: IoU at or above which an anchor is positive.
    Returns:
      `matched_gt_index`: `[B, A]` int32 slot of the matched box (meaningful where positive);
      `positive`: `[B, A]` bool.
    """
    gt_valid = tf.convert_to_tensor(gt_valid, tf.bool)
    iou = pairwise_iou(gt_boxes_yxyx, anchors_yxyx)  # [B, M, A]
    iou = tf.where(gt_valid[:, :, None], iou, -1.0)
    best_gt_iou = tf.reduce_max(iou, axis=1)  # [B, A]
    best_gt_index = tf.argmax(iou, axis=1, output_type=tf.int32)
    best_anchor_iou = tf.reduce_max(iou, axis=2)  # [B, M]
    best_anchor_index = tf.argmax(iou, axis=2, output_type=tf.int32)

    batch_size = tf.shape(iou)[0]
    num_slots = tf.shape(iou)[1]
    forces = gt_valid & (best_anchor_iou > 0.0)
    slot_plus_one = tf.broadcast_to(tf.range(1, num_slots + 1), [batch_size, num_slots])
    batch_index = tf.broadcast_to(tf.range(batch_size)[:, None], [batch_size, num_slots])
    # Max-scatter of (slot + 1) makes the highest forcing slot win; 0 means "not forced".
    forced_slot_plus_one = tf.tensor_scatter_nd_max(
        tf.zeros_like(best_gt_index),
        tf.stack([batch_index, best_anchor_index], axis=-1),
        tf.where(forces, slot_plus_one, 0),
    )
    forced = forced_slot_plus_one > 0
    matched_gt_index = tf.where(forced, forced_slot_plus_one - 1, best_gt_index)
    positive = forced | (best_gt_iou >= positive_iou_threshold)
    return matched_gt_index, positive
