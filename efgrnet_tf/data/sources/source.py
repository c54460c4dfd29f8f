"""`Source`: what the pipelines need to know about one configured data set."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from efgrnet_tf.data import records

RecordsFn = Callable[[tf.distribute.InputContext | None], tf.data.Dataset]


@dataclasses.dataclass(frozen=True)
class Source:
    """One data set's splits, label map and how to decode its records.

    Attributes:
      class_names: label k (1-based) is `class_names[k - 1]`.
      num_train_examples: images in one training epoch (all input pipelines together).
      num_eval_examples: images in the evaluation split.
      train_records: input context (or None) -> one epoch of this pipeline's share of the
        training records, in a fixed order (the pipeline shuffles).
      eval_records: the same for the evaluation split; every record exactly once overall.
      decode: record -> decoded example (`records`).
      category_ids: original COCO category id of label k at index k - 1, or None.
      eval_annotation_file: the original annotation file of the evaluation split, if any.
    """

    class_names: tuple[str, ...]
    num_train_examples: int
    num_eval_examples: int
    train_records: RecordsFn
    eval_records: RecordsFn
    decode: Callable[[dict], dict] = records.decode_record
    category_ids: tuple[int, ...] | None = None
    eval_annotation_file: str | None = None


def shard(dataset: tf.data.Dataset, input_context: tf.distribute.InputContext | None):
    """This input pipeline's share of `dataset` (all of it without a context)."""
    if input_context is None or input_context.num_input_pipelines == 1:
        return dataset
    return dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)


def mix(datasets: list[tf.data.Dataset], sizes: list[int], seed: int | None) -> tf.data.Dataset:
    """Interleaves several record sets at random in proportion to their sizes.

    Each set is consumed completely; the result has `sum(sizes)` records.
    """
    if len(datasets) == 1:
        return datasets[0]
    total = float(sum(sizes))
    return tf.data.Dataset.sample_from_datasets(
        datasets, weights=[size / total for size in sizes], seed=seed, stop_on_empty_dataset=False
    )
