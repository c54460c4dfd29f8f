"""Evaluation config: which metrics, batch size, and how results are reported."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Evaluation: which metrics and how they are reported (`efgrnet_tf.evaluation`).

    `metric`: "voc" = VOC07 11-point mAP and area-under-curve mAP at IoU 0.5 with the devkit's
    difficult handling; "coco" = the 12 COCOeval box numbers (AP, AP50, ..., ARl) on the original
    category ids; "both" = all of them.
    """

    metric: Literal["voc", "coco", "both"] = "voc"
    # Images per eval batch.
    batch_size: int = 8
    # Also report AP per class (log table, metrics.json, returned metrics).
    per_class_table: bool = True
    # COCO metric through the `faster-coco-eval` package (same numbers, faster); it must be
    # installed (`pip install faster-coco-eval`), else evaluation stops with an ImportError.
    use_faster_coco_eval: bool = False

    def __post_init__(self):
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {self.batch_size}")
