"""The graph a LiteRT export is converted from: pixels in, OD-API detections out, batch 1.

Fixed input `[1, S, S, 3]` RGB pixels in [0, 255] (float32, or uint8), already resized to
the model's square (bilinear, aspect ratio not kept: `efgrnet_tf.data.preprocess.resize_to_square`);
the BGR mean subtraction happens in the graph. Decoding and the objectness filter are the
SavedModel export's (`decode_boxes_and_scores`); NMS is LiteRT's `TFLite_Detection_PostProcess`
(`efgrnet_tf.serving.litert_postprocess`).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.classes import LabelMap
from efgrnet_tf.data.preprocess import subtract_mean_bgr
from efgrnet_tf.modeling.detection_generator import decode_boxes_and_scores
from efgrnet_tf.serving.litert_postprocess import detection_postprocess

INPUT_NAME = "images"
# The OD API's TFLite output order, which `litert_converter` gives the model's outputs.
OUTPUT_NAMES = ("detection_boxes", "detection_classes", "detection_scores", "num_detections")


class LiteRTDetectionModule(tf.Module):
    """An EFGRNet model with its decoding and NMS, saved as the converter's input.

    The model's forward pass is frozen here (weights as constants), so the module holds no
    variable: the converter would otherwise keep them as LiteRT resource variables (read at
    run time, out of reach of constant folding and quantization).

    Args:
      model: the Keras model of `build_model(cfg)`, its deformable convs in pure TF.
      cfg: the experiment config (`model.image_size`, `data.mean_bgr`, `anchors`,
        `postprocess`).
      label_map: the exported class ids (`efgrnet_tf.data.classes.label_map(cfg)`).
      input_dtype: of the pixels, `tf.float32` or `tf.uint8`.
    """

    def __init__(
        self,
        model: keras.Model,
        cfg: ExperimentConfig,
        label_map: LabelMap,
        input_dtype: tf.DType = tf.float32,
    ):
        super().__init__(name="efgrnet_litert")
        self._cfg = cfg
        self._data_ids = label_map.data_ids
        size = cfg.model.image_size
        preprocessed = tf.TensorSpec([1, size, size, 3], tf.float32)
        forward = tf.function(lambda images: model(images, training=False))
        concrete_forward = forward.get_concrete_function(preprocessed)
        self._frozen_forward = convert_variables_to_constants_v2(concrete_forward)
        self._forward_outputs = concrete_forward.structured_outputs
        self.input_dtype = input_dtype
        spec = tf.TensorSpec([1, size, size, 3], input_dtype, name=INPUT_NAME)
        self.detect = tf.function(self._detect, input_signature=[spec])

    def _detect(self, images_rgb: tf.Tensor) -> dict[str, tf.Tensor]:
        """`[1, S, S, 3]` RGB pixels in [0, 255] -> the `OUTPUT_NAMES` tensors."""
        cfg = self._cfg
        size = cfg.model.image_size
        anchors_cxcywh = generate_anchors(cfg.anchors, (size, size))
        flat_outputs = self._frozen_forward(subtract_mean_bgr(images_rgb, cfg.data.mean_bgr))
        outputs = tf.nest.pack_sequence_as(self._forward_outputs, flat_outputs)
        boxes_yxyx, class_scores = decode_boxes_and_scores(
            outputs, anchors_cxcywh, cfg.postprocess, cfg.anchors.variances
        )
        return detection_postprocess(
            boxes_yxyx,
            class_scores,
            anchors_cxcywh,
            cfg.postprocess,
            cfg.anchors.variances,
            self._data_ids,
        )
