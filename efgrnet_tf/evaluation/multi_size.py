"""The detector at any square input size that is a multiple of 64, with the same weights.

The network is fully convolutional and its anchors depend only on the input size (min sizes
and steps in input pixels), so an input of side S needs S's anchors and a model whose input is
S x S. `build_model` fixes the input shape, so `model_at_size` rebuilds the functional graph on
a new input from the *same layer objects* (weights shared, nothing copied; ~0.1 s for the
synthetic model). The alternative, one shape-polymorphic clone (input `[B, None, None, 3]`),
ran as fast (synthetic model, sizes 128-320, batch 2, loaded 2-core CPU: 0.17-0.27 s per image
per-size vs 0.26 s polymorphic; tracing 3-4 s vs 1 s); per-size graphs were kept for their
static shapes (each size's anchors are constants of its graph, `top_k` sizes are static) and
because they keep `build_model`'s fixed-input contract.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.config.tta import SIZE_MULTIPLE
from efgrnet_tf.evaluation.detectors import DetectionFn
from efgrnet_tf.modeling.detection_generator import decode_boxes_and_scores


def model_at_size(model: keras.Model, size: int) -> keras.Model:
    """`model` (from `build_model`) on `[B, size, size, 3]` inputs, sharing its layers/weights.

    Raises:
      ValueError: `size` is not a positive multiple of 64.
    """
    if size <= 0 or size % SIZE_MULTIPLE:
        raise ValueError(f"input size must be a positive multiple of {SIZE_MULTIPLE}, got {size}")
    if tuple(model.input_shape[1:3]) == (size, size):
        return model
    images = keras.Input((size, size, 3), name="images")
    return keras.models.clone_model(model, input_tensors=images, clone_function=lambda layer: layer)


def candidates_fn_at_size(
    model: keras.Model, cfg: ExperimentConfig, size: int, max_candidates: int
) -> DetectionFn:
    """Every (anchor, class) pair of `model` at input side `size` as a scored box, best first.

    No threshold and no NMS (the multi-size merge votes over them); at most `max_candidates`
    per image.

    Returns:
      A `tf.function` of preprocessed images `[b, size, size, 3]` returning `boxes_yxyx`
      `[b, k, 4]` normalised, `scores` `[b, k]`, `classes` `[b, k]` int32 1-based, with
      k = min(`max_candidates`, anchors x foreground classes).
    """
    sized = model_at_size(model, size)
    anchors_cxcywh = generate_anchors(cfg.anchors, (size, size))
    num_foreground = cfg.model.num_classes - 1
    k = min(max_candidates, int(anchors_cxcywh.shape[0]) * num_foreground)

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
    def candidates(images):
        boxes_yxyx, class_probs = decode_boxes_and_scores(
            sized(images, training=False), anchors_cxcywh, cfg.postprocess, cfg.anchors.variances
        )
        flat_scores = tf.reshape(class_probs[..., 1:], [tf.shape(images)[0], -1])
        scores, flat_index = tf.math.top_k(flat_scores, k=k)
        return {
            "boxes_yxyx": tf.gather(boxes_yxyx, flat_index // num_foreground, batch_dims=1),
            "scores": scores,
            "classes": flat_index % num_foreground + 1,
        }

    return candidates
