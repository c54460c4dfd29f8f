"""The evaluation split's ground truth as the evaluator reads it, for tests of the sources."""

from __future__ import annotations

import tensorflow as tf

from efgrnet_tf.config import ExperimentConfig
from efgrnet_tf.data.pipeline import build_eval_dataset
from efgrnet_tf.evaluation.detections import EvalImage
from efgrnet_tf.evaluation.evaluator import collect_eval_images


def _no_detections(images: tf.Tensor) -> dict[str, tf.Tensor]:
    """A detection function's output with no detection for any of `images`."""
    batch = tf.shape(images)[0]
    return {
        "detection_boxes": tf.zeros([batch, 0, 4]),
        "detection_scores": tf.zeros([batch, 0]),
        "detection_classes": tf.zeros([batch, 0], tf.int32),
        "num_detections": tf.zeros([batch], tf.int32),
    }


def eval_ground_truth(cfg: ExperimentConfig) -> list[EvalImage]:
    """One `EvalImage` (no detections) per image of `build_eval_dataset(cfg)`, in its order:
    images the eval pipeline cannot decode are absent, as they are from an evaluation."""
    return collect_eval_images(_no_detections, build_eval_dataset(cfg))
