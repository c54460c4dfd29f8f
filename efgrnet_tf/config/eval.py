"""Evaluation config: which metrics, batch size, and how results are reported."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Evaluation: which metrics and where results go."""

    metric: str = "voc"  # "voc" (07 11-point + area) or "coco" (COCOeval 12 numbers)
    batch_size: int = 8
    per_class_table: bool = True
    use_faster_coco_eval: bool = False
