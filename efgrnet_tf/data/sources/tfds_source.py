"""tensorflow-datasets `voc/2007`, `voc/2012` and `coco/2017`, read without downloading.

Splits are named `"<dataset>/<config>:<split>"`, e.g. `"voc/2007:trainval"`. Images are left
encoded (`SkipDecoding`) so that shuffling and sharding move bytes, not pixels.

tfds stores VOC boxes as `xmin / width` of the 1-based inclusive pixel indices; they are
shifted to the continuous convention of `voc_folder` (`(xmin - 1) / width`), so both VOC
readers give identical boxes. Boxes are clipped to the image and boxes without area dropped
(`records.clip_and_drop_degenerate`).
"""

from __future__ import annotations

import tensorflow as tf

from efgrnet_tf.data.label_maps import COCO_CATEGORY_IDS, COCO_CLASS_NAMES, VOC_CLASS_NAMES
from efgrnet_tf.data.records import clip_and_drop_degenerate, image_size_from_header


def parse_split(split_spec: str) -> tuple[str, str]:
    """`"voc/2007:trainval"` -> `("voc/2007", "trainval")`; raises ValueError otherwise."""
    name, sep, split = split_spec.partition(":")
    family = name.split("/")[0]
    if not sep or not split or family not in ("voc", "coco"):
        raise ValueError(
            f"tfds split {split_spec!r} must look like 'voc/2007:trainval' or "
            "'coco/2017:validation' (only voc and coco are supported)"
        )
    return name, split


def class_names(split_spec: str) -> tuple[str, ...]:
    """Label map of the data set of `split_spec` (label k = name k - 1)."""
    name, _ = parse_split(split_spec)
    return VOC_CLASS_NAMES if name.startswith("voc") else COCO_CLASS_NAMES


def category_ids(split_spec: str) -> tuple[int, ...] | None:
    """Original COCO category id of each label for `coco/*`, None for VOC."""
    name, _ = parse_split(split_spec)
    return COCO_CATEGORY_IDS if name.startswith("coco") else None


def num_examples(split_spec: str, data_dir: str) -> int:
    """Number of examples of the split, from the prepared data set's metadata."""
    import tensorflow_datasets as tfds

    name, split = parse_split(split_spec)
    return int(tfds.builder(name, data_dir=data_dir or None).info.splits[split].num_examples)


def tfds_records(
    split_spec: str, data_dir: str, input_context: tf.distribute.InputContext | None
) -> tf.data.Dataset:
    """Encoded records (`..records`) of a prepared tfds split, in file order.

    Never downloads: the data set must already be prepared under `data_dir`. With an input
    context, tfds splits the files between input pipelines.
    """
    import tensorflow_datasets as tfds

    name, split = parse_split(split_spec)
    builder = tfds.builder(name, data_dir=data_dir or None)
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=False,
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=tfds.ReadConfig(input_context=input_context),
    )
    to_record = _voc_record if name.startswith("voc") else _coco_record
    return dataset.map(
        lambda example: clip_and_drop_degenerate(to_record(example)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def _voc_record(example: dict) -> dict[str, tf.Tensor]:
    objects = example["objects"]
    num_boxes = tf.shape(objects["label"])[0]
    size_hw = tf.cast(image_size_from_header(example["image"]), tf.float32)
    one_pixel = tf.stack([1.0 / size_hw[0], 1.0 / size_hw[1], 0.0, 0.0])
    boxes = tf.reshape(tf.cast(objects["bbox"], tf.float32), [-1, 4])
    return {
        "image_encoded": example["image"],
        "boxes": boxes - one_pixel,
        "classes": tf.cast(objects["label"], tf.int32) + 1,
        "is_difficult": tf.cast(objects["is_difficult"], tf.bool),
        "is_crowd": tf.zeros([num_boxes], tf.bool),
        "image_id": image_id_from_filename_tensor(example["image/filename"]),
    }


def _coco_record(example: dict) -> dict[str, tf.Tensor]:
    objects = example["objects"]
    num_boxes = tf.shape(objects["label"])[0]
    return {
        "image_encoded": example["image"],
        "boxes": tf.reshape(tf.cast(objects["bbox"], tf.float32), [-1, 4]),
        "classes": tf.cast(objects["label"], tf.int32) + 1,
        "is_difficult": tf.zeros([num_boxes], tf.bool),
        "is_crowd": tf.cast(objects["is_crowd"], tf.bool),
        "image_id": tf.cast(example["image/id"], tf.int64),
    }


def image_id_from_filename_tensor(filename: tf.Tensor) -> tf.Tensor:
    """Graph twin of `label_maps.image_id_from_filename`: the digits of the file stem.

    `"2008_000008.jpg"` -> 2008000008. A stem without digits (or with more than 18) gets a
    stable hash of the file name instead.
    """
    stem = tf.strings.regex_replace(filename, r"^.*/|\.[^.]*$", "")
    digits = tf.strings.regex_replace(stem, r"\D", "")
    usable = (tf.strings.length(digits) > 0) & (tf.strings.length(digits) <= 18)
    return tf.cond(
        usable,
        lambda: tf.strings.to_number(digits, tf.int64),
        lambda: tf.strings.to_hash_bucket_fast(filename, 2**62),
    )
