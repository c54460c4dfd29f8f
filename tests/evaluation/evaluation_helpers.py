"""Test data: `EvalImage`s from pixel boxes (hand-computed cases), a tiny in-memory eval split;
`efgrnet-evaluate`'s flags parsed in isolation."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from absl import flags

from efgrnet_tf.cli import evaluate as evaluate_cli
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


CLASS_NAMES = ("circle", "square")
IMAGE_SIZE = 8  # the stand-in detectors never look at the pixels beyond the index
MAX_BOXES = 3

# Per image: original size, then (class, [ymin, xmin, ymax, xmax] normalised, difficult, crowd).
# Every box has room for a shift of half its width to the right inside the image.
GROUND_TRUTH = [
    ((100, 200), [(1, [0.1, 0.1, 0.5, 0.3], False, False),
                  (2, [0.5, 0.4, 0.9, 0.6], False, False)]),
    ((300, 300), [(2, [0.2, 0.2, 0.6, 0.5], False, False)]),
    ((240, 320), [(1, [0.3, 0.05, 0.7, 0.45], True, False),
                  (1, [0.1, 0.5, 0.4, 0.7], False, False)]),
    ((200, 100), [(1, [0.0, 0.0, 0.5, 0.4], False, True),
                  (2, [0.6, 0.1, 0.9, 0.5], False, False)]),
    ((50, 50), []),
]  # fmt: skip


def _padded_field(field, fill, dtype):
    """`[num_images, MAX_BOXES, ...]` of one ground-truth tuple field (0 class, 1 box, 2
    difficult, 3 crowd), padded with `fill`."""
    out = np.full((len(GROUND_TRUTH), MAX_BOXES, *np.shape(fill)), fill, dtype)
    for i, (_, gts) in enumerate(GROUND_TRUTH):
        for j, gt in enumerate(gts):
            out[i, j] = gt[field]
    return out


def eval_dataset(batch_size=2):
    """Eval batches in the format of `build_eval_dataset` (docs/design.md) of `GROUND_TRUTH`;
    image i is filled with the value i, image ids are 100 + i."""
    n = len(GROUND_TRUTH)
    examples = {
        "images": np.stack([np.full((IMAGE_SIZE, IMAGE_SIZE, 3), i, np.float32) for i in range(n)]),
        "boxes": _padded_field(1, np.zeros(4), np.float32),
        "classes": _padded_field(0, -1, np.int32),
        "is_difficult": _padded_field(2, False, bool),
        "is_crowd": _padded_field(3, False, bool),
        "image_id": np.arange(100, 100 + n, dtype=np.int64),
        "original_size_hw": np.array([size for size, _ in GROUND_TRUTH], np.int32),
    }
    return tf.data.Dataset.from_tensor_slices(examples).batch(batch_size)


def parsed_evaluate_flags(*args):
    """`efgrnet-evaluate ARGS` parsed on fresh `FlagValues` (validators included)."""
    flag_values = flags.FlagValues()
    evaluate_cli.define_flags(flag_values)
    flag_values(["efgrnet-evaluate", *args])
    return flag_values
