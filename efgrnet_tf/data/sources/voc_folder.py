"""A raw VOCdevkit year folder (`Annotations/*.xml`, `JPEGImages/`, `ImageSets/Main/*.txt`).

VOC pixel coordinates are 1-based and inclusive, so a box `xmin..xmax` covers the continuous
range `[xmin - 1, xmax]`; boxes are normalised by the image size read from the image file.
"""

from __future__ import annotations

import functools
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import numpy as np

from efgrnet_tf.data.bad_data import BadDataLog, BadRecord
from efgrnet_tf.data.label_maps import image_id_from_filename
from efgrnet_tf.data.sources.indexed_images import (
    IndexedImage,
    check_image_file,
    normalize_boxes,
)


def _image_set_names(root: str, split: str) -> list[str]:
    with open(os.path.join(root, "ImageSets", "Main", f"{split}.txt")) as f:
        return [line.split()[0] for line in f if line.strip()]


@functools.lru_cache(maxsize=8)
def voc_class_names(root: str, split: str) -> tuple[str, ...]:
    """The object names in the split's annotations, sorted (VOC's 20 give `VOC_CLASS_NAMES`).

    Used when the config names no classes. Missing or malformed annotation files are passed
    over here; indexing skips and reports them.
    Raises:
      FileNotFoundError: the image-set file does not exist.
    """
    names = set()
    for name in _image_set_names(root, split):
        try:
            annotation = ET.parse(os.path.join(root, "Annotations", f"{name}.xml")).getroot()
        except (FileNotFoundError, ET.ParseError):
            continue
        names.update(
            (obj.findtext("name") or "").strip().lower() for obj in annotation.iter("object")
        )
    names.discard("")
    return tuple(sorted(names))


@functools.lru_cache(maxsize=8)
def index_voc_split(root: str, split: str, class_names: Sequence[str]) -> tuple[IndexedImage, ...]:
    """Parses `root/ImageSets/Main/{split}.txt` and its annotations once (cached per process).

    Args:
      root: a VOC year folder, e.g. `.../VOCdevkit/VOC2007`.
      split: an image-set name, e.g. `trainval` or `test`.
      class_names: the label map; label k is `class_names[k - 1]`.
    Returns:
      The usable images in image-set order. Bad ones (missing/corrupt image, malformed XML,
      unknown class name, size mismatch) are skipped with one warning each and counted.
    Raises:
      FileNotFoundError: the image-set file does not exist.
    """
    names = _image_set_names(root, split)
    log = BadDataLog(f"VOC {root} {split}")
    labels = {name: i + 1 for i, name in enumerate(class_names)}
    images = []
    for position, name in enumerate(names):
        xml_path = os.path.join(root, "Annotations", f"{name}.xml")
        image_path = os.path.join(root, "JPEGImages", f"{name}.jpg")
        try:
            size_hw = check_image_file(image_path)
        except BadRecord as e:
            log.skip(image_path, str(e))
            continue
        image_id = image_id_from_filename(name, position)
        try:
            images.append(_parse_annotation(xml_path, image_path, image_id, size_hw, labels, log))
        except BadRecord as e:
            log.skip(xml_path, str(e))
    log.report(len(images))
    return tuple(images)


def _parse_annotation(
    xml_path: str,
    image_path: str,
    image_id: int,
    size_hw: tuple[int, int],
    labels: dict[str, int],
    log: BadDataLog,
) -> IndexedImage:
    try:
        root = ET.parse(xml_path).getroot()
    except FileNotFoundError as e:
        raise BadRecord("annotation file does not exist") from e
    except ET.ParseError as e:
        raise BadRecord(f"malformed annotation XML ({e})") from e
    size = root.find("size")
    if size is not None and size.findtext("width") and size.findtext("height"):
        declared_hw = (int(float(size.findtext("height"))), int(float(size.findtext("width"))))
        if declared_hw != size_hw:
            raise BadRecord(
                f"annotation size {declared_hw[0]}x{declared_hw[1]} differs from the "
                f"image size {size_hw[0]}x{size_hw[1]}"
            )
    boxes, classes, difficult = [], [], []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip().lower()
        if name not in labels:
            raise BadRecord(f"class name {name!r} is not in the label map")
        try:
            box = obj.find("bndbox")
            xmin, ymin, xmax, ymax = (
                float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")
            )
        except (AttributeError, TypeError, ValueError) as e:
            raise BadRecord(f"malformed <bndbox> of a {name!r} object") from e
        boxes.append([ymin - 1.0, xmin - 1.0, ymax, xmax])
        classes.append(labels[name])
        difficult.append((obj.findtext("difficult") or "0").strip() == "1")
    boxes_yxyx, keep = normalize_boxes(np.array(boxes).reshape(-1, 4), size_hw, xml_path, log)
    return IndexedImage(
        path=image_path,
        image_id=image_id,
        size_hw=size_hw,
        boxes=boxes_yxyx[keep],
        classes=np.array(classes, np.int32).reshape(-1)[keep],
        is_difficult=np.array(difficult, bool).reshape(-1)[keep],
        is_crowd=np.zeros(int(keep.sum()), bool),
    )
