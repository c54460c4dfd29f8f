"""Independent NumPy reference of SSD matching, hard negative mining and the two-stage loss.

Written image by image with Python loops, following the authors' PyTorch code (SSD's `match`,
`refine_match` and `RefineMultiBoxLoss`), so it shares no code with the TensorFlow version.
"""

import math

import numpy as np
from box_reference import iou_matrix


def to_yxyx(cxcywh):
    cx, cy, w, h = np.moveaxis(np.asarray(cxcywh, np.float64), -1, 0)
    return np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1)


def encode(box_yxyx, anchor_cxcywh, variances):
    y0, x0, y1, x1 = box_yxyx
    acx, acy, aw, ah = anchor_cxcywh
    return np.array(
        [
            ((x0 + x1) / 2 - acx) / (variances[0] * aw),
            ((y0 + y1) / 2 - acy) / (variances[0] * ah),
            math.log((x1 - x0) / aw) / variances[1],
            math.log((y1 - y0) / ah) / variances[1],
        ]
    )


def decode(deltas, anchors_cxcywh, variances):
    out = np.zeros_like(anchors_cxcywh, dtype=np.float64)
    for k in range(len(out)):
        dx, dy, dw, dh = deltas[k]
        acx, acy, aw, ah = anchors_cxcywh[k]
        out[k] = [
            acx + dx * variances[0] * aw,
            acy + dy * variances[0] * ah,
            aw * math.exp(dw * variances[1]),
            ah * math.exp(dh * variances[1]),
        ]
    return out


def ssd_match(boxes_yxyx, valid, anchors_cxcywh, threshold):
    """SSD's `match` for one image, skipping invalid slots: `(matched [A], positive [A])`."""
    overlaps = iou_matrix(boxes_yxyx, to_yxyx(anchors_cxcywh))
    overlaps[~np.asarray(valid, bool)] = -1.0
    best_overlap = overlaps.max(0)
    matched = overlaps.argmax(0)
    for slot in range(len(boxes_yxyx)):
        if valid[slot] and overlaps[slot].max() > 0:
            best_anchor = overlaps[slot].argmax()
            best_overlap[best_anchor] = 2.0
            matched[best_anchor] = slot
    return matched, best_overlap >= threshold


def hard_negatives(loss, candidates, num_positives, ratio, without_positives):
    """Indices of the mined negatives of one image: highest loss first, lower index on ties."""
    count = math.floor(ratio * num_positives) if num_positives > 0 else without_positives
    ranked = sorted(np.flatnonzero(candidates), key=lambda k: (-loss[k], k))
    return ranked[:count]


def cross_entropy(logits, target):
    logits = np.asarray(logits, np.float64)
    top = logits.max()
    return top + math.log(np.exp(logits - top).sum()) - logits[target]


def smooth_l1(x, beta):
    x = np.abs(x)
    return np.where(x < beta, 0.5 * x**2 / beta, x - 0.5 * beta).sum()


def stage_sums(logits, deltas, targets, box_targets, positive, eligible, loss_cfg):
    """`(classification sum, localisation sum, positive count)` of one image and stage."""
    ce = np.array([cross_entropy(logits[k], targets[k]) for k in range(len(logits))])
    num_pos = int(positive.sum())
    negatives = hard_negatives(
        ce,
        eligible & ~positive,
        num_pos,
        loss_cfg.negative_to_positive_ratio,
        loss_cfg.negatives_for_images_without_positives,
    )
    cls = ce[positive].sum() + ce[negatives].sum()
    loc = sum(
        smooth_l1(deltas[k] - box_targets[k], loss_cfg.smooth_l1_beta)
        for k in np.flatnonzero(positive)
    )
    return cls, loc, num_pos


def image_targets(boxes, classes, valid, anchors_cxcywh, loss_cfg, variances):
    matched, positive = ssd_match(boxes, valid, anchors_cxcywh, loss_cfg.positive_iou_threshold)
    targets = np.where(positive, classes[matched], 0)
    box_targets = np.zeros((len(anchors_cxcywh), 4))
    for k in np.flatnonzero(positive):
        box_targets[k] = encode(boxes[matched[k]], anchors_cxcywh[k], variances)
    return targets, box_targets, positive


def reference_losses(outputs, labels, anchors_cxcywh, cfg):
    """The four loss terms of the whole batch (a single device), as floats."""
    loss_cfg, variances = cfg.loss, cfg.anchors.variances
    outputs = {k: np.asarray(v, np.float64) for k, v in outputs.items()}
    anchors = np.asarray(anchors_cxcywh, np.float64)
    two_stage = "objectness_logits" in outputs
    sums = np.zeros(6)  # objectness cls, loc, positives; final cls, loc, positives
    for b in range(len(labels["classes"])):
        boxes = np.asarray(labels["boxes"][b], np.float64)
        classes = np.asarray(labels["classes"][b])
        valid = classes > 0
        if loss_cfg.ignore_crowd_boxes:
            valid &= ~np.asarray(labels["is_crowd"][b], bool)
        all_anchors = np.ones(len(anchors), bool)
        final_anchors, kept, eligible = anchors, all_anchors, all_anchors
        if two_stage:
            _, obj_box_targets, obj_pos = image_targets(
                boxes, classes, valid, anchors, loss_cfg, variances
            )
            sums[:3] += stage_sums(
                outputs["objectness_logits"][b],
                outputs["objectness_deltas"][b],
                obj_pos.astype(int),
                obj_box_targets,
                obj_pos,
                all_anchors,
                loss_cfg,
            )
            final_anchors = decode(outputs["objectness_deltas"][b], anchors, variances)
            logits = outputs["objectness_logits"][b]
            foreground = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))
            kept = foreground > loss_cfg.objectness_filter_threshold
            if loss_cfg.filter_negatives_from_all_final_losses:
                eligible = kept
        targets, box_targets, matched = image_targets(
            boxes, classes, valid, final_anchors, loss_cfg, variances
        )
        sums[3:] += stage_sums(
            outputs["class_logits"][b],
            outputs["box_deltas"][b],
            targets,
            box_targets,
            matched & kept,
            eligible,
            loss_cfg,
        )
    obj_div, final_div = max(sums[2], 1.0), max(sums[5], 1.0)
    result = {
        "objectness_classification": sums[0] / obj_div,
        "objectness_localization": sums[1] / obj_div,
        "final_classification": sums[3] / final_div,
        "final_localization": sums[4] / final_div,
    }
    result["total"] = sum(result.values())
    return result
