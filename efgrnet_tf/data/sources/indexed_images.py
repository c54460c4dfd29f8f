"""Raw image folders indexed once in Python, then read with TF ops.

The VOC and COCO folder readers parse their annotations into `IndexedImage`s, checking every
image file on the way (`check_image_file`), so that a missing, truncated or unreadable file is
skipped with a warning before training starts rather than failing mid-epoch.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np
import PIL.Image
import tensorflow as tf

from efgrnet_tf.data.bad_data import BadDataLog, BadRecord
from efgrnet_tf.data.sources.source import shard

# Formats `tf.io.decode_image` decodes.
_DECODABLE_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
_JPEG_END_OF_IMAGE = b"\xff\xd9"
_PNG_END_CHUNK = b"IEND"


@dataclasses.dataclass(frozen=True)
class IndexedImage:
    """One image file and its annotations.

    Attributes:
      path: the image file.
      image_id: int64 id, unique within the data set.
      size_hw: (height, width) in pixels, read from the file header.
      boxes: float32 `[n, 4]` `[ymin, xmin, ymax, xmax]` normalised to [0, 1], non-degenerate.
      classes: int32 `[n]`, 1-based labels.
      is_difficult: bool `[n]`.
      is_crowd: bool `[n]`.
    """

    path: str
    image_id: int
    size_hw: tuple[int, int]
    boxes: np.ndarray
    classes: np.ndarray
    is_difficult: np.ndarray
    is_crowd: np.ndarray


def check_image_file(path: str) -> tuple[int, int]:
    """Returns (height, width) of a decodable image file; raises `BadRecord` saying why not.

    Reads the header and the last bytes only: a JPEG without its end-of-image marker or a PNG
    without its IEND chunk is reported as truncated.
    """
    if not os.path.isfile(path):
        raise BadRecord("image file does not exist")
    try:
        with PIL.Image.open(path) as image:
            image_format, (width, height) = image.format, image.size
    except (OSError, SyntaxError, ValueError) as e:
        raise BadRecord(f"not a readable image ({e})") from e
    if image_format not in _DECODABLE_FORMATS:
        raise BadRecord(f"image format {image_format} is not one of {_DECODABLE_FORMATS}")
    with open(path, "rb") as f:
        f.seek(max(os.path.getsize(path) - 64, 0))
        tail = f.read()
    if image_format == "JPEG" and _JPEG_END_OF_IMAGE not in tail:
        raise BadRecord("truncated JPEG (no end-of-image marker)")
    if image_format == "PNG" and _PNG_END_CHUNK not in tail:
        raise BadRecord("truncated PNG (no IEND chunk)")
    if width <= 0 or height <= 0:
        raise BadRecord(f"empty image ({width}x{height})")
    return height, width


def normalize_boxes(
    boxes_yxyx_abs: np.ndarray, size_hw: tuple[int, int], path: str, log: BadDataLog
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel boxes -> normalised boxes clipped to the image, and which boxes to keep.

    Args:
      boxes_yxyx_abs: `[n, 4]` `[ymin, xmin, ymax, xmax]` in continuous pixel coordinates
        (0 = the top/left edge of the image).
      size_hw: (height, width) of the image.
      path: the annotation or image file, named in warnings.
      log: receives one warning per clipped or dropped box.
    Returns:
      float32 `[n, 4]` normalised yxyx boxes clipped to [0, 1], and bool `[n]`: False for
      boxes with no area left after clipping (the caller drops them and their labels).
    """
    height, width = size_hw
    scale = np.array([height, width, height, width], np.float64)
    boxes = np.asarray(boxes_yxyx_abs, np.float64).reshape(-1, 4) / scale
    clipped = np.clip(boxes, 0.0, 1.0)
    keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    for i in np.flatnonzero(~keep):
        log.repair(path, f"box {i} {boxes_yxyx_abs[i].tolist()} (yxyx px) has no area; dropped")
    for i in np.flatnonzero(keep & np.any(clipped != boxes, axis=1)):
        log.repair(
            path,
            f"box {i} {boxes_yxyx_abs[i].tolist()} (yxyx px) extends outside the "
            f"{height}x{width} image; clipped",
        )
    return clipped.astype(np.float32), keep


def indexed_images_dataset(
    images: Sequence[IndexedImage], input_context: tf.distribute.InputContext | None = None
) -> tf.data.Dataset:
    """Encoded records (`..records`), one per image, in the given order.

    With an input context, this input pipeline's share (images are sharded before any file
    is read).
    """
    counts = np.array([len(image.classes) for image in images], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

    def concat(field: str, dtype, inner_shape: tuple[int, ...]) -> tf.Tensor:
        parts = [getattr(image, field) for image in images]
        return tf.constant(np.concatenate([np.zeros((0, *inner_shape), dtype), *parts]), dtype)

    boxes = concat("boxes", np.float32, (4,))
    classes = concat("classes", np.int32, ())
    is_difficult = concat("is_difficult", np.bool_, ())
    is_crowd = concat("is_crowd", np.bool_, ())
    paths = [image.path for image in images]
    image_ids = np.array([image.image_id for image in images], np.int64)

    def to_record(path, image_id, start, count):
        return {
            "image_encoded": tf.io.read_file(path),
            "source_file": path,
            "boxes": boxes[start : start + count],
            "classes": classes[start : start + count],
            "is_difficult": is_difficult[start : start + count],
            "is_crowd": is_crowd[start : start + count],
            "image_id": image_id,
        }

    slices = (tf.constant(paths, tf.string), image_ids, starts, counts)
    dataset = shard(tf.data.Dataset.from_tensor_slices(slices), input_context)
    return dataset.map(to_record, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
