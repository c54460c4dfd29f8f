"""Box voting: merges the pooled detections of several inputs, per class (vectorised).

The authors' multi-scale test (`eval_dcn_multi_scale.py`, `bbox_vote` / `soft_bbox_vote`,
after RefineDet's) is greedy: take the best remaining box, remove every remaining box whose IoU
with it is ≥ the threshold (itself included), and emit their score-weighted mean box with the
best score. The leaders this picks are exactly the boxes greedy NMS keeps, and every other box
belongs to the first leader (in score order) it overlaps at ≥ the threshold. So one NMS kernel
call finds the leaders, a `[leaders, boxes]` IoU matrix the membership, and weighted sums the
merged boxes: no Python loop over boxes. IoU is computed on continuous normalised
coordinates (IoU is invariant to scaling the axes), not on the authors' "+1" pixel convention.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# Leaders compared with the unassigned boxes at once (bounds the IoU matrix's memory).
_LEADER_BLOCK = 256


def vote_boxes(
    boxes_yxyx: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    *,
    iou_threshold: float,
    soft: bool = False,
    soft_min_score: float = 0.001,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box voting of each class's detections; classes are never merged with each other.

    Args:
      boxes_yxyx: `[n, 4]` normalised.
      scores: `[n]`.
      classes: `[n]` int class ids.
      iou_threshold: a box joins a leader's cluster when their IoU is ≥ this.
      soft: also keep each absorbed box of a cluster of two or more, unchanged, with score
        `score * (1 - IoU with the leader)` when that is ≥ `soft_min_score`.
    Returns:
      `(boxes_yxyx [m, 4] float32, scores [m] float32, classes [m] int32)`, grouped by class
      in increasing id order, best score first within a class.
    """
    boxes_yxyx = np.asarray(boxes_yxyx, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32).reshape(-1)
    classes = np.asarray(classes).reshape(-1)
    out_boxes, out_scores, out_classes = [], [], []
    for class_id in np.unique(classes):
        selected = classes == class_id
        voted_boxes, voted_scores = vote_one_class(
            boxes_yxyx[selected],
            scores[selected],
            iou_threshold=iou_threshold,
            soft=soft,
            soft_min_score=soft_min_score,
        )
        out_boxes.append(voted_boxes)
        out_scores.append(voted_scores)
        out_classes.append(np.full(len(voted_scores), class_id, np.int32))
    if not out_boxes:
        return np.zeros([0, 4], np.float32), np.zeros([0], np.float32), np.zeros([0], np.int32)
    return np.concatenate(out_boxes), np.concatenate(out_scores), np.concatenate(out_classes)


def vote_one_class(
    boxes_yxyx: np.ndarray,
    scores: np.ndarray,
    *,
    iou_threshold: float,
    soft: bool = False,
    soft_min_score: float = 0.001,
) -> tuple[np.ndarray, np.ndarray]:
    """Box voting of the detections of one class (see `vote_boxes`).

    Returns:
      `(boxes_yxyx [m, 4] float32, scores [m] float32)`, best score first.
    """
    order = np.argsort(-scores, kind="stable")
    boxes_yxyx, scores = boxes_yxyx[order], scores[order]
    leaders = greedy_nms_leaders(boxes_yxyx, scores, iou_threshold)
    cluster, leaders = _assign_to_first_leader(boxes_yxyx, leaders, iou_threshold)
    weights = scores.astype(np.float64)
    weight_sums = np.bincount(cluster, weights=weights, minlength=len(leaders))
    weighted_sums = np.stack(
        [
            np.bincount(cluster, weights=weights * boxes_yxyx[:, c], minlength=len(leaders))
            for c in range(4)
        ],
        axis=-1,
    )
    # Clusters of zero-score boxes (only with a zero score threshold) keep their leader's box.
    has_weight = weight_sums[:, None] > 0
    voted_boxes = np.where(
        has_weight,
        weighted_sums / np.where(has_weight, weight_sums[:, None], 1.0),
        boxes_yxyx[leaders],
    )
    voted_scores = scores[leaders]
    if soft:
        iou_with_leader = _iou(boxes_yxyx, boxes_yxyx[leaders][cluster])
        decayed = scores * (1.0 - iou_with_leader)
        is_leader = np.zeros(len(scores), bool)
        is_leader[leaders] = True
        # A cluster of one is its leader alone, so it adds no decayed copy.
        kept = ~is_leader & (decayed >= soft_min_score)
        voted_boxes = np.concatenate([voted_boxes, boxes_yxyx[kept]])
        voted_scores = np.concatenate([voted_scores, decayed[kept]])
    best_first = np.argsort(-voted_scores, kind="stable")
    return (
        voted_boxes[best_first].astype(np.float32),
        voted_scores[best_first].astype(np.float32),
    )


