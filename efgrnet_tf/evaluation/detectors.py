"""Detection functions the evaluator runs: a Keras model, a training checkpoint.

The evaluator takes any such function; `efgrnet_tf.serving.saved_model_detection` makes one of
an exported SavedModel (the caller, `efgrnet-evaluate`, hands it in).

A detection function maps a batch of preprocessed images (float32 `[b, S, S, 3]`, BGR, mean
subtracted: the `images` of an eval batch) to the dict of
`efgrnet_tf.modeling.detection_generator.decode_detections`: `detection_boxes` `[b, K, 4]` yxyx
normalised, `detection_scores` `[b, K]`, `detection_classes` `[b, K]` int32 1-based,
`num_detections` `[b]` int32.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import keras
import tensorflow as tf

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights
from efgrnet_tf.modeling.detection_generator import decode_detections
from efgrnet_tf.modeling.efgrnet import build_model

DetectionFn = Callable[[tf.Tensor], Mapping[str, tf.Tensor]]


def keras_detection_fn(model: keras.Model, cfg: ExperimentConfig) -> DetectionFn:
    """Runs `model` in inference mode and decodes its outputs, compiled as one `tf.function`.

    Args:
      model: `efgrnet_tf.build_model(cfg)` (or a model with the same output dict).
      cfg: `model.image_size` sets the anchors; `postprocess` the decoding.
    """
    size = cfg.model.image_size
    anchors_cxcywh = generate_anchors(cfg.anchors, (size, size))

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
    def detect(images):
        return decode_detections(
            model(images, training=False), anchors_cxcywh, cfg.postprocess, cfg.anchors.variances
        )

    return detect


def checkpoint_detection_fn(cfg: ExperimentConfig, checkpoint: str) -> tuple[DetectionFn, str]:
    """Builds the model of `cfg` and restores its weights from a training checkpoint.

    Args:
      checkpoint: a checkpoint path (`model_dir/ckpt-1234`) or a folder whose newest checkpoint
        is used.
    Returns:
      The detection function and the checkpoint path that was read.
    """
    model = build_model(cfg)
    path = restore_model_weights(model, checkpoint)
    return keras_detection_fn(model, cfg), path
