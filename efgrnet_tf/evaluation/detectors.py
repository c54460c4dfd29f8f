"""Detection functions the evaluator runs: a Keras model, a training checkpoint, a SavedModel.

A detection function maps a batch of preprocessed images (float32 `[b, S, S, 3]`, BGR, mean
subtracted: the `images` of an eval batch) to the dict of
`efgrnet_tf.modeling.detection_generator.decode_detections`: `detection_boxes` `[b, K, 4]` yxyx
normalised, `detection_scores` `[b, K]`, `detection_classes` `[b, K]` int32 1-based,
`num_detections` `[b]` int32.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
import tensorflow as tf

from efgrnet_tf import build_model
from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.classes import LabelMap
from efgrnet_tf.data.preprocess import restore_uint8_rgb
from efgrnet_tf.modeling.detection_generator import decode_detections
from efgrnet_tf.serving.signature_names import IMAGE_TENSOR_SIGNATURE, INPUT_NAMES
from efgrnet_tf.training.checkpointing import restore_model_weights

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


def saved_model_detection_fn(
    saved_model_dir: str, mean_bgr: Sequence[float], label_map: LabelMap
) -> DetectionFn:
    """Runs the `serving_default` signature of an exported SavedModel.

    The signature takes uint8 RGB images and does its own preprocessing, so the evaluator's
    preprocessed images are turned back into uint8 RGB first (`restore_uint8_rgb`). They are
    already S x S, the signature's resize is then the identity and its boxes, normalised to its
    input, are normalised to the original image too (evaluation resizing keeps no aspect ratio).
    The round trip costs the rounding of the resized pixels to integers. The export answers
    the data set's class ids; they are turned back into training classes.

    Args:
      saved_model_dir: the export folder (`efgrnet_tf.serving`).
      mean_bgr: the mean the images were preprocessed with (`cfg.data.mean_bgr`).
      label_map: the evaluation data's label map (`efgrnet_tf.data.classes.label_map`).
    """
    loaded = tf.saved_model.load(saved_model_dir)
    if IMAGE_TENSOR_SIGNATURE not in loaded.signatures:
        raise ValueError(f"{saved_model_dir} has no {IMAGE_TENSOR_SIGNATURE!r} signature")

    def detect(images):
        # Reached through `loaded` so that the closure keeps the model's variables alive.
        signature = loaded.signatures[IMAGE_TENSOR_SIGNATURE]
        outputs = signature(
            **{INPUT_NAMES[IMAGE_TENSOR_SIGNATURE]: restore_uint8_rgb(images, mean_bgr)}
        )
        return {
            "detection_boxes": outputs["detection_boxes"],
            "detection_scores": outputs["detection_scores"],
            "detection_classes": label_map.to_classes(tf.round(outputs["detection_classes"])),
            "num_detections": tf.cast(outputs["num_detections"], tf.int32),
        }

    return detect


def resolve_saved_model_dir(path: str) -> str:
    """`path` itself when it holds a SavedModel, else its numerically largest version folder.

    `efgrnet-export` writes TF Serving layouts `BASE/<version>/`; both `BASE/3` and `BASE`
    (meaning its newest version) are accepted.
    Raises:
      FileNotFoundError: neither `path` nor a numeric sub-folder of it holds `saved_model.pb`.
    """
    if tf.io.gfile.exists(f"{path.rstrip('/')}/saved_model.pb"):
        return path
    versions = []
    if tf.io.gfile.isdir(path):
        versions = [name.rstrip("/") for name in tf.io.gfile.listdir(path)]
        versions = [int(name) for name in versions if name.isdigit()]
    for version in sorted(versions, reverse=True):
        candidate = f"{path.rstrip('/')}/{version}"
        if tf.io.gfile.exists(f"{candidate}/saved_model.pb"):
            return candidate
    raise FileNotFoundError(f"no SavedModel in {path} nor in a version folder of it")
