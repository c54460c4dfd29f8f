"""Builds `EvalImage`s from absolute pixel boxes, the form hand-computed cases are written in."""

from __future__ import annotations

import numpy as np

from efgrnet_tf.evaluation.detections import EvalImage


def xyxy_abs_to_yxyx_normalized(boxes_xyxy, size_hw) -> np.ndarray:
    """`[n, 4]` `[xmin, ymin, xmax, ymax]` pixels → `[n, 4]` yxyx normalised."""
    height, width = size_hw
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    return boxes[:, [1, 0, 3, 2]] / np.array([height, width, height, width], np.float64)


def make_image(
    image_id,
    size_hw=(100, 100),
    gts=(),
    dets=(),
):
    """An `EvalImage` from `gts` = [(class, [x1, y1, x2, y2], difficult[, crowd])] and
    `dets` = [(class, [x1, y1, x2, y2], score)], all in pixels."""
    gts = [tuple(g) + (False,) * (4 - len(g)) for g in gts]
    return EvalImage(
        image_id=image_id,
        original_size_hw=tuple(size_hw),
        gt_boxes_yxyx=xyxy_abs_to_yxyx_normalized([g[1] for g in gts], size_hw),
        gt_classes=np.array([g[0] for g in gts], np.int64),
        gt_is_difficult=np.array([g[2] for g in gts], bool),
        gt_is_crowd=np.array([g[3] for g in gts], bool),
        det_boxes_yxyx=xyxy_abs_to_yxyx_normalized([d[1] for d in dets], size_hw),
        det_scores=np.array([d[2] for d in dets], np.float64),
        det_classes=np.array([d[0] for d in dets], np.int64),
    )
