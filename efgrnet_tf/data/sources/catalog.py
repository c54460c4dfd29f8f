"""`open_source(cfg)`: the `Source` that `cfg.data.source` names.

Which config fields each source reads:
  - `synthetic`: `seed`, `synthetic_train_size`, `synthetic_eval_size`, `synthetic_image_size`.
  - `tfds`: `train_splits` / `eval_split` as `"voc/2007:trainval"`, `data_dir`.
  - `voc_folder`: `train_paths` (VOC year folders) with `train_splits` (image-set names, one per
    folder or one for all), `eval_path` with `eval_split`.
  - `coco_json`: `train_paths[0]` (image folder) with `annotation_file`, `eval_path` with
    `eval_annotation_file`.
  - `tfrecord`: `train_paths` / `eval_path` are prefixes written by
    `scripts/convert_to_tfrecord.py`.
An empty evaluation field means the source has no evaluation split (`num_eval_examples` 0).

The label map is the data's own (COCO categories, TFRecord metadata, tfds features, the names in
VOC annotations), except that `voc_folder` uses `cfg.class_names` when given. A config that
gives `model.num_classes` or `class_names` is checked against it here, before any step.
"""

from __future__ import annotations

import functools

import tensorflow as tf

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data import synthetic
from efgrnet_tf.data.label_maps import SHAPES_CLASS_NAMES
from efgrnet_tf.data.sources import tfds_source
from efgrnet_tf.data.sources.coco_json import index_coco
from efgrnet_tf.data.sources.indexed_images import indexed_images_dataset
from efgrnet_tf.data.sources.source import Source, mix, shard
from efgrnet_tf.data.sources.tfrecord import read_metadata, tfrecord_dataset
from efgrnet_tf.data.sources.voc_folder import index_voc_split, voc_class_names
from efgrnet_tf.user_errors import ClassMismatchError


def open_source(cfg: ExperimentConfig) -> Source:
    """Indexes (raw folders, cached per process) or describes the configured data set.

    Raises:
      ValueError: the data fields do not fit the source, or `model.num_classes` (when not 0)
        or `class_names` (when not empty) differ from the data set's label map.
    """
    opener = {
        "synthetic": _synthetic,
        "tfds": _tfds,
        "voc_folder": _voc_folder,
        "coco_json": _coco_json,
        "tfrecord": _tfrecord,
    }[cfg.data.source]
    source = opener(cfg)
    _check_config_classes(cfg, source)
    return source


def _check_config_classes(cfg: ExperimentConfig, source: Source) -> None:
    data_says = (
        f"the {cfg.data.source} data set has {len(source.class_names)} classes "
        f"{list(source.class_names)}"
    )
    fix = "(set model.num_classes: 0 and class_names: [] to take them from the data)"
    if cfg.class_names and tuple(cfg.class_names) != source.class_names:
        raise ClassMismatchError(
            f"config class_names {list(cfg.class_names)} differ: {data_says} {fix}"
        )
    num_classes = cfg.model.num_classes
    if num_classes and num_classes != len(source.class_names) + 1:
        raise ClassMismatchError(
            f"config model.num_classes {num_classes} ({num_classes - 1} classes + background) "
            f"does not fit: {data_says} {fix}"
        )


def _no_eval_split(input_context):
    raise ValueError("the data config names no evaluation split")


def _synthetic(cfg: ExperimentConfig) -> Source:
    data = cfg.data

    def records(split: str, size: int):
        def records_fn(input_context):
            def to_record(index):
                return {"seed": synthetic.example_seed(data.seed, split, index), "image_id": index}

            return shard(tf.data.Dataset.range(size), input_context).map(to_record)

        return records_fn

    def decode(record):
        return synthetic.render_shapes_example(
            record["seed"], record["image_id"], data.synthetic_image_size
        )

    return Source(
        class_names=SHAPES_CLASS_NAMES,
        num_train_examples=data.synthetic_train_size,
        num_eval_examples=data.synthetic_eval_size,
        train_records=records("train", data.synthetic_train_size),
        eval_records=records("eval", data.synthetic_eval_size),
        decode=decode,
    )


