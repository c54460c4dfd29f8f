"""Converts any configured source's split to sharded TFRecords (`sources/tfrecord.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import tensorflow as tf

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.sources.catalog import open_source
from efgrnet_tf.data.sources.tfrecord import TfRecordMetadata, write_tfrecords


def convert_split(
    cfg: ExperimentConfig, split: Literal["train", "eval"], prefix: str, num_shards: int
) -> int:
    """Writes one split of `cfg.data`'s source as shards `prefix-*-of-*.tfrecord` + `prefix.json`.

    Records keep the original image file bytes; sources without files (synthetic) are stored as
    PNG. Bad records are skipped as when training from the source. Returns the record count.
    """
    source = open_source(cfg)
    records = source.train_records(None) if split == "train" else source.eval_records(None)
    if "image_encoded" not in records.element_spec:

        def encode(record):
            example = source.decode(record)
            encoded = {key: example[key] for key in ("boxes", "classes", "image_id")}
            encoded["is_difficult"] = example["is_difficult"]
            encoded["is_crowd"] = example["is_crowd"]
            encoded["image_encoded"] = tf.io.encode_png(example["image"])
            return encoded

        records = records.map(encode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    annotation_file = source.eval_annotation_file if split == "eval" else _train_annotations(cfg)
    metadata = TfRecordMetadata(
        num_examples=0,
        class_names=source.class_names,
        category_ids=source.category_ids,
        annotation_file=annotation_file,
    )
    return write_tfrecords(_as_numpy(records), prefix, num_shards, metadata)


def _as_numpy(records: tf.data.Dataset) -> Iterator[dict]:
    yield from records.as_numpy_iterator()


def _train_annotations(cfg: ExperimentConfig) -> str | None:
    """The COCO annotation file of a single-file `coco_json` training split, else None."""
    coco = cfg.data.coco_json
    if cfg.data.source == "coco_json" and len(coco.train) == 1:
        return coco.train[0].annotations
    return None