def greedy_nms_leaders(
    boxes_yxyx: np.ndarray, scores: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Indices (ascending, into score-sorted `boxes_yxyx`) of the boxes greedy NMS keeps when a
    box suppresses the later ones it overlaps at IoU ≥ `iou_threshold`."""
    # TensorFlow suppresses at IoU > threshold; the float32 just below it makes that ≥.
    strict_threshold = np.nextafter(np.float32(iou_threshold), np.float32(0.0))
    kept = tf.image.non_max_suppression(
        boxes_yxyx,
        scores,
        max_output_size=len(scores),
        iou_threshold=float(strict_threshold),
        score_threshold=float("-inf"),
    )
    return np.sort(kept.numpy())


def _assign_to_first_leader(
    boxes_yxyx: np.ndarray, leaders: np.ndarray, iou_threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each box's cluster: the first leader (in score order) it overlaps at IoU ≥ the threshold.

    Leaders are compared in blocks against the boxes still unassigned, so memory stays at
    `_LEADER_BLOCK` x boxes however many leaders there are. A box that no leader reaches
    (possible only through float rounding right at the threshold, since NMS suppressed it)
    becomes a leader of its own.

    Returns:
      `(cluster [n] int index into the leaders, leaders [m] int index into the boxes)`.
    """
    cluster = np.full(len(boxes_yxyx), -1, np.int64)
    cluster[leaders] = np.arange(len(leaders))
    unassigned = np.flatnonzero(cluster < 0)
    for start in range(0, len(leaders), _LEADER_BLOCK):
        if not len(unassigned):
            break
        block = leaders[start : start + _LEADER_BLOCK]
        reached = _iou(boxes_yxyx[block][:, None], boxes_yxyx[unassigned][None]) >= np.float32(
            iou_threshold
        )
        found = reached.any(axis=0)
        cluster[unassigned[found]] = start + reached.argmax(axis=0)[found]
        unassigned = unassigned[~found]
    cluster[unassigned] = len(leaders) + np.arange(len(unassigned))
    return cluster, np.concatenate([leaders, unassigned])


def _iou(boxes_a_yxyx: np.ndarray, boxes_b_yxyx: np.ndarray) -> np.ndarray:
    """IoU of `[..., 4]` boxes broadcast against each other, in float32 with the operations of
    TensorFlow's NMS kernel (so that clusters agree with the leaders it picks); 0 for an empty
    union. NumPy, not `efgrnet_tf.boxes.iou.pairwise_iou`: one eager TensorFlow call per class
    and block cost more than the whole vote."""
    a_ymin, a_xmin, a_ymax, a_xmax = np.moveaxis(boxes_a_yxyx.astype(np.float32), -1, 0)
    b_ymin, b_xmin, b_ymax, b_xmax = np.moveaxis(boxes_b_yxyx.astype(np.float32), -1, 0)
    height = np.maximum(np.minimum(a_ymax, b_ymax) - np.maximum(a_ymin, b_ymin), np.float32(0))
    width = np.maximum(np.minimum(a_xmax, b_xmax) - np.maximum(a_xmin, b_xmin), np.float32(0))
    intersection = height * width
    union = (a_ymax - a_ymin) * (a_xmax - a_xmin) + (b_ymax - b_ymin) * (b_xmax - b_xmin)
    union = union - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, np.float32(1)), 0)
