"""Data config: which source, which splits, augmentation and batching."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class AugmentationConfig:
    """SSD/RFBNet augmentation (SPEC: data and augmentation); off = eval preprocessing.

    Order: min-IoU crop -> photometric -> expand -> flip -> resize -> mean subtraction ->
    drop small boxes (`efgrnet_tf.data.augment.train_transform`).
    """

    enabled: bool = True
    min_iou_crop: bool = True
    # Constrained crop modes; "no crop" and "unconstrained crop" are always among the modes.
    crop_min_ious: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    # Smallest crop side as a fraction of the image side.
    crop_min_scale: float = 0.3
    # Brightness, contrast, saturation, hue, channel swap (each with probability 1/2).
    photometric: bool = True
    # Zoom out with probability 1/2 onto a canvas up to `expand_max_ratio` times the image.
    expand: bool = True
    expand_max_ratio: float = 4.0
    horizontal_flip: bool = True
    # Resize with linear/cubic/area/nearest/Lanczos drawn at random; False = bilinear.
    random_interpolation: bool = True
    # Boxes whose shorter side (normalised) is below this are dropped after augmentation.
    min_box_side: float = 0.01


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where images come from and how they are batched.

    `source` picks the reader (`efgrnet_tf.data.sources.catalog`): tfds (`voc/2007`,
    `voc/2012`, `coco/2017`), raw folders (`voc_folder`, `coco_json`), sharded `tfrecord`
    (written by `scripts/convert_to_tfrecord.py`), or the embedded `synthetic` shapes set.
    An empty evaluation field means there is no evaluation split.
    """

    source: Literal["synthetic", "tfds", "voc_folder", "coco_json", "tfrecord"] = "synthetic"
    # tfds: "name:split" strings, e.g. ["voc/2007:trainval", "voc/2012:trainval"] and
    # "voc/2007:test". voc_folder: image-set names (ImageSets/Main/<name>.txt), one per
    # train_paths entry or one for all, and the eval folder's image set.
    train_splits: tuple[str, ...] = ()
    eval_split: str = ""
    # tfds data_dir (prepared data sets only; nothing is ever downloaded).
    data_dir: str = ""
    # voc_folder: VOC year folders (e.g. VOCdevkit/VOC2007). coco_json: [image folder].
    # tfrecord: converted prefixes (shards PREFIX-*-of-*.tfrecord + PREFIX.json).
    train_paths: tuple[str, ...] = ()
    eval_path: str = ""
    # coco_json: instances_*.json of the training and evaluation image folders.
    annotation_file: str = ""
    eval_annotation_file: str = ""
    # Ground-truth slots per image in a batch; extra boxes are dropped with a warning.
    max_boxes: int = 100
    mean_bgr: tuple[float, float, float] = (104.0, 117.0, 123.0)
    augmentation: AugmentationConfig = dataclasses.field(default_factory=AugmentationConfig)
    # Records (not decoded images) held by the training shuffle buffer.
    shuffle_buffer: int = 2048
    # True: element order, shuffling and augmentation are a pure function of `seed`.
    deterministic: bool = False
    seed: int = 0
    # Synthetic set: sizes of the generated splits and the seed of the generator.
    synthetic_train_size: int = 2000
    synthetic_eval_size: int = 200
    synthetic_image_size: int = 256
