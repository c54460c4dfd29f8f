"""Anchor, target-assignment, loss and detection-decoding configs.

The rules they parametrise: docs/design.md, "Boxes, targets, losses, decoding".
"""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class AnchorConfig:
    """SSD-style anchors: one (min_size, step) per level, aspect ratios per cell in this order.

    `min_sizes` and `steps` are in input pixels; `aspect_ratios` are w/h.
    """

    min_sizes: tuple[float, ...] = (30.0, 64.0, 128.0, 256.0)
    steps: tuple[int, ...] = (8, 16, 32, 64)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5)
    clip: bool = True
    # SSD centre-size coding variances: (centre, size).
    variances: tuple[float, float] = (0.1, 0.2)

    @property
    def num_anchors_per_cell(self) -> int:
        """Anchors at each feature-map cell: one per aspect ratio."""
        return len(self.aspect_ratios)

    def __post_init__(self):
        if len(self.min_sizes) != len(self.steps):
            raise ValueError(f"min_sizes {self.min_sizes} and steps {self.steps} differ in length")
        if not self.min_sizes:
            raise ValueError("at least one anchor level is needed")
        for name in ("min_sizes", "steps", "aspect_ratios", "variances"):
            values = getattr(self, name)
            if not values or any(v <= 0 for v in values):
                raise ValueError(f"{name} must be non-empty and all > 0, got {values}")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Two-stage multibox targets and losses."""

    positive_iou_threshold: float = 0.5
    negative_to_positive_ratio: float = 3.0
    smooth_l1_beta: float = 1.0
    # RefineDet negative-anchor filtering: anchors with objectness P(fg) <= this are excluded
    # from the final-stage losses.
    objectness_filter_threshold: float = 0.01
    # Deviation switch: the authors' code only removes filtered anchors from the positives.
    filter_negatives_from_all_final_losses: bool = True
    # Deviation switch: the authors' code treats COCO crowd boxes as normal boxes.
    ignore_crowd_boxes: bool = True
    # Hard negatives kept, per stage, in an image with no positive anchors (3:1 mining would keep
    # none, so such an image would not train background). 45 = 3 x the 15 "fake positives" per
    # image the authors' code uses when a whole batch has no positives; 0 = SSD's rule.
    negatives_for_images_without_positives: int = 45
    # Which images without positives keep that many. "image" (ours): every one, so an image
    # without boxes always trains background. "batch" (the authors' `RefineMultiBoxLoss`, OHEM
    # branch): only when the stage has no positive anywhere in the global batch, and then every
    # image; otherwise an image without positives keeps 3 x 0 = 0 negatives.
    negatives_without_positives_scope: Literal["image", "batch"] = "image"

    def __post_init__(self):
        if not 0.0 < self.positive_iou_threshold <= 1.0:
            raise ValueError(
                f"positive_iou_threshold must be in (0, 1], got {self.positive_iou_threshold}"
            )
        if self.negative_to_positive_ratio < 0:
            raise ValueError(
                f"negative_to_positive_ratio must be >= 0, got {self.negative_to_positive_ratio}"
            )
        if self.smooth_l1_beta <= 0:
            raise ValueError(f"smooth_l1_beta must be > 0, got {self.smooth_l1_beta}")
        if not 0.0 <= self.objectness_filter_threshold < 1.0:
            raise ValueError(
                "objectness_filter_threshold must be in [0, 1), got "
                f"{self.objectness_filter_threshold}"
            )
        if self.negatives_for_images_without_positives < 0:
            raise ValueError(
                "negatives_for_images_without_positives must be >= 0, got "
                f"{self.negatives_for_images_without_positives}"
            )


@dataclasses.dataclass(frozen=True)
class PostprocessConfig:
    """Detection decoding: objectness filter, per-class threshold, NMS and caps."""

    score_threshold: float = 0.01
    objectness_filter_threshold: float = 0.01
    nms_iou_threshold: float = 0.45
    max_detections_per_class: int = 50
    # Detections kept per image over all classes, best first. The authors' code has no such
    # cap (up to num_classes - 1 times max_detections_per_class); the VOC configs keep that.
    max_detections: int = 100
    # Clip decoded boxes to the image before NMS and in every output (detections, COCO results,
    # VOC matching). False = the authors' code: boxes may reach past the image border.
    clip_boxes: bool = True

    def __post_init__(self):
        if not 0.0 <= self.score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in [0, 1), got {self.score_threshold}")
        if not 0.0 <= self.objectness_filter_threshold < 1.0:
            raise ValueError(
                "objectness_filter_threshold must be in [0, 1), got "
                f"{self.objectness_filter_threshold}"
            )
        if not 0.0 < self.nms_iou_threshold <= 1.0:
            raise ValueError(f"nms_iou_threshold must be in (0, 1], got {self.nms_iou_threshold}")
        if self.max_detections_per_class <= 0 or self.max_detections <= 0:
            raise ValueError(
                "max_detections_per_class and max_detections must be > 0, got "
                f"{self.max_detections_per_class}, {self.max_detections}"
            )
