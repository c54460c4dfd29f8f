"""Turns the heads' outputs into final detections: decoding, objectness filter, batched NMS.

Plain TensorFlow (no Keras), stock ops only, so it runs inside any `tf.function` and exports in
a SavedModel signature. Not XLA-compilable: `CombinedNonMaxSuppression` has no XLA kernel, so
call it outside `jit_compile=True` functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from efgrnet_tf.boxes.coding import cxcywh_to_yxyx, decode_deltas
from efgrnet_tf.config.boxes import PostprocessConfig


def decode_boxes_and_scores(
    outputs: dict[str, tf.Tensor],
    anchors_cxcywh: tf.Tensor,
    postprocess: PostprocessConfig,
    variances: Sequence[float],
) -> tuple[tf.Tensor, tf.Tensor]:
    """Every anchor's final box and class scores, before NMS.

    Both stages go through a softmax. Boxes are decoded twice, `decode(box_deltas,
    decode(objectness_deltas, anchors))` (once, against the anchors, for single-stage models),
    converted to yxyx and, with `postprocess.clip_boxes`, clipped to [0, 1] (the authors' code
    does not clip). Class scores are zeroed where objectness P(fg) ≤
    `postprocess.objectness_filter_threshold`.

    Shared by `decode_detections`, the LiteRT export (`efgrnet_tf.serving.litert_*`) and
    multi-size test-time inference (`efgrnet_tf.evaluation.multi_size`, which pools these
    candidates across sizes).

    Args:
      outputs: `box_deltas` `[B, A, 4]`, `class_logits` `[B, A, num_classes]` (class 0 =
        background) and, for cascade models, `objectness_deltas` `[B, A, 4]`,
        `objectness_logits` `[B, A, 2]` (bg, fg); any float dtype.
      anchors_cxcywh: `[A, 4]` anchors, cxcywh normalised.
      postprocess: the config's `postprocess` section (`objectness_filter_threshold`,
        `clip_boxes`).
      variances: `(centre, size)` of the box coding, the config's `anchors.variances`.

    Returns:
      `(boxes_yxyx, class_scores)`: float32 `[B, A, 4]` yxyx normalised and float32
      `[B, A, num_classes]` softmax scores, background column included.
    """
    anchors = tf.cast(anchors_cxcywh, tf.float32)
    class_scores = tf.nn.softmax(tf.cast(outputs["class_logits"], tf.float32), axis=-1)
    if "objectness_logits" in outputs:
        anchors = decode_deltas(outputs["objectness_deltas"], anchors, variances)
        objectness = tf.nn.softmax(tf.cast(outputs["objectness_logits"], tf.float32), axis=-1)
        kept = objectness[..., 1:2] > postprocess.objectness_filter_threshold
        class_scores = tf.where(kept, class_scores, 0.0)
    boxes_cxcywh = decode_deltas(outputs["box_deltas"], anchors, variances)
    boxes_yxyx = cxcywh_to_yxyx(boxes_cxcywh)
    if postprocess.clip_boxes:
        boxes_yxyx = tf.clip_by_value(boxes_yxyx, 0.0, 1.0)
    return boxes_yxyx, class_scores


def decode_detections(
    outputs: dict[str, tf.Tensor],
    anchors_cxcywh: tf.Tensor,
    postprocess: PostprocessConfig,
    variances: Sequence[float],
) -> dict[str, tf.Tensor]:
    """Final detections of a batch.

    `decode_boxes_and_scores`, then, per image and class (background dropped), scores >
    `score_threshold` go through NMS at `nms_iou_threshold`, keeping
    `max_detections_per_class` per class and `max_detections` per image, best first.

    Args:
      outputs: the model's outputs, see `decode_boxes_and_scores`.
      anchors_cxcywh: `[A, 4]` anchors, cxcywh normalised.
      postprocess: the config's `postprocess` section.
      variances: `(centre, size)` of the box coding, the config's `anchors.variances`.
    Returns:
      With K = `postprocess.max_detections`, zero-padded past `num_detections`:
      `detection_boxes` `[B, K, 4]` float32 yxyx normalised, `detection_scores` `[B, K]`
      float32, `detection_classes` `[B, K]` int32 1-based, `num_detections` `[B]` int32.
    """
    boxes_yxyx, class_probs = decode_boxes_and_scores(
        outputs, anchors_cxcywh, postprocess, variances
    )
    nmsed = tf.image.combined_non_max_suppression(
        boxes_yxyx[:, :, None, :],
        class_probs[..., 1:],
        max_output_size_per_class=postprocess.max_detections_per_class,
        max_total_size=postprocess.max_detections,
        iou_threshold=postprocess.nms_iou_threshold,
        score_threshold=postprocess.score_threshold,
        pad_per_class=False,
        clip_boxes=False,
    )
    num_detections = tf.cast(nmsed.valid_detections, tf.int32)
    is_detection = tf.range(postprocess.max_detections)[None, :] < num_detections[:, None]
    # NMS numbers the foreground columns from 0; padded entries stay class 0.
    classes = tf.where(is_detection, tf.cast(nmsed.nmsed_classes, tf.int32) + 1, 0)
    return {
        "detection_boxes": nmsed.nmsed_boxes,
        "detection_scores": nmsed.nmsed_scores,
        "detection_classes": classes,
        "num_detections": num_detections,
    }
