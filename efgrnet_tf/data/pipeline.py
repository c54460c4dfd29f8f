"""`build_train_dataset` and `build_eval_dataset`: batches in the format of docs/design.md.

A batch is a dict:
  - `images`: float32 `[b, S, S, 3]`, BGR, `data.mean_bgr` subtracted (`preprocess`);
  - `boxes`: float32 `[b, M, 4]` yxyx normalised; `classes`: int32 `[b, M]`, 1-based, -1 pad;
  - `is_difficult`, `is_crowd`: bool `[b, M]`; `image_id`: int64 `[b]`;
  - `original_size_hw`: int32 `[b, 2]`;
with S = `model.image_size`, M = `data.max_boxes`, and b the per-replica batch when an input
context is given (`strategy.distribute_datasets_from_function`), else the global batch.

Images that fail to decode in the graph (corruption not caught when a folder was indexed) are
dropped with a warning naming the file (`skip_failures.map_records`).
"""

from __future__ import annotations

import tensorflow as tf

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.augment.train_transform import augment_for_training
from efgrnet_tf.data.preprocess import preprocess_for_eval
from efgrnet_tf.data.records import pad_annotations, with_size_from_header, without_difficult
from efgrnet_tf.data.skip_failures import map_records
from efgrnet_tf.data.sources.catalog import open_source


def build_train_dataset(
    cfg: ExperimentConfig, input_context: tf.distribute.InputContext | None = None
) -> tf.data.Dataset:
    """The infinite, shuffled, augmented training stream of this input pipeline.

    Batches of `input_context.get_per_replica_batch_size(train.global_batch_size)` images
    (global batch without a context); the last incomplete batch of the stream never occurs
    since the data repeats. With `data.deterministic` the stream is a pure function of
    `data.seed` and the input pipeline id: shuffling, augmentation and element order repeat
    exactly. Difficult boxes are dropped from the targets unless `data.train_difficult`.
    """
    data = cfg.data
    source = open_source(cfg)
    deterministic = data.deterministic
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    batch_size = (
        input_context.get_per_replica_batch_size(cfg.train.global_batch_size)
        if input_context
        else cfg.train.global_batch_size
    )
    seed = data.seed if deterministic else None
    records = source.train_records(input_context)
    records = records.shuffle(data.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    records = records.repeat()
    # One stateless seed per element: [a random int64, the input pipeline id].
    element_seeds = tf.data.Dataset.random(seed=seed).map(
        lambda value: tf.stack([value, tf.constant(pipeline_id, tf.int64)])
    )

    def transform(record, element_seed):
        # Encoded images stay encoded: the transform decodes only the crop window of a JPEG.
        if "image_encoded" in record:
            example = with_size_from_header(record)
        else:
            example = source.decode(record)
        if not data.train_difficult:
            example = without_difficult(example)
        example = augment_for_training(
            example, element_seed, cfg.model.image_size, data.mean_bgr, data.augmentation
        )
        return _to_batch_element(example, data.max_boxes)

    dataset = tf.data.Dataset.zip((records, element_seeds))
    dataset = map_records(dataset, transform, deterministic)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(_options(deterministic))


def build_eval_dataset(
    cfg: ExperimentConfig, input_context: tf.distribute.InputContext | None = None
) -> tf.data.Dataset:
    """One pass over the evaluation split in a fixed order, `preprocess_for_eval` only.

    Every image appears exactly once (across input pipelines when a context shards the split);
    the last batch may be smaller. Batches of `eval.batch_size` images, or the per-replica
    share of it with an input context.
    """
    data = cfg.data
    source = open_source(cfg)
    batch_size = (
        input_context.get_per_replica_batch_size(cfg.eval.batch_size)
        if input_context
        else cfg.eval.batch_size
    )

    def transform(example):
        example = dict(example)
        example["image"] = preprocess_for_eval(
            example["image"], cfg.model.image_size, data.mean_bgr
        )
        return _to_batch_element(example, data.max_boxes)

    dataset = source.eval_records(input_context)
    dataset = map_records(dataset, source.decode, deterministic=True)
    dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=False)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(_options(True))


def build_original_size_eval_dataset(cfg: ExperimentConfig) -> tf.data.Dataset:
    """The evaluation split one image per batch, at its stored size and not preprocessed.

    For test-time augmentation, which resizes each original image to several input sizes
    (`efgrnet_tf.evaluation.tta`). The batch dict of `build_eval_dataset`, except that `images`
    is uint8 RGB `[1, H, W, 3]`.
    """
    source = open_source(cfg)
    dataset = map_records(source.eval_records(None), source.decode, deterministic=True)
    dataset = dataset.map(
        lambda example: _to_batch_element(example, cfg.data.max_boxes),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return dataset.batch(1).prefetch(tf.data.AUTOTUNE).with_options(_options(True))


def _to_batch_element(example: dict[str, tf.Tensor], max_boxes: int) -> dict[str, tf.Tensor]:
    """Preprocessed example -> one batch element (`images` key, padded annotations)."""
    padded = pad_annotations(example, max_boxes)
    return {
        "images": padded["image"],
        "boxes": padded["boxes"],
        "classes": padded["classes"],
        "is_difficult": padded["is_difficult"],
        "is_crowd": padded["is_crowd"],
        "image_id": tf.cast(padded["image_id"], tf.int64),
        "original_size_hw": tf.cast(padded["original_size_hw"], tf.int32),
    }


def _options(deterministic: bool) -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = deterministic
    options.autotune.enabled = True
    return options
