"""The object a SavedModel export is made of: the Keras model, its decoding and the label map."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.classes import LabelMap
from efgrnet_tf.modeling.detection_generator import decode_detections
from efgrnet_tf.serving import image_bytes, image_tensor
from efgrnet_tf.serving.signature_names import (
    IMAGE_BYTES_SIGNATURE,
    IMAGE_TENSOR_SIGNATURE,
    MODEL_INFO_SIGNATURE,
)


class DetectionExportModule(tf.Module):
    """An EFGRNet model with its detection decoding, ready for `tf.saved_model.save`.

    Args:
      model: the Keras model of `build_model(cfg)`: float32 `[B, S, S, 3]` preprocessed images
        in, the dict of head outputs out.
      cfg: the experiment config (`model.image_size`, `data.mean_bgr`, `anchors`,
        `postprocess`).
      label_map: turns the model's training classes into the data set's ids.
      asset_paths: existing `labels.txt` and `label_map.pbtxt` files, tracked as assets so that
        saving copies them to `assets/` (`labels_asset`, `label_map_asset`); None for a module
        that is only run in-process.
      jit_compile: run the model's forward pass as an XLA cluster. Preprocessing, decoding and
        NMS stay outside (image decoding and `CombinedNonMaxSuppression` have no XLA kernels).
    """

    def __init__(
        self,
        model: keras.Model,
        cfg: ExperimentConfig,
        label_map: LabelMap,
        asset_paths: tuple[str | os.PathLike, str | os.PathLike] | None = None,
        jit_compile: bool = False,
    ):
        super().__init__(name="efgrnet_detection")
        # Saving reaches every model variable through `model`: layers hold their sub-layers in
        # named attributes (tests/modeling/test_checkpoint_tracking.py).
        self.model = model
        if asset_paths is not None:
            labels_path, label_map_path = asset_paths
            self.labels_asset = tf.saved_model.Asset(os.fspath(labels_path))
            self.label_map_asset = tf.saved_model.Asset(os.fspath(label_map_path))
        self._cfg = cfg
        self._label_map = label_map
        self._jit_compile = jit_compile

    def detect(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """Detections of preprocessed images, with the TF OD API output dtypes.

        Args:
          images: float32 `[B, S, S, 3]`, the output of `preprocess_for_eval`.
        Returns:
          `detection_boxes` `[B, K, 4]` yxyx normalised, `detection_scores` `[B, K]`,
          `detection_classes` `[B, K]` (the data set's class ids, 0 past `num_detections`) and
          `num_detections` `[B]`, all float32; K = `postprocess.max_detections`.
        """
        size = self._cfg.model.image_size
        # The anchors are built while tracing, so they are a constant of the graph.
        anchors_cxcywh = generate_anchors(self._cfg.anchors, (size, size))
        outputs = self._forward(images)
        detections = decode_detections(
            outputs, anchors_cxcywh, self._cfg.postprocess, self._cfg.anchors.variances
        )
        data_ids = self._label_map.to_data_ids(detections["detection_classes"])
        return {
            "detection_boxes": detections["detection_boxes"],
            "detection_scores": detections["detection_scores"],
            "detection_classes": tf.cast(data_ids, tf.float32),
            "num_detections": tf.cast(detections["num_detections"], tf.float32),
        }

    def model_info(self) -> dict[str, tf.Tensor]:
        """The exported model's dtype policy (`model.precision` it was built with) and the dtypes
        its layers compute and keep their variables in (string scalars; bfloat16 compute with
        float32 variables under `mixed_bfloat16`)."""
        return {
            "precision": tf.constant(self.model.dtype_policy.name),
            "compute_dtype": tf.constant(self.model.compute_dtype),
            "variable_dtype": tf.constant(self.model.variable_dtype),
        }

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        """`serving_default` (uint8 image tensor), `serve_image_bytes` (encoded images) and
        `model_info` (the precision)."""
        size = self._cfg.model.image_size
        mean_bgr = self._cfg.data.mean_bgr
        return {
            IMAGE_TENSOR_SIGNATURE: image_tensor.serving_function(self.detect, size, mean_bgr),
            IMAGE_BYTES_SIGNATURE: image_bytes.serving_function(self.detect, size, mean_bgr),
            MODEL_INFO_SIGNATURE: tf.function(self.model_info, input_signature=[]),
        }

    def _forward(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        if not self._jit_compile:
            return self.model(images, training=False)
        # Wrapped while tracing, so the XLA function lives in the signature's graph without
        # becoming a saved attribute of the module.
        return tf.function(lambda x: self.model(x, training=False), jit_compile=True)(images)
