"""A COCO-style `instances_*.json` annotation file with its image folder.

Labels are contiguous and 1-based in the order of the file's category ids (for COCO 2017 that
is `label_maps.COCO_CATEGORY_IDS`); `CocoIndex.category_ids` maps them back for evaluation.
COCO boxes are `[x, y, width, height]` in continuous pixel coordinates.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections import defaultdict

import numpy as np

from efgrnet_tf.data.bad_data import BadDataLog, BadRecord
from efgrnet_tf.data.sources.indexed_images import (
    IndexedImage,
    check_image_file,
    normalize_boxes,
)


@dataclasses.dataclass(frozen=True)
class CocoIndex:
    """The usable images of one annotation file and its label map.

    Attributes:
      images: in the order of the file's `images` list.
      class_names: category names; label k is `class_names[k - 1]`.
      category_ids: original COCO category id of label k at index k - 1.
    """

    images: tuple[IndexedImage, ...]
    class_names: tuple[str, ...]
    category_ids: tuple[int, ...]


@functools.lru_cache(maxsize=4)
def index_coco(annotation_file: str, image_dir: str) -> CocoIndex:
    """Parses the annotation file once (cached per process) and checks every image file.

    Images without annotations are kept (they are negatives for training and count for
    evaluation). Bad images (missing/corrupt file, size mismatch, an annotation with an unknown
    category or a malformed bbox) are skipped with one warning each and counted.
    Raises:
      ValueError: the annotation file is not valid JSON or lacks `images`/`categories`.
    """
    try:
        with open(annotation_file) as f:
            data = json.load(f)
        categories = sorted(data["categories"], key=lambda c: c["id"])
        image_entries = data["images"]
        annotations = data.get("annotations", [])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{annotation_file}: not a COCO instances file ({e!r})") from e
    labels = {c["id"]: i + 1 for i, c in enumerate(categories)}
    per_image = defaultdict(list)
    for annotation in annotations:
        per_image[annotation.get("image_id")].append(annotation)
    log = BadDataLog(f"COCO {annotation_file}")
    images = []
    for entry in image_entries:
        path = os.path.join(image_dir, str(entry.get("file_name", "")))
        try:
            size_hw = check_image_file(path)
            images.append(
                _index_image(entry, path, size_hw, per_image[entry.get("id")], labels, log)
            )
        except BadRecord as e:
            log.skip(path, str(e))
    log.report(len(images))
    return CocoIndex(
        images=tuple(images),
        class_names=tuple(str(c["name"]) for c in categories),
        category_ids=tuple(int(c["id"]) for c in categories),
    )


def _index_image(
    entry: dict,
    path: str,
    size_hw: tuple[int, int],
    annotations: list[dict],
    labels: dict[int, int],
    log: BadDataLog,
) -> IndexedImage:
    declared_hw = (entry.get("height"), entry.get("width"))
    if None not in declared_hw and declared_hw != size_hw:
        raise BadRecord(f"annotation size {declared_hw} differs from the image size {size_hw}")
    boxes, classes, crowd = [], [], []
    for annotation in annotations:
        category = annotation.get("category_id")
        if category not in labels:
            raise BadRecord(f"annotation {annotation.get('id')}: unknown category id {category}")
        bbox = annotation.get("bbox")
        try:
            x, y, width, height = (float(v) for v in bbox)
        except (TypeError, ValueError) as e:
            raise BadRecord(f"annotation {annotation.get('id')}: malformed bbox {bbox!r}") from e
        boxes.append([y, x, y + height, x + width])
        classes.append(labels[category])
        crowd.append(bool(annotation.get("iscrowd", 0)))
    boxes_yxyx, keep = normalize_boxes(np.array(boxes).reshape(-1, 4), size_hw, path, log)
    return IndexedImage(
        path=path,
        image_id=int(entry["id"]),
        size_hw=size_hw,
        boxes=boxes_yxyx[keep],
        classes=np.array(classes, np.int32).reshape(-1)[keep],
        is_difficult=np.zeros(int(keep.sum()), bool),
        is_crowd=np.array(crowd, bool).reshape(-1)[keep],
    )
