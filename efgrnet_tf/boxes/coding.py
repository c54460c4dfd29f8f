"""Box formats and the SSD centre-size box coding: the only box-coding code in the project.

Formats (all normalised to the image size unless a name says otherwise):
- yxyx: `[ymin, xmin, ymax, xmax]`, the format of labels and detections;
- cxcywh: `[cx, cy, w, h]`, the format of anchors and of decoded boxes before conversion.

Deltas are `(dx, dy, dw, dh)` per anchor, the channel order of the heads:
    dx = (gx - ax) / (v0 * aw)        dy = (gy - ay) / (v0 * ah)
    dw = log(gw / aw) / v1            dh = log(gh / ah) / v1
with variances `(v0, v1)` (the authors': 0.1, 0.2). Every function broadcasts over leading
dimensions, so `[A, 4]` anchors code `[B, A, 4]` boxes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

# Sizes are floored here before the log so a degenerate (zero-size) box gives a large finite
# delta instead of -inf.
_MIN_SIZE = 1e-8
# Decoded log size ratios are capped here before the exp (Detectron's BBOX_XFORM_CLIP): a box
# grows at most 1000/16 times its anchor, which keeps untrained heads from overflowing.
_MAX_LOG_SIZE_RATIO = math.log(1000.0 / 16.0)


def yxyx_to_cxcywh(boxes_yxyx: tf.Tensor) -> tf.Tensor:
    """`[..., 4]` `[ymin, xmin, ymax, xmax]` → `[..., 4]` `[cx, cy, w, h]`."""
    ymin, xmin, ymax, xmax = tf.unstack(boxes_yxyx, num=4, axis=-1)
    return tf.stack([(xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin], axis=-1)


def cxcywh_to_yxyx(boxes_cxcywh: tf.Tensor) -> tf.Tensor:
    """`[..., 4]` `[cx, cy, w, h]` → `[..., 4]` `[ymin, xmin, ymax, xmax]`."""
    cx, cy, w, h = tf.unstack(boxes_cxcywh, num=4, axis=-1)
    return tf.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=-1)


def encode_boxes(
    boxes_cxcywh: tf.Tensor, anchors_cxcywh: tf.Tensor, variances: Sequence[float]
) -> tf.Tensor:
    """Encodes boxes as SSD deltas relative to anchors.

    Args:
      boxes_cxcywh: `[..., N, 4]` target boxes, cxcywh.
      anchors_cxcywh: `[..., N, 4]` anchors, cxcywh, broadcastable against `boxes_cxcywh`.
      variances: `(centre, size)` variances.
    Returns:
      `[..., N, 4]` float32 deltas `(dx, dy, dw, dh)`. Sizes are floored at 1e-8 before the
      log, so degenerate boxes give large finite deltas.
    """
    boxes = tf.cast(boxes_cxcywh, tf.float32)
    anchors = tf.cast(anchors_cxcywh, tf.float32)
    centre_variance, size_variance = variances
    anchor_size = tf.maximum(anchors[..., 2:], _MIN_SIZE)
    box_size = tf.maximum(boxes[..., 2:], _MIN_SIZE)
    d_centre = (boxes[..., :2] - anchors[..., :2]) / (centre_variance * anchor_size)
    d_size = tf.math.log(box_size / anchor_size) / size_variance
    return tf.concat([d_centre, d_size], axis=-1)


def decode_deltas(
    deltas: tf.Tensor, anchors_cxcywh: tf.Tensor, variances: Sequence[float]
) -> tf.Tensor:
    """Decodes SSD deltas relative to anchors into boxes; the inverse of `encode_boxes`.

    Args:
      deltas: `[..., N, 4]` `(dx, dy, dw, dh)`; any float dtype, computed in float32.
      anchors_cxcywh: `[..., N, 4]` anchors, cxcywh, broadcastable against `deltas`.
      variances: `(centre, size)` variances.
    Returns:
      `[..., N, 4]` float32 boxes, cxcywh. Log size ratios are capped at log(1000/16) before
      the exp, so no output is inf.
    """
    deltas = tf.cast(deltas, tf.float32)
    anchors = tf.cast(anchors_cxcywh, tf.float32)
    centre_variance, size_variance = variances
    centre = anchors[..., :2] + deltas[..., :2] * centre_variance * anchors[..., 2:]
    log_ratio = tf.minimum(deltas[..., 2:] * size_variance, _MAX_LOG_SIZE_RATIO)
    size = anchors[..., 2:] * tf.exp(log_ratio)
    return tf.concat([centre, size], axis=-1)