def _tfds(cfg: ExperimentConfig) -> Source:
    data = cfg.data
    if not data.train_splits:
        raise ValueError("data.train_splits must name tfds splits, e.g. ['voc/2007:trainval']")
    names = {
        tfds_source.class_names(spec) for spec in (*data.train_splits, data.eval_split) if spec
    }
    if len(names) != 1:
        raise ValueError(f"tfds splits {data.train_splits} + {data.eval_split!r} mix label maps")
    sizes = [tfds_source.num_examples(spec, data.data_dir) for spec in data.train_splits]

    def train_records(input_context):
        parts = [
            tfds_source.tfds_records(spec, data.data_dir, input_context)
            for spec in data.train_splits
        ]
        return mix(parts, sizes, data.seed if data.deterministic else None)

    def eval_records(input_context):
        return tfds_source.tfds_records(data.eval_split, data.data_dir, input_context)

    return Source(
        class_names=names.pop(),
        num_train_examples=sum(sizes),
        num_eval_examples=tfds_source.num_examples(data.eval_split, data.data_dir)
        if data.eval_split
        else 0,
        train_records=train_records,
        eval_records=eval_records if data.eval_split else _no_eval_split,
        category_ids=tfds_source.category_ids(data.train_splits[0]),
    )


def _voc_folder(cfg: ExperimentConfig) -> Source:
    data = cfg.data
    splits = (
        data.train_splits
        if len(data.train_splits) != 1
        else data.train_splits * len(data.train_paths)
    )
    if not data.train_paths or len(splits) != len(data.train_paths):
        raise ValueError(
            "voc_folder needs data.train_paths (VOC year folders) and data.train_splits "
            f"(one image-set name, or one per folder); got {data.train_paths}, {data.train_splits}"
        )
    folders = list(zip(data.train_paths, splits, strict=True))
    if data.eval_path:
        folders.append((data.eval_path, data.eval_split))
    class_names = tuple(cfg.class_names) or tuple(
        sorted({name for root, split in folders for name in voc_class_names(root, split)})
    )
    if not class_names:
        raise ValueError(f"voc_folder: no object names in the annotations of {folders}")
    train = [
        image
        for root, split in zip(data.train_paths, splits, strict=True)
        for image in index_voc_split(root, split, class_names)
    ]
    evaluation = (
        index_voc_split(data.eval_path, data.eval_split, class_names) if data.eval_path else ()
    )
    return Source(
        class_names=class_names,
        num_train_examples=len(train),
        num_eval_examples=len(evaluation),
        train_records=functools.partial(indexed_images_dataset, train),
        eval_records=functools.partial(indexed_images_dataset, evaluation)
        if data.eval_path
        else _no_eval_split,
    )


def _coco_json(cfg: ExperimentConfig) -> Source:
    data = cfg.data
    if len(data.train_paths) != 1 or not data.annotation_file:
        raise ValueError("coco_json needs data.train_paths = [image folder] and annotation_file")
    train = index_coco(data.annotation_file, data.train_paths[0])
    evaluation = (
        index_coco(data.eval_annotation_file, data.eval_path) if data.eval_annotation_file else None
    )
    if evaluation is not None and evaluation.category_ids != train.category_ids:
        raise ValueError(
            f"{data.annotation_file} and {data.eval_annotation_file} have different categories"
        )
    return Source(
        class_names=train.class_names,
        num_train_examples=len(train.images),
        num_eval_examples=len(evaluation.images) if evaluation else 0,
        train_records=functools.partial(indexed_images_dataset, train.images),
        eval_records=functools.partial(indexed_images_dataset, evaluation.images)
        if evaluation
        else _no_eval_split,
        category_ids=train.category_ids,
        eval_annotation_file=data.eval_annotation_file or None,
    )


def _tfrecord(cfg: ExperimentConfig) -> Source:
    data = cfg.data
    if not data.train_paths:
        raise ValueError("tfrecord needs data.train_paths = converted prefixes")
    train_meta = [read_metadata(prefix) for prefix in data.train_paths]
    eval_meta = read_metadata(data.eval_path) if data.eval_path else None
    label_maps = {meta.class_names for meta in (*train_meta, eval_meta) if meta is not None}
    if len(label_maps) != 1:
        raise ValueError(f"TFRecord sets {data.train_paths}, {data.eval_path!r} mix label maps")
    sizes = [meta.num_examples for meta in train_meta]

    def train_records(input_context):
        parts = [
            tfrecord_dataset(prefix, input_context, data.deterministic)
            for prefix in data.train_paths
        ]
        return mix(parts, sizes, data.seed if data.deterministic else None)

    return Source(
        class_names=label_maps.pop(),
        num_train_examples=sum(sizes),
        num_eval_examples=eval_meta.num_examples if eval_meta else 0,
        train_records=train_records,
        eval_records=functools.partial(tfrecord_dataset, data.eval_path, deterministic=True)
        if eval_meta
        else _no_eval_split,
        category_ids=train_meta[0].category_ids,
        eval_annotation_file=eval_meta.annotation_file if eval_meta else None,
    )
