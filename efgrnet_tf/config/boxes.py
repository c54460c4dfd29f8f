"""Anchor, target-assignment, loss and detection-decoding configs (SPEC: anchors, losses)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class AnchorConfig:
    """SSD-style anchors: one (min_size, step) per level, aspect ratios per cell in this order."""

    min_sizes: tuple[float, ...] = (30.0, 64.0, 128.0, 256.0)
    steps: tuple[int, ...] = (8, 16, 32, 64)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5)
    clip: bool = True
    # SSD centre-size coding variances: (centre, size).
    variances: tuple[float, float] = (0.1, 0.2)

    def __post_init__(self):
        if len(self.min_sizes) != len(self.steps):
            raise ValueError(f"min_sizes {self.min_sizes} and steps {self.steps} differ in length")


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


@dataclasses.dataclass(frozen=True)
class PostprocessConfig:
    """Detection decoding: objectness filter, per-class threshold, NMS and caps."""

    score_threshold: float = 0.01
    objectness_filter_threshold: float = 0.01
    nms_iou_threshold: float = 0.45
    max_detections_per_class: int = 50
    max_detections: int = 100
