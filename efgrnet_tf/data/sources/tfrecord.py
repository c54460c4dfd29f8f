"""Sharded TFRecord files of encoded records, written once by `scripts/convert_to_tfrecord.py`.

A converted set is a path prefix `P`: shards `P-00000-of-00004.tfrecord`, ... and a metadata
file `P.json` (`num_examples`, `class_names`, `category_ids` or null, `annotation_file` or null).
Each record is a `tf.train.Example` with `image/encoded` (the original file bytes), `image/id`,
`image/object/bbox` (flattened `[n, 4]` yxyx normalised), `image/object/class/label` (1-based),
`image/object/is_difficult` and `image/object/is_crowd` (0/1).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

_FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/id": tf.io.FixedLenFeature([], tf.int64),
    "image/object/bbox": tf.io.VarLenFeature(tf.float32),
    "image/object/class/label": tf.io.VarLenFeature(tf.int64),
    "image/object/is_difficult": tf.io.VarLenFeature(tf.int64),
    "image/object/is_crowd": tf.io.VarLenFeature(tf.int64),
}


@dataclasses.dataclass(frozen=True)
class TfRecordMetadata:
    """The contents of `P.json` next to the shards of prefix `P`."""

    num_examples: int
    class_names: tuple[str, ...]
    category_ids: tuple[int, ...] | None = None
    annotation_file: str | None = None


def serialize_record(record: dict[str, np.ndarray | bytes | int]) -> bytes:
    """An encoded record (NumPy values, `..records`) -> serialized `tf.train.Example`."""

    def int64s(values) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(values).ravel()))

    feature = {
        "image/encoded": tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[record["image_encoded"]])
        ),
        "image/id": int64s([record["image_id"]]),
        "image/object/bbox": tf.train.Feature(
            float_list=tf.train.FloatList(value=np.asarray(record["boxes"], np.float32).ravel())
        ),
        "image/object/class/label": int64s(record["classes"]),
        "image/object/is_difficult": int64s(np.asarray(record["is_difficult"], np.int64)),
        "image/object/is_crowd": int64s(np.asarray(record["is_crowd"], np.int64)),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def parse_record(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Serialized `tf.train.Example` -> encoded record (graph op)."""
    parsed = tf.io.parse_single_example(serialized, _FEATURES)

    def dense(key: str) -> tf.Tensor:
        return tf.sparse.to_dense(parsed[key])

    return {
        "image_encoded": parsed["image/encoded"],
        "boxes": tf.reshape(dense("image/object/bbox"), [-1, 4]),
        "classes": tf.cast(dense("image/object/class/label"), tf.int32),
        "is_difficult": tf.cast(dense("image/object/is_difficult"), tf.bool),
        "is_crowd": tf.cast(dense("image/object/is_crowd"), tf.bool),
        "image_id": parsed["image/id"],
    }


def write_tfrecords(
    records: Iterable[dict], prefix: str, num_shards: int, metadata: TfRecordMetadata
) -> int:
    """Writes records round-robin into `num_shards` shards and the metadata; returns the count.

    The prefix's folder is created if needed.
    """
    tf.io.gfile.makedirs(os.path.dirname(prefix) or ".")
    paths = [f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
    writers = [tf.io.TFRecordWriter(path) for path in paths]
    count = 0
    try:
        for count, record in enumerate(records, start=1):
            writers[(count - 1) % num_shards].write(serialize_record(record))
    finally:
        for writer in writers:
            writer.close()
    metadata = dataclasses.replace(metadata, num_examples=count)
    with tf.io.gfile.GFile(f"{prefix}.json", "w") as f:
        json.dump(dataclasses.asdict(metadata), f, indent=1)
    return count


def read_metadata(prefix: str) -> TfRecordMetadata:
    """Reads `prefix.json`."""
    with tf.io.gfile.GFile(f"{prefix}.json") as f:
        raw = json.load(f)
    category_ids = raw.get("category_ids")
    return TfRecordMetadata(
        num_examples=int(raw["num_examples"]),
        class_names=tuple(raw["class_names"]),
        category_ids=tuple(category_ids) if category_ids is not None else None,
        annotation_file=raw.get("annotation_file"),
    )


def tfrecord_dataset(
    prefix: str,
    input_context: tf.distribute.InputContext | None,
    deterministic: bool,
) -> tf.data.Dataset:
    """Encoded records of prefix `prefix`, interleaved across shards.

    With an input context the shards are split between input pipelines (or, when there are
    fewer shards than pipelines, the records). The order is fixed when `deterministic`.
    Raises:
      FileNotFoundError: no shard matches the prefix.
    """
    files = sorted(tf.io.gfile.glob(f"{prefix}-*-of-*.tfrecord"))
    if not files:
        raise FileNotFoundError(f"no TFRecord shards {prefix}-*-of-*.tfrecord")
    num_pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    shard_files = len(files) >= num_pipelines
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shard_files:
        dataset = dataset.shard(num_pipelines, pipeline_id)
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    if not shard_files:
        dataset = dataset.shard(num_pipelines, pipeline_id)
    return dataset.map(parse_record, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
