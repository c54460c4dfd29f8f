"""Runs detection on single images from an export or straight from a training checkpoint."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.classes import label_map as label_map_of
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights
from efgrnet_tf.modeling.efgrnet import build_model
from efgrnet_tf.serving import image_tensor
from efgrnet_tf.serving.export_module import DetectionExportModule
from efgrnet_tf.serving.labels import read_labels_file
from efgrnet_tf.serving.signature_names import IMAGE_TENSOR_SIGNATURE, INPUT_NAMES


@dataclasses.dataclass(frozen=True)
class Detector:
    """A `serving_default`-style function and the names of its class ids.

    Attributes:
      serve_images: called as `serve_images(images=uint8 [B, H, W, 3])`, returns the four
        float32 detection outputs (see `efgrnet_tf.serving.signature_names`).
      class_names: `{class_id: name}` for the class ids it answers, the data set's own.
    """

    serve_images: Callable[..., Mapping[str, tf.Tensor]]
    class_names: Mapping[int, str]

    def __call__(self, image_rgb: np.ndarray) -> dict[str, np.ndarray]:
        """Detections of one uint8 `[H, W, 3]` RGB image: the outputs without the batch axis."""
        images = tf.constant(np.asarray(image_rgb, np.uint8)[None])
        outputs = self.serve_images(**{INPUT_NAMES[IMAGE_TENSOR_SIGNATURE]: images})
        return {name: value.numpy()[0] for name, value in outputs.items()}


def saved_model_detector(saved_model_dir: str | os.PathLike) -> Detector:
    """The `serving_default` signature of an export and its `assets/labels.txt`."""
    loaded = tf.saved_model.load(os.fspath(saved_model_dir))
    labels_path = loaded.labels_asset.asset_path.numpy().decode("utf-8")
    return Detector(loaded.signatures[IMAGE_TENSOR_SIGNATURE], read_labels_file(labels_path))


def checkpoint_detector(cfg: ExperimentConfig, checkpoint: str) -> Detector:
    """The model of `cfg` with the weights of `checkpoint` (a path or a folder), in-process.

    The same graph as an export's `serving_default` (class ids and names of
    `efgrnet_tf.data.classes.label_map(cfg)`), with `cfg.model`'s deformable-conv
    implementation.
    """
    label_map = label_map_of(cfg)
    model = build_model(cfg)
    restore_model_weights(model, checkpoint)
    module = DetectionExportModule(model, cfg, label_map)
    serve = image_tensor.serving_function(module.detect, cfg.model.image_size, cfg.data.mean_bgr)
    return Detector(serve, label_map.names_by_data_id())


def checkpoint_tta_detector(cfg: ExperimentConfig, checkpoint: str) -> Detector:
    """`checkpoint_detector` with the multi-size + flip inference of the config's `tta:`
    section (`efgrnet_tf.evaluation.tta`), in-process only (no export holds it)."""
    from efgrnet_tf.evaluation.tta import checkpoint_tta_detector as tta_detector

    label_map = label_map_of(cfg)
    detect, _ = tta_detector(cfg, checkpoint)

    def serve_images(images):
        outputs = {name: tf.constant(value) for name, value in detect(images).items()}
        data_ids = label_map.to_data_ids(outputs["detection_classes"])
        return {**outputs, "detection_classes": tf.cast(data_ids, tf.float32)}

    return Detector(serve_images, label_map.names_by_data_id())
