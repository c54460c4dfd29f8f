"""Data config: which source, which splits, augmentation and batching."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class AugmentationConfig:
    """SSD/RFBNet augmentation (SPEC: data and augmentation); off = eval preprocessing."""

    enabled: bool = True
    min_iou_crop: bool = True
    crop_min_ious: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    crop_min_scale: float = 0.3
    photometric: bool = True
    expand: bool = True
    expand_max_ratio: float = 4.0
    horizontal_flip: bool = True
    random_interpolation: bool = True
    min_box_side: float = 0.01


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where images come from and how they are batched.

    `source` picks the reader: tfds (`voc/2007`, `voc/2012`, `coco/2017`), raw folders
    (`voc_folder`, `coco_json`), sharded `tfrecord`, or the embedded `synthetic` shapes set.
    """

    source: Literal["synthetic", "tfds", "voc_folder", "coco_json", "tfrecord"] = "synthetic"
    # tfds: dataset names with split, e.g. ["voc/2007:trainval", "voc/2012:trainval"].
    train_splits: tuple[str, ...] = ()
    eval_split: str = ""
    data_dir: str = ""
    # Raw folders: VOCdevkit roots / COCO image folder + annotation file / TFRecord glob.
    train_paths: tuple[str, ...] = ()
    eval_path: str = ""
    annotation_file: str = ""
    eval_annotation_file: str = ""
    dataset_format: Literal["voc", "coco", "shapes"] = "shapes"
    max_boxes: int = 100
    mean_bgr: tuple[float, float, float] = (104.0, 117.0, 123.0)
    augmentation: AugmentationConfig = dataclasses.field(default_factory=AugmentationConfig)
    shuffle_buffer: int = 2048
    deterministic: bool = False
    seed: int = 0
    # Synthetic set: sizes of the generated splits and the seed of the generator.
    synthetic_train_size: int = 2000
    synthetic_eval_size: int = 200
    synthetic_image_size: int = 256
