"""Runs a detection function over an eval split and computes the metrics of `cfg.eval.metric`.

`evaluate` is the general entry point (any detection function, any dataset of eval batches,
labels given explicitly); `evaluate_model` is what the trainer calls for a Keras model and the
config's own eval split. Results are one flat `{name: float}` dict (see
`efgrnet_tf.evaluation.reporting`); with an output folder they are also written as
`metrics.json`, and COCO detections as `coco_results.json`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.evaluation.coco_metrics import build_coco_ground_truth, compute_coco_metrics
from efgrnet_tf.evaluation.detections import EvalImage, split_batch, to_coco_results
from efgrnet_tf.evaluation.detectors import DetectionFn, keras_detection_fn
from efgrnet_tf.evaluation.reporting import format_metrics, write_json
from efgrnet_tf.evaluation.voc_metrics import compute_voc_metrics

METRICS_FILE = "metrics.json"
COCO_RESULTS_FILE = "coco_results.json"


@dataclasses.dataclass(frozen=True)
class EvalLabels:
    """How the metrics name the labels of an eval split and map them to its own ids.

    Attributes:
      class_names: label k is `class_names[k - 1]`.
      category_ids: original category id of label k at index k - 1, for COCO results and
        ground truth; None: the labels themselves.
      annotation_file: COCO instances JSON to take the ground truth from; None: built from the
        evaluated images.
    """

    class_names: tuple[str, ...]
    category_ids: tuple[int, ...] | None = None
    annotation_file: str | None = None


def collect_eval_images(detect_fn: DetectionFn, dataset: tf.data.Dataset) -> list[EvalImage]:
    """Runs `detect_fn` on every batch of `dataset`; returns one `EvalImage` per image.

    Args:
      detect_fn: preprocessed images `[b, S, S, 3]` -> `decode_detections` dict.
      dataset: finite, of eval batches (docs/design.md): `images`, `boxes`, `classes`,
        `is_difficult`, `is_crowd`, `image_id`, `original_size_hw`.
    """
    images = []
    start = time.perf_counter()
    for batch in dataset:
        detections = detect_fn(batch["images"])
        labels = {k: v.numpy() for k, v in batch.items() if k != "images"}
        images.extend(split_batch(labels, {k: np.asarray(v) for k, v in detections.items()}))
    seconds = time.perf_counter() - start
    logging.info("ran detection on %d images in %.1f s", len(images), seconds)
    return images


def compute_metrics(
    images: Sequence[EvalImage],
    cfg: ExperimentConfig,
    labels: EvalLabels,
    *,
    per_class: bool | None = None,
    output_dir: str | None = None,
) -> dict[str, float]:
    """The metrics named by `cfg.eval.metric` ("voc", "coco" or "both") over `images`.

    Args:
      images: every image of the split with its ground truth and detections.
      cfg: reads `eval.metric`, `eval.per_class_table`, `eval.use_faster_coco_eval` and
        `postprocess.clip_boxes` (detections clipped to the image or not).
      labels: class names, category ids and annotation file of the split.
      per_class: add per-class APs (default `cfg.eval.per_class_table`).
      output_dir: where `coco_results.json` goes (None: not written).
    Returns:
      VOC: `mAP_11point`, `mAP_area` (+ `AP_11point/<class>`, `AP_area/<class>`); COCO: the
      12 `COCO_METRIC_NAMES` (+ `AP/<class>`).
    """
    if per_class is None:
        per_class = cfg.eval.per_class_table
    clip_boxes = cfg.postprocess.clip_boxes
    metrics = {}
    if cfg.eval.metric in ("voc", "both"):
        voc = compute_voc_metrics(images, labels.class_names, clip_detections=clip_boxes)
        metrics.update(voc.as_flat_dict(per_class))
    if cfg.eval.metric in ("coco", "both"):
        results = to_coco_results(images, labels.category_ids, clip_boxes)
        if output_dir:
            write_json(results, os.path.join(output_dir, COCO_RESULTS_FILE))
        ground_truth = labels.annotation_file or build_coco_ground_truth(
            images, labels.class_names, labels.category_ids
        )
        metrics.update(
            compute_coco_metrics(
                ground_truth,
                results,
                image_ids=[image.image_id for image in images],
                per_class=per_class,
                use_faster_coco_eval=cfg.eval.use_faster_coco_eval,
            )
        )
    return metrics


def evaluate(
    detect_fn: DetectionFn,
    dataset: tf.data.Dataset,
    cfg: ExperimentConfig,
    labels: EvalLabels,
    *,
    per_class: bool | None = None,
    output_dir: str | None = None,
) -> dict[str, float]:
    """Detects on `dataset`, computes the metrics, logs them as a table, writes the files.

    Arguments as `collect_eval_images` and `compute_metrics`. With `output_dir`, writes
    `metrics.json` (the returned dict) and, for COCO, `coco_results.json`.
    Returns:
      The metrics of `compute_metrics` plus `num_images`.
    """
    images = collect_eval_images(detect_fn, dataset)
    metrics = compute_metrics(images, cfg, labels, per_class=per_class, output_dir=output_dir)
    metrics["num_images"] = len(images)
    logging.info("evaluation (%s):\n%s", cfg.eval.metric, format_metrics(metrics))
    if output_dir:
        write_json(metrics, os.path.join(output_dir, METRICS_FILE))
    return metrics


def evaluate_model(
    model: keras.Model,
    cfg: ExperimentConfig,
    dataset: tf.data.Dataset | None = None,
    output_dir: str | None = None,
) -> dict[str, float]:
    """Evaluates a Keras EFGRNet model on the config's eval split (periodic evaluation).

    Args:
      model: `efgrnet_tf.build_model(cfg)`, trained or being trained.
      cfg: the experiment; its data section names the eval split.
      dataset: eval batches to use instead of `build_eval_dataset(cfg)`.
      output_dir: where `metrics.json` (and `coco_results.json`) go; None: no files.
    Returns:
      The `evaluate` metrics.
    """
    if dataset is None:
        from efgrnet_tf.data.pipeline import build_eval_dataset

        dataset = build_eval_dataset(cfg)
    return evaluate(
        keras_detection_fn(model, cfg), dataset, cfg, eval_labels(cfg), output_dir=output_dir
    )


def eval_labels(cfg: ExperimentConfig) -> EvalLabels:
    """Class names, original category ids and COCO annotation file of the config's eval split.

    Class names come from `cfg.class_names`, else from the data source; category ids (None for
    sources without ids of their own) and the annotation file (None when the source has none:
    COCO ground truth is then built from the eval batches) from
    `efgrnet_tf.data.info.dataset_info`.
    """
    from efgrnet_tf.data.info import dataset_info

    info = dataset_info(cfg)
    class_names = tuple(cfg.class_names) or tuple(info.class_names)
    return EvalLabels(class_names, info.category_ids, info.eval_annotation_file)
