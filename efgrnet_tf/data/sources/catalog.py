"""`open_source(cfg)`: the `Source` that `cfg.data.source` names, read from `cfg.data.<source>`.

The sub-sections (`efgrnet_tf.config.data_sources`) say what each reader needs; which fields are
required is checked when the config loads (`efgrnet_tf.config.checks`). An empty evaluation
entry means the source has no evaluation split (`num_eval_examples` 0).

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


def _no_train_split(input_context):
    raise ValueError("the data config names no training split")


def _synthetic(cfg: ExperimentConfig) -> Source:
    data, shapes = cfg.data, cfg.data.synthetic

    def records(split: str, size: int):
        def records_fn(input_context):
            def to_record(index):
                return {"seed": synthetic.example_seed(data.seed, split, index), "image_id": index}

            return shard(tf.data.Dataset.range(size), input_context).map(to_record)

        return records_fn

    def decode(record):
        return synthetic.render_shapes_example(
            record["seed"], record["image_id"], shapes.image_size
        )

    return Source(
        class_names=SHAPES_CLASS_NAMES,
        num_train_examples=shapes.train_size,
        num_eval_examples=shapes.eval_size,
        train_records=records("train", shapes.train_size),
        eval_records=records("eval", shapes.eval_size),
        decode=decode,
    )


def _tfds(cfg: ExperimentConfig) -> Source:
    data, tfds = cfg.data, cfg.data.tfds
    names = {tfds_source.class_names(spec) for spec in (*tfds.train, tfds.eval) if spec}
    if len(names) != 1:
        raise ValueError(
            f"data.tfds.train {list(tfds.train)} and data.tfds.eval {tfds.eval!r} mix label maps"
        )
    sizes = [tfds_source.num_examples(spec, tfds.data_dir) for spec in tfds.train]

    def train_records(input_context):
        parts = [
            tfds_source.tfds_records(spec, tfds.data_dir, input_context) for spec in tfds.train
        ]
        return mix(parts, sizes, data.seed if data.deterministic else None)

    def eval_records(input_context):
        return tfds_source.tfds_records(tfds.eval, tfds.data_dir, input_context)

    return Source(
        class_names=names.pop(),
        num_train_examples=sum(sizes),
        num_eval_examples=tfds_source.num_examples(tfds.eval, tfds.data_dir) if tfds.eval else 0,
        train_records=train_records,
        eval_records=eval_records if tfds.eval else _no_eval_split,
        category_ids=tfds_source.category_ids(tfds.train[0]),
    )


def _voc_folder(cfg: ExperimentConfig) -> Source:
    voc = cfg.data.voc_folder
    image_sets = [*voc.train, voc.eval] if voc.eval.year_folder else list(voc.train)
    class_names = tuple(cfg.class_names) or tuple(
        sorted(
            {
                name
                for image_set in image_sets
                for name in voc_class_names(image_set.year_folder, image_set.image_set)
            }
        )
    )
    if not class_names:
        raise ValueError(
            "voc_folder: no object names in the annotations of "
            f"{[(s.year_folder, s.image_set) for s in image_sets]}"
        )
    train = [
        image
        for image_set in voc.train
        for image in index_voc_split(image_set.year_folder, image_set.image_set, class_names)
    ]
    evaluation = (
        index_voc_split(voc.eval.year_folder, voc.eval.image_set, class_names)
        if voc.eval.year_folder
        else ()
    )
    return Source(
        class_names=class_names,
        num_train_examples=len(train),
        num_eval_examples=len(evaluation),
        train_records=functools.partial(indexed_images_dataset, train),
        eval_records=functools.partial(indexed_images_dataset, evaluation)
        if voc.eval.year_folder
        else _no_eval_split,
    )


def _coco_json(cfg: ExperimentConfig) -> Source:
    coco = cfg.data.coco_json
    train = [index_coco(split.annotations, split.images) for split in coco.train]
    evaluation = (
        index_coco(coco.eval.annotations, coco.eval.images) if coco.eval.annotations else None
    )
    # The label map is the first file's; an evaluation-only config has just the eval file.
    splits = [*coco.train, coco.eval] if evaluation else list(coco.train)
    indexes = [*train, evaluation] if evaluation else train
    for split, index in zip(splits[1:], indexes[1:], strict=True):
        if index.category_ids != indexes[0].category_ids:
            raise ValueError(
                f"{splits[0].annotations} and {split.annotations} have different categories"
            )
    return Source(
        class_names=indexes[0].class_names,
        num_train_examples=sum(len(index.images) for index in train),
        num_eval_examples=len(evaluation.images) if evaluation else 0,
        train_records=functools.partial(
            indexed_images_dataset, [image for index in train for image in index.images]
        )
        if train
        else _no_train_split,
        eval_records=functools.partial(indexed_images_dataset, evaluation.images)
        if evaluation
        else _no_eval_split,
        category_ids=indexes[0].category_ids,
        eval_annotation_file=coco.eval.annotations or None,
    )


def _tfrecord(cfg: ExperimentConfig) -> Source:
    data, records = cfg.data, cfg.data.tfrecord
    train_meta = [read_metadata(prefix) for prefix in records.train_prefixes]
    eval_meta = read_metadata(records.eval_prefix) if records.eval_prefix else None
    label_maps = {meta.class_names for meta in (*train_meta, eval_meta) if meta is not None}
    if len(label_maps) != 1:
        raise ValueError(
            f"TFRecord sets {list(records.train_prefixes)}, {records.eval_prefix!r} mix label maps"
        )
    sizes = [meta.num_examples for meta in train_meta]

    def train_records(input_context):
        parts = [
            tfrecord_dataset(prefix, input_context, data.deterministic)
            for prefix in records.train_prefixes
        ]
        return mix(parts, sizes, data.seed if data.deterministic else None)

    return Source(
        class_names=label_maps.pop(),
        num_train_examples=sum(sizes),
        num_eval_examples=eval_meta.num_examples if eval_meta else 0,
        train_records=train_records,
        eval_records=functools.partial(tfrecord_dataset, records.eval_prefix, deterministic=True)
        if eval_meta
        else _no_eval_split,
        category_ids=train_meta[0].category_ids,
        eval_annotation_file=eval_meta.annotation_file if eval_meta else None,
    )
