"""Data config: which source, which splits, augmentation and batching."""

from __future__ import annotations

import dataclasses
from typing import Literal

from efgrnet_tf.config.data_sources import (
    CocoJsonConfig,
    SyntheticDataConfig,
    TfdsDataConfig,
    TfRecordConfig,
    VocFolderConfig,
)


@dataclasses.dataclass(frozen=True)
class AugmentationConfig:
    """Training augmentation as in the authors' `data/data_augment.py`; off = eval preprocessing.

    Order: min-IoU crop -> photometric -> expand -> flip -> resize -> mean subtraction ->
    drop small boxes (`efgrnet_tf.data.augment.train_transform`, docs/design.md "Training
    augmentation"). The defaults are the authors' rules; the switches marked "ssd.pytorch"
    give back that code's variant, which this project followed before.
    """

    enabled: bool = True
    min_iou_crop: bool = True
    # Constrained crop modes; "no crop" and "unconstrained crop" are always among the modes.
    crop_min_ious: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    # Smallest crop side as a fraction of the image side.
    crop_min_scale: float = 0.3
    # Rounds of (mode, 50 windows) before giving up and not cropping. 0 = until a round
    # decides, as the authors' `while True` (a safety bound of 1000 rounds never binds: each
    # round draws "no crop" with probability 1/7). ssd.pytorch-like cap: 4.
    crop_max_rounds: int = 0
    # Brightness, contrast, saturation and hue, each with probability 1/2.
    photometric: bool = True
    # Largest hue rotation: the authors' +-18 OpenCV units = +-36 degrees (ssd.pytorch: 18).
    hue_max_delta_degrees: float = 36.0
    # Contrast always before the HSV steps (authors); False = before or after at random
    # (ssd.pytorch).
    contrast_before_hsv: bool = True
    # Random channel permutation with probability 1/2 (ssd.pytorch); the authors never swap.
    channel_swap: bool = False
    # Zoom out onto a mean-filled canvas `s` ~ U(1, `expand_max_ratio`) times the image.
    expand: bool = True
    expand_probability: float = 0.6
    expand_max_ratio: float = 4.0
    # Jitter the canvas aspect: r = sqrt(U(max(1/2, 1/s^2), min(2, s^2))), canvas s*r*W wide
    # and s/r*H high (authors); False keeps the image's aspect (ssd.pytorch).
    expand_aspect_jitter: bool = True
    horizontal_flip: bool = True
    # Resize with linear/cubic/area/nearest/Lanczos drawn at random; False = bilinear.
    random_interpolation: bool = True
    # After augmentation only boxes whose shorter side (normalised) exceeds this are kept.
    min_box_side: float = 0.01

    def __post_init__(self):
        if not 0.0 <= self.expand_probability <= 1.0:
            raise ValueError(f"expand_probability must be in [0, 1], got {self.expand_probability}")
        if self.expand_max_ratio < 1.0:
            raise ValueError(f"expand_max_ratio must be >= 1, got {self.expand_max_ratio}")
        if self.crop_max_rounds < 0:
            raise ValueError(
                f"crop_max_rounds must be >= 0 (0 = until decided), got {self.crop_max_rounds}"
            )
        if not 0.0 < self.crop_min_scale <= 1.0:
            raise ValueError(f"crop_min_scale must be in (0, 1], got {self.crop_min_scale}")
        if not 0.0 <= self.hue_max_delta_degrees <= 180.0:
            raise ValueError(
                f"hue_max_delta_degrees must be in [0, 180], got {self.hue_max_delta_degrees}"
            )


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where images come from and how they are batched.

    `source` picks the reader (`efgrnet_tf.data.sources.catalog`) and the sub-section it
    reads: `synthetic` (the embedded shapes set), `tfds` (`voc/2007`, `voc/2012`,
    `coco/2017`), raw folders (`voc_folder`, `coco_json`) or sharded `tfrecord` (written by
    `scripts/convert_to_tfrecord.py`); `efgrnet_tf.config.data_sources` documents each. The
    other fields apply to every source.
    """

    source: Literal["synthetic", "tfds", "voc_folder", "coco_json", "tfrecord"] = "synthetic"
    synthetic: SyntheticDataConfig = dataclasses.field(default_factory=SyntheticDataConfig)
    tfds: TfdsDataConfig = dataclasses.field(default_factory=TfdsDataConfig)
    voc_folder: VocFolderConfig = dataclasses.field(default_factory=VocFolderConfig)
    coco_json: CocoJsonConfig = dataclasses.field(default_factory=CocoJsonConfig)
    tfrecord: TfRecordConfig = dataclasses.field(default_factory=TfRecordConfig)
    # Ground-truth slots per image in a batch; extra boxes are dropped with a warning.
    max_boxes: int = 100
    mean_bgr: tuple[float, float, float] = (104.0, 117.0, 123.0)
    augmentation: AugmentationConfig = dataclasses.field(default_factory=AugmentationConfig)
    # False (the authors' `keep_difficult=False`): VOC "difficult" boxes are removed from the
    # training targets before augmentation (so they neither train nor constrain crops); the
    # evaluation ground truth always keeps them, flagged, for the VOC metric to ignore.
    train_difficult: bool = False
    # Records (not decoded images) held by the training shuffle buffer.
    shuffle_buffer: int = 2048
    # True: element order, shuffling and augmentation are a pure function of `seed`.
    deterministic: bool = False
    # Also the generator seed of the synthetic set.
    seed: int = 0
