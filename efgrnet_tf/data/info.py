"""What the trainer and the evaluator need to know about the configured data set."""

from __future__ import annotations

import dataclasses

from efgrnet_tf.config.experiment import ExperimentConfig
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
