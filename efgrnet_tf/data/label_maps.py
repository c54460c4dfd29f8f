"""Class names of the supported data sets and the COCO category-id mapping.

Our labels are contiguous and 1-based (0 is background): label `k` is `class_names[k - 1]`.
"""

from __future__ import annotations

import re

VOC_CLASS_NAMES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)

# The 80 categories of COCO 2014/2017 detection, sorted by category id (the order of the
# `categories` list in `instances_*.json` and of the tfds `coco/2017` labels).
COCO_CLASS_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

# Original COCO category id of each name above: label k <-> COCO_CATEGORY_IDS[k - 1].
COCO_CATEGORY_IDS = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28,
    31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55,
    56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84,
    85, 86, 87, 88, 89, 90,
)  # fmt: skip

# The embedded synthetic shapes data set (`efgrnet_tf.data.synthetic`).
SHAPES_CLASS_NAMES = ("circle", "rectangle", "triangle", "cross")

_DIGITS = re.compile(r"\D")


def image_id_from_filename(filename: str, fallback: int) -> int:
    """A stable integer image id from a VOC/COCO-style file name, or `fallback`.

    `000005.jpg` -> 5 and `2008_000008.jpg` -> 2008000008 (VOC 2007 ids stay below 10**6 and
    VOC 2012 ids above 2 * 10**9, so the 07+12 union has no collisions);
    `COCO_val2014_000000000042.jpg` -> 2014000000000042. Names without digits give `fallback`.
    """
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    digits = _DIGITS.sub("", stem)
    return int(digits) if digits and len(digits) <= 18 else fallback
