"""The EFGRNet training loss: objectness (stage 1) and final (stage 2) multibox losses.

Stage 1 matches ground truth to the anchors and trains the 2-class objectness heads (B1, C1).
Stage 2 matches ground truth to the refined anchors `decode(B1, anchors)` (no gradient through
the targets) and trains the final heads (B2, C2); anchors whose objectness P(fg) is at most
`loss.objectness_filter_threshold` are never stage-2 positives, and with
`loss.filter_negatives_from_all_final_losses` they are not mined as negatives either
(RefineDet). With the switch off (the authors' code) they stay minable, and a filtered anchor
that matched a box is then scored against that box's class, as the authors' code does.
Models without objectness outputs (SSD baseline, no-cascade ablation) train one stage: the
final heads against the anchors, with zero objectness terms.

Each stage: softmax cross-entropy on its positives and on hard negatives mined 3:1 per image,
plus smooth-L1 on the positives' deltas, summed over the replica's images and divided by the
stage's positive count summed over all replicas (at least 1). Summing the returned values over
replicas, as gradient aggregation does, therefore gives the loss of the global batch.

Choices the paper leaves open:
- crowd boxes (`loss.ignore_crowd_boxes`) are dropped before matching, like padded slots:
  anchors on a crowd region are background unless a non-crowd box claims them;
- an image without positives in a stage keeps `loss.negatives_for_images_without_positives`
  hard negatives (3:1 would keep none), so images without boxes still train background and
  give a finite loss. With `loss.negatives_without_positives_scope: batch` (the authors'
  `RefineMultiBoxLoss`) that count applies only when the stage has no positive in the whole
  global batch; otherwise such an image keeps none.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from efgrnet_tf.boxes.coding import decode_deltas
from efgrnet_tf.config.boxes import LossConfig
from efgrnet_tf.losses.hard_negative_mining import hard_negative_mask
from efgrnet_tf.losses.targets import assign_targets, valid_gt_mask


def compute_losses(
    outputs: dict[str, tf.Tensor],
    labels: dict[str, tf.Tensor],
    anchors_cxcywh: tf.Tensor,
    loss_cfg: LossConfig,
    variances: Sequence[float],
) -> dict[str, tf.Tensor]:
    """The replica's share of the four loss terms and their sum.

    Args:
      outputs: the model's dict: `box_deltas` `[B, A, 4]`, `class_logits`
        `[B, A, num_classes]` (class 0 = background) and, for cascade models,
        `objectness_deltas` `[B, A, 4]`, `objectness_logits` `[B, A, 2]` (bg, fg). Any float
        dtype; the loss is computed in float32.
      labels: `boxes` `[B, M, 4]` yxyx normalised, `classes` `[B, M]` int 1-based with -1 for
        padded slots, `is_crowd` `[B, M]` bool.
      anchors_cxcywh: `[A, 4]` anchors from `generate_anchors`.
      loss_cfg: the config's `loss` section.
      variances: `(centre, size)` of the box coding, the config's `anchors.variances`.
    Returns:
      float32 scalars `objectness_classification`, `objectness_localization`,
      `final_classification`, `final_localization` and `total` (their sum); the objectness
      terms are 0 for single-stage models.
    """
    gt_boxes = tf.cast(labels["boxes"], tf.float32)
    gt_classes = tf.cast(labels["classes"], tf.int32)
    gt_valid = valid_gt_mask(gt_classes, labels["is_crowd"], loss_cfg.ignore_crowd_boxes)

    def targets_against(anchors):
        return assign_targets(
            gt_boxes,
            gt_classes,
            gt_valid,
            anchors,
            loss_cfg.positive_iou_threshold,
            variances,
        )

    anchors_cxcywh = tf.cast(anchors_cxcywh, tf.float32)
    box_deltas = tf.cast(outputs["box_deltas"], tf.float32)
    class_logits = tf.cast(outputs["class_logits"], tf.float32)
    if "objectness_logits" not in outputs:
        class_targets, box_targets, positive = targets_against(anchors_cxcywh)
        final = _stage_loss(
            class_logits, box_deltas, class_targets, box_targets, positive, loss_cfg
        )
        zero = tf.constant(0.0, tf.float32)
        return _loss_dict((zero, zero), final)

    objectness_deltas = tf.cast(outputs["objectness_deltas"], tf.float32)
    objectness_logits = tf.cast(outputs["objectness_logits"], tf.float32)
    _, objectness_box_targets, objectness_positive = targets_against(anchors_cxcywh)
    objectness = _stage_loss(
        objectness_logits,
        objectness_deltas,
        tf.cast(objectness_positive, tf.int32),
        objectness_box_targets,
        objectness_positive,
        loss_cfg,
    )

    refined_anchors = tf.stop_gradient(decode_deltas(objectness_deltas, anchors_cxcywh, variances))
    class_targets, box_targets, matched = targets_against(refined_anchors)
    kept = tf.nn.softmax(objectness_logits, axis=-1)[..., 1] > loss_cfg.objectness_filter_threshold
    # Filtered anchors leave the positives either way; with the deviation switch off (the
    # authors' code) they stay minable as negatives, with their matched class as target.
    final = _stage_loss(
        class_logits,
        box_deltas,
        class_targets,
        box_targets,
        matched & kept,
        loss_cfg,
        eligible=kept if loss_cfg.filter_negatives_from_all_final_losses else None,
    )
    return _loss_dict(objectness, final)


def smooth_l1(x: tf.Tensor, beta: float) -> tf.Tensor:
    """Element-wise smooth-L1 (Huber / β): `0.5·x²/β` where `|x| < β`, else `|x| - 0.5·β`."""
    abs_x = tf.abs(x)
    return tf.where(abs_x < beta, 0.5 * tf.square(x) / beta, abs_x - 0.5 * beta)


def _stage_loss(
    logits: tf.Tensor,
    deltas: tf.Tensor,
    class_targets: tf.Tensor,
    box_targets: tf.Tensor,
    positive: tf.Tensor,
    loss_cfg: LossConfig,
    eligible: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Classification and localisation loss of one stage, normalised by global positives.

    `logits` `[B, A, C]`, `deltas`/`box_targets` `[B, A, 4]`, `class_targets` `[B, A]`,
    `positive` `[B, A]` bool; `eligible` `[B, A]` bool limits the anchors that may be mined as
    negatives (None: all non-positive anchors).
    """
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(class_targets, logits)
    num_positives = tf.reduce_sum(tf.cast(positive, tf.int32), axis=1)
    global_positives = _global_sum(tf.cast(tf.reduce_sum(num_positives), tf.float32))
    negatives_without_positives = tf.constant(
        loss_cfg.negatives_for_images_without_positives, tf.float32
    )
    if loss_cfg.negatives_without_positives_scope == "batch":
        negatives_without_positives = tf.where(
            global_positives > 0, 0.0, negatives_without_positives
        )
    negative = hard_negative_mask(
        tf.stop_gradient(cross_entropy),
        ~positive if eligible is None else eligible & ~positive,
        num_positives,
        loss_cfg.negative_to_positive_ratio,
        negatives_without_positives,
    )
    classification = tf.reduce_sum(tf.where(positive | negative, cross_entropy, 0.0))
    per_anchor_l1 = tf.reduce_sum(smooth_l1(deltas - box_targets, loss_cfg.smooth_l1_beta), -1)
    localization = tf.reduce_sum(tf.where(positive, per_anchor_l1, 0.0))
    divisor = tf.maximum(global_positives, 1.0)
    return classification / divisor, localization / divisor


def _global_sum(local_value: tf.Tensor) -> tf.Tensor:
    """Sum of `local_value` over the replicas of the current replica context (itself if none)."""
    replica_context = tf.distribute.get_replica_context()
    if replica_context is None:
        return local_value
    return replica_context.all_reduce(tf.distribute.ReduceOp.SUM, local_value)


def _loss_dict(objectness: tuple, final: tuple) -> dict[str, tf.Tensor]:
    """Names the (classification, localisation) pairs of both stages and adds the total."""
    return {
        "objectness_classification": objectness[0],
        "objectness_localization": objectness[1],
        "final_classification": final[0],
        "final_localization": final[1],
        "total": objectness[0] + objectness[1] + final[0] + final[1],
    }
