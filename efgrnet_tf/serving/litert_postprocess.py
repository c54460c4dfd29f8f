"""NMS of a LiteRT export: the `TFLite_Detection_PostProcess` op that the LiteRT runtime ships.

The TF Object Detection API puts this op at the end of its SSD models for TFLite: an empty
`tf.function` annotated `experimental_implements="TFLite_Detection_PostProcess"` that the
TFLite converter replaces by the op. The op decodes SSD box encodings `(ty, tx, th, tw)`
against its anchors `(ycenter, xcenter, h, w)` and runs per-class NMS ("regular" NMS, the
semantics of `tf.image.combined_non_max_suppression`). EFGRNet's boxes are decoded twice
(`efgrnet_tf.modeling.detection_generator.decode_boxes_and_scores`), so the final boxes are
encoded once more against the prior anchors here, and the op's decoding gives them back.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from efgrnet_tf.boxes.coding import encode_boxes, yxyx_to_cxcywh
from efgrnet_tf.config.boxes import PostprocessConfig

DETECTION_POSTPROCESS_OP = "TFLite_Detection_PostProcess"


def scores_by_class_id(class_scores: tf.Tensor, data_ids: tuple[int, ...]) -> tf.Tensor:
    """The op's class predictions: column j holds the scores of the class exported as id j.

    The op answers the column index as the class, so this column layout is the class-id
    mapping of a LiteRT export, and no op follows the NMS (full-integer quantization would
    quantize one, and class ids with it). Ids are those of the SavedModel export's
    `detection_classes`, the data set's own (`efgrnet_tf.data.classes.LabelMap.data_ids`), id i
    named by line i of `labels.txt`; column 0 (background) and the columns of ids no class has
    are zero, so that no detection has such an id.

    Args:
      class_scores: `[B, A, num_classes]`, column 0 background.
      data_ids: the data id of each training class 1..num_classes - 1.
    Returns:
      `[B, A, max(data_ids) + 1]` float32.
    """
    background = tf.zeros_like(class_scores[..., :1])
    columns = tf.concat([background, class_scores[..., 1:]], axis=-1)
    column_of_id = [0] * (max(data_ids) + 1)
    for training_class, data_id in enumerate(data_ids, start=1):
        column_of_id[data_id] = training_class
    if column_of_id == list(range(len(column_of_id))):
        return columns
    return tf.gather(columns, column_of_id, axis=-1)


def encode_for_postprocess(
    boxes_yxyx: tf.Tensor, anchors_cxcywh: tf.Tensor, variances: tuple[float, float]
) -> tuple[tf.Tensor, tf.Tensor]:
    """Box encodings and anchors in the op's layouts, such that the op decodes `boxes_yxyx`.

    Args:
      boxes_yxyx: `[B, A, 4]` final boxes, yxyx normalised.
      anchors_cxcywh: `[A, 4]` prior anchors.
      variances: `(centre, size)`; the op's scales are their inverses.
    Returns:
      `(box_encodings, anchors_yxhw)`: `[B, A, 4]` `(ty, tx, th, tw)` and `[A, 4]`
      `(ycenter, xcenter, h, w)`, both float32.
    """
    deltas = encode_boxes(yxyx_to_cxcywh(boxes_yxyx), anchors_cxcywh, variances)
    yx_first = [1, 0, 3, 2]
    return (
        tf.gather(deltas, yx_first, axis=-1),
        tf.gather(tf.cast(anchors_cxcywh, tf.float32), yx_first, axis=-1),
    )


def detection_postprocess(
    boxes_yxyx: tf.Tensor,
    class_scores: tf.Tensor,
    anchors_cxcywh: tf.Tensor,
    postprocess: PostprocessConfig,
    variances: Sequence[float],
    data_ids: tuple[int, ...],
) -> dict[str, tf.Tensor]:
    """NMS of one image's boxes by the op, with the outputs of `decode_detections`.

    In TensorFlow this returns placeholder zeros (the op exists only in LiteRT); only a
    converted model computes detections.

    Args:
      boxes_yxyx: `[1, A, 4]` final boxes, yxyx normalised.
      class_scores: `[1, A, num_classes]` scores, background column 0 included (ignored).
      anchors_cxcywh: `[A, 4]` prior anchors.
      postprocess: the config's `postprocess` section (thresholds, limits).
      variances: `(centre, size)` of the box coding, the config's `anchors.variances`.
      data_ids: the exported id of each training class (`scores_by_class_id`).
    Returns:
      In the OD API's TFLite output order, all float32, K = `postprocess.max_detections`:
      `detection_boxes` `[1, K, 4]` yxyx, `detection_classes` `[1, K]` (`scores_by_class_id`
      gives the ids), `detection_scores` `[1, K]`, `num_detections` `[1]`; zeros past
      `num_detections`.
    """
    box_encodings, anchors_yxhw = encode_for_postprocess(boxes_yxyx, anchors_cxcywh, variances)
    class_predictions = scores_by_class_id(class_scores, data_ids)
    boxes, classes, scores, count = _postprocess_function(
        postprocess, variances, class_predictions.shape[-1]
    )(box_encodings, class_predictions, anchors_yxhw)
    return {
        "detection_boxes": boxes,
        "detection_classes": classes,
        "detection_scores": scores,
        "num_detections": count,
    }


def _postprocess_function(
    post: PostprocessConfig, variances: Sequence[float], num_class_columns: int
):
    """The empty composite function the converter turns into the op, with its attributes.

    `num_classes` is every column of the class predictions: the op then skips none of them
    (it takes column 0 for background only when told one class less).
    """
    centre_variance, size_variance = variances
    attributes = {
        "max_detections": ("i", post.max_detections),
        "max_classes_per_detection": ("i", 1),
        "detections_per_class": ("i", post.max_detections_per_class),
        "use_regular_nms": ("b", "true"),
        "nms_score_threshold": ("f", post.score_threshold),
        "nms_iou_threshold": ("f", post.nms_iou_threshold),
        "num_classes": ("i", num_class_columns),
        "y_scale": ("f", 1.0 / centre_variance),
        "x_scale": ("f", 1.0 / centre_variance),
        "h_scale": ("f", 1.0 / size_variance),
        "w_scale": ("f", 1.0 / size_variance),
    }
    signature = " ".join(
        [f'name: "{DETECTION_POSTPROCESS_OP}"']
        + [f'attr {{ key: "{k}" value {{ {t}: {v} }} }}' for k, (t, v) in attributes.items()]
    )
    max_detections = post.max_detections

    @tf.function(experimental_implements=signature)
    def postprocess(box_encodings, class_predictions, anchors):
        del box_encodings, class_predictions, anchors  # replaced by the op on conversion
        return (
            tf.zeros([1, max_detections, 4]),
            tf.zeros([1, max_detections]),
            tf.zeros([1, max_detections]),
            tf.zeros([1]),
        )

    return postprocess
