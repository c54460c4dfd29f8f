"""What the trainer and the evaluator need to know about the configured data set."""

from __future__ import annotations

import dataclasses

import numpy as np

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.skip_failures import map_records
from efgrnet_tf.data.sources.catalog import open_source


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Sizes and label map of the configured data set.

    Attributes:
      class_names: label k (1-based; 0 is background) is `class_names[k - 1]`.
      num_train_examples: images in one training epoch (steps per epoch = this // batch).
      num_eval_examples: images in the evaluation split (0 when none is configured).
      category_ids: for COCO sources, the original COCO category id of label k at index
        k - 1; None otherwise.
      eval_annotation_file: the evaluation split's original `instances_*.json` when the
        source has one (raw COCO folders, TFRecords converted from them); else None.
    """

    class_names: tuple[str, ...]
    num_train_examples: int
    num_eval_examples: int
    category_ids: tuple[int, ...] | None
    eval_annotation_file: str | None


@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """The annotations of one evaluation image (NumPy).

    Attributes:
      image_id: as in the eval batches' `image_id`.
      original_size_hw: (height, width) of the image file.
      boxes: float32 `[n, 4]` `[ymin, xmin, ymax, xmax]` normalised to [0, 1].
      classes: int32 `[n]`, 1-based.
      is_difficult: bool `[n]` (VOC).
      is_crowd: bool `[n]` (COCO).
    """

    image_id: int
    original_size_hw: tuple[int, int]
    boxes: np.ndarray
    classes: np.ndarray
    is_difficult: np.ndarray
    is_crowd: np.ndarray


def dataset_info(cfg: ExperimentConfig) -> DatasetInfo:
    """Sizes and label map of `cfg.data` (raw folders are indexed once per process)."""
    source = open_source(cfg)
    return DatasetInfo(
        class_names=source.class_names,
        num_train_examples=source.num_train_examples,
        num_eval_examples=source.num_eval_examples,
        category_ids=source.category_ids,
        eval_annotation_file=source.eval_annotation_file,
    )


def eval_ground_truth(cfg: ExperimentConfig) -> tuple[GroundTruth, ...]:
    """The evaluation split's annotations: the images of `build_eval_dataset`, in its order.

    Images are decoded (in parallel) so that an image the eval pipeline drops as undecodable
    is dropped here too, and ground truth and detections always cover the same images.
    """
    source = open_source(cfg)

    def annotations(record):
        return {key: value for key, value in source.decode(record).items() if key != "image"}

    dataset = map_records(source.eval_records(None), annotations, deterministic=True)
    return tuple(
        GroundTruth(
            image_id=int(example["image_id"]),
            original_size_hw=tuple(int(v) for v in example["original_size_hw"]),
            boxes=example["boxes"].astype(np.float32).reshape(-1, 4),
            classes=example["classes"].astype(np.int32),
            is_difficult=example["is_difficult"].astype(bool),
            is_crowd=example["is_crowd"].astype(bool),
        )
        for example in dataset.as_numpy_iterator()
    )
