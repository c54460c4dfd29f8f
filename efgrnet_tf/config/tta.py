"""Test-time augmentation config: input sizes, flips, size windows, box voting, caps.

The schedule of the paper's multi-scale ("MS") results, from the authors'
`eval_dcn_multi_scale.py` (after RefineDet's multi-scale test), is
`configs/coco_resnet101_512_ms.yaml`; `efgrnet_tf.evaluation.multi_size` runs it.
"""

from __future__ import annotations

import dataclasses

# Every level's feature map must tile the input exactly (strides 8 to 64).
SIZE_MULTIPLE = 64


@dataclasses.dataclass(frozen=True)
class TtaScaleConfig:
    """One square input size and the window of box sizes it contributes.

    Box sides are measured on the original image, in pixels. `min_box_pixels` > 0 keeps only
    boxes whose longer side exceeds it (a shrunk input contributes large objects);
    `max_box_pixels` > 0 keeps only boxes whose shorter side is below it (an enlarged input
    contributes small objects); 0 leaves that side of the window open.
    """

    size: int = 512
    min_box_pixels: float = 0.0
    max_box_pixels: float = 0.0

    def __post_init__(self):
        if self.size <= 0 or self.size % SIZE_MULTIPLE:
            raise ValueError(
                f"size must be a positive multiple of {SIZE_MULTIPLE}, got {self.size}"
            )
        if self.min_box_pixels < 0 or self.max_box_pixels < 0:
            raise ValueError(
                "min_box_pixels and max_box_pixels must be >= 0, got "
                f"{self.min_box_pixels}, {self.max_box_pixels}"
            )


@dataclasses.dataclass(frozen=True)
class TtaConfig:
    """Multi-size (+ flip) inference merged by box voting; empty `scales` = not configured.

    Each scale's input (and its mirror image with `flip`) yields candidates: every anchor and
    class scoring at least `score_threshold`, at most `max_candidates_per_view` of them (best
    first; the authors keep all). Candidates outside the scale's size window are dropped, the
    rest pooled per class and merged by box voting at `vote_iou_threshold`; `soft_voting` also
    keeps the absorbed boxes with scores decayed by (1 - IoU) when still ≥
    `soft_voting_min_score` (the authors' `soft_bbox_vote`). Then at most
    `max_detections_per_class` per class and `max_detections` per image, best first.
    """

    scales: tuple[TtaScaleConfig, ...] = ()
    flip: bool = True
    score_threshold: float = 0.01
    max_candidates_per_view: int = 6000
    vote_iou_threshold: float = 0.45
    soft_voting: bool = False
    soft_voting_min_score: float = 0.001
    max_detections_per_class: int = 100
    max_detections: int = 100

    def __post_init__(self):
        if not 0.0 <= self.score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in [0, 1), got {self.score_threshold}")
        if not 0.0 < self.vote_iou_threshold <= 1.0:
            raise ValueError(f"vote_iou_threshold must be in (0, 1], got {self.vote_iou_threshold}")
        if (
            min(self.max_candidates_per_view, self.max_detections_per_class, self.max_detections)
            <= 0
        ):
            raise ValueError(
                "max_candidates_per_view, max_detections_per_class and max_detections must be "
                f"> 0, got {self.max_candidates_per_view}, {self.max_detections_per_class}, "
                f"{self.max_detections}"
            )
